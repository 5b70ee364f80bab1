// standby init|status: build the passive standby; its role, state and lag.
#include <iostream>

#include "app/cmd/commands.hpp"
#include "standby/failover.hpp"

namespace sk::cli {

int cmd_standby(const GlobalOptions& g, const CommandArgs& a, Output& out) {
  Runtime rt(g);
  if (a.action == "init") {
    rt.run_job("standby init", rt.cfg().roles.standby, [&] {
      auto s = standby::standby_init(rt.ctx());
      out.say(s);
      out.set("summary", s);
      return s;
    });
    return kOk;
  }
  auto j = standby::standby_status(rt.ctx());
  out.document(j);
  if (!out.json()) {
    std::cout << "active   " << j["active"].get<std::string>() << " (epoch " << j["epoch"] << (j["paused"].get<bool>() ? ", paused" : "") << ")\n"
              << "standby  " << (j["standby"].get<std::string>().empty() ? "(none)" : j["standby"].get<std::string>()) << "\n"
              << "role     " << j.value("role", "-") << "\nstate    " << j.value("state", "-") << "\nslot     " << j.value("slot", "-") << "\n"
              << "lag      " << (j.contains("lag_bytes") && !j["lag_bytes"].is_null() ? std::to_string(j["lag_bytes"].get<std::uint64_t>()) + " bytes" : "unknown")
              << ", " << j.value("lag_seconds", 0.0) << " s\n"
              << "health   " << (j["healthy"].get<bool>() ? "healthy" : "NOT HEALTHY") << "\n";
    if (j.contains("error")) std::cout << "error    " << j["error"].get<std::string>() << "\n";
  }
  return j["healthy"].get<bool>() ? kOk : kFailed;
}

}  // namespace sk::cli
