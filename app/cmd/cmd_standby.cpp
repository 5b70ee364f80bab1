// standby init|status, failover, switchover, rejoin, runbook, pause, resume.
#include <iostream>

#include "app/cmd/commands.hpp"
#include "app/core/error.hpp"
#include "standby/failover.hpp"
#include "standby/site_state.hpp"

namespace sk::cli {

int cmd_standby(const GlobalOptions& g, const CommandArgs& a) {
  Runtime rt(g);
  if (a.action == "init") {
    rt.run_job("standby init", rt.cfg().roles.standby, [&] {
      auto s = standby::standby_init(rt.ctx());
      std::cout << s << "\n";
      return s;
    });
    return kOk;
  }
  auto j = standby::standby_status(rt.ctx());
  if (g.json) {
    print_json(j);
  } else {
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

namespace {
int runbook_command(const GlobalOptions& g, const CommandArgs& a, const std::string& kind) {
  Runtime rt(g);
  if (a.plan || !a.yes) {
    auto p = standby::plan(rt.ctx(), kind);
    if (g.json) print_json(p);
    else std::cout << standby::render_plan(p);
    if (a.plan) return kOk;
    std::cerr << "error: " << kind << " not executed\nHINT: read the plan above, then run 'sitekeeper " << kind << " --yes'\n";
    return kRefused;
  }
  standby::RunbookOptions o;
  o.yes = true;
  rt.run_job(kind, standby::SiteState(rt.state()).standby(rt.cfg()), [&] {
    auto s = kind == "failover" ? standby::run_failover(rt.ctx(), o) : standby::run_switchover(rt.ctx(), o);
    std::cout << s << "\n";
    return s;
  });
  return kOk;
}
}  // namespace

int cmd_failover(const GlobalOptions& g, const CommandArgs& a) { return runbook_command(g, a, "failover"); }
int cmd_switchover(const GlobalOptions& g, const CommandArgs& a) { return runbook_command(g, a, "switchover"); }

int cmd_rejoin(const GlobalOptions& g, const CommandArgs& a) {
  Runtime rt(g);
  rt.run_job("rejoin", a.server, [&] {
    auto s = standby::run_rejoin(rt.ctx(), a.server);
    std::cout << s << "\n";
    return s;
  });
  return kOk;
}

int cmd_runbook(const GlobalOptions& g, const CommandArgs&) {
  Runtime rt(g);
  std::cout << standby::runbook_markdown(rt.ctx());
  return kOk;
}

int cmd_pause(const GlobalOptions& g, const CommandArgs&) {
  Runtime rt(g);
  standby::SiteState(rt.state()).set_paused(true, "declared by an operator");
  std::cout << "maintenance window declared: no automatic promotion until 'sitekeeper resume'\n";
  return kOk;
}

int cmd_resume(const GlobalOptions& g, const CommandArgs&) {
  Runtime rt(g);
  standby::SiteState(rt.state()).set_paused(false, "");
  std::cout << "maintenance window ended: automatic promotion is armed again (mode " << rt.cfg().failover.mode << ")\n";
  return kOk;
}

}  // namespace sk::cli
