// run (the daemon) and schedule (the next fire times).
#include <iostream>

#include "app/cmd/commands.hpp"
#include "app/core/error.hpp"
#include "app/daemon/daemon.hpp"
#include "schedules/schedule.hpp"

namespace sk::cli {

int cmd_run(const GlobalOptions& g, const CommandArgs&) { return daemon::run_daemon(g); }

int cmd_schedule(const GlobalOptions& g, const CommandArgs&) {
  Config cfg = load_checked_config(g.config_file);
  nlohmann::json out = nlohmann::json::array();
  const auto now = system_clock()->now();
  for (const auto& sc : cfg.schedules) {
    auto s = sched::schedule_from_config(sc, cfg.file);
    nlohmann::json j = {{"job", sc.job}, {"schedule", s.describe()}, {"next", nlohmann::json::array()}};
    for (auto t : sched::next_fires(s, now, 5)) j["next"].push_back(iso_utc(std::chrono::time_point_cast<std::chrono::system_clock::duration>(t)));
    out.push_back(j);
  }
  if (g.json) {
    print_json(out);
    return kOk;
  }
  if (out.empty()) std::cout << "no schedules configured\n";
  for (const auto& j : out) {
    std::cout << j["job"].get<std::string>() << "  (" << j["schedule"].get<std::string>() << ")\n";
    if (j["next"].empty()) std::cout << "  runs after its trigger job, not at fixed times\n";
    for (const auto& t : j["next"]) std::cout << "  " << t.get<std::string>() << "\n";
  }
  return kOk;
}

}  // namespace sk::cli
