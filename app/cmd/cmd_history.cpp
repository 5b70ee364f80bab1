// history [--limit N]: job runs with outcome and duration.
#include <cstdio>

#include "app/cmd/commands.hpp"

namespace sk::cli {

int cmd_history(const GlobalOptions& g, const CommandArgs& a, Output& out) {
  Runtime rt(g);
  auto runs = rt.state().runs(a.limit);
  nlohmann::json j = nlohmann::json::array();
  for (const auto& r : runs)
    j.push_back({{"id", r.id}, {"job", r.job}, {"target", r.target}, {"started_at", r.started_at},
                 {"started_ms", r.started_ms}, {"started_at_ms", iso_utc_ms(r.started_ms)}, {"ended_at", r.ended_at},
                 {"outcome", r.outcome}, {"duration_ms", r.duration_ms}, {"message", r.message},
                 {"manager", r.manager}});
  out.document(j);
  if (out.json()) return kOk;
  // With several managers each run says which one ran it.
  const bool managers = rt.cfg().dcs.enabled();
  std::printf("%-20s %-14s %-10s %-11s %9s  %s%s\n", "started", "job", "target", "outcome", "seconds",
              managers ? "manager  " : "", "message");
  for (const auto& r : runs) {
    const std::string by = managers ? (r.manager.empty() ? std::string("-") : r.manager) + "  " : "";
    std::printf("%-20s %-14s %-10s %-11s %9.1f  %s%s\n", r.started_at.c_str(), r.job.c_str(), r.target.c_str(),
                r.outcome.c_str(), r.duration_ms / 1000.0, by.c_str(), r.message.c_str());
  }
  return kOk;
}

}  // namespace sk::cli
