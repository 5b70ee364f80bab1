// schedule: the next five fire times of each schedule.
#include "app/cmd/commands.hpp"
#include "app/daemon/config_check.hpp"
#include "schedules/schedule.hpp"

namespace sk::cli {

int cmd_schedule(const GlobalOptions& g, const CommandArgs&, Output& out) {
  Config cfg = daemon::load_checked_config(g.config_file);
  nlohmann::json all = nlohmann::json::array();
  const auto now = system_clock()->now();
  for (const auto& sc : cfg.schedules) {
    auto s = sched::schedule_from_config(sc, cfg.file);
    nlohmann::json j = {{"job", sc.job}, {"schedule", s.describe()}, {"next", nlohmann::json::array()}};
    for (auto t : sched::next_fires(s, now, 5)) j["next"].push_back(iso_utc(std::chrono::time_point_cast<std::chrono::system_clock::duration>(t)));
    all.push_back(j);
  }
  out.document(all);
  if (all.empty()) out.say("no schedules configured");
  for (const auto& j : all) {
    out.say(j["job"].get<std::string>() + "  (" + j["schedule"].get<std::string>() + ")");
    if (j["next"].empty()) out.say("  runs after its trigger job, not at fixed times");
    for (const auto& t : j["next"]) out.say("  " + t.get<std::string>());
  }
  return kOk;
}

}  // namespace sk::cli
