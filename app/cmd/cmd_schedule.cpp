// schedule: the next five fire times of each schedule.
#include <iostream>

#include "app/cmd/commands.hpp"
#include "app/daemon/config_check.hpp"
#include "schedules/schedule.hpp"

namespace sk::cli {

int cmd_schedule(const GlobalOptions& g, const CommandArgs&) {
  Config cfg = daemon::load_checked_config(g.config_file);
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
