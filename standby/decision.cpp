#include "standby/decision.hpp"

#include "core/units.hpp"

namespace sk::standby {

const char* to_string(Action a) {
  switch (a) {
    case Action::kNone: return "none";
    case Action::kWait: return "wait";
    case Action::kAskWitness: return "ask-witness";
    case Action::kFailover: return "failover";
    case Action::kResume: return "resume";
    case Action::kRefence: return "refence";
    case Action::kRefuse: return "refuse";
  }
  return "?";
}

Decision decide(const Snapshot& s) {
  if (!s.stale_writable.empty())
    return {Action::kRefence, "server " + s.stale_writable.front() +
                                  " is from an older epoch and accepts writes again: fencing it; it is never "
                                  "treated as active until 'sitekeeper rejoin'"};
  if (s.action_running) return {Action::kWait, "a promotion is running; reporting only"};
  if (!s.journal_stopped.empty()) {
    const std::string kind = s.journal_stopped.substr(0, s.journal_stopped.find(' '));  // failover, switchover, recover
    return {Action::kWait, "a " + s.journal_stopped + "; it is not retried automatically: run 'sitekeeper " + kind +
                               " --yes' to finish it (finished steps are skipped)"};
  }
  if (s.journal_open) {
    if (s.automatic && !s.paused) return {Action::kResume, "an interrupted failover is in the journal: resuming it"};
    return {Action::kWait, "an interrupted failover is in the journal: run 'sitekeeper failover --yes' to finish it"};
  }
  const std::string active = s.active.empty() ? "active server" : "active server " + s.active;
  const std::string standby = s.standby.empty() ? "the standby" : "the standby " + s.standby;
  if (s.active_reachable && s.active_epoch_stale)
    return {Action::kWait, active + " answers but carries an older epoch than the site's: it is not treated as active"};
  if (s.active_reachable) {
    if (s.has_standby && !s.standby_reachable)
      return {Action::kWait, active + " answers; " + standby + " cannot be reached: no failover is possible until it is back"};
    if (s.has_standby && s.standby_in_recovery && !s.standby_streaming)
      return {Action::kWait, active + " answers; " + standby + " does not stream from it: it falls behind"};
    if (s.has_standby && s.lag_bytes > s.max_lag)
      return {Action::kWait, active + " answers; " + standby + " lags " + format_size(s.lag_bytes) + " behind (max_lag " +
                                 format_size(s.max_lag) + ")"};
    return {Action::kNone, "active server answers; nothing to do"};
  }
  if (s.failures < s.failures_needed)
    return {Action::kWait, "active server failed " + std::to_string(s.failures) + " of " +
                               std::to_string(s.failures_needed) + " probes; waiting"};
  if (!s.has_standby) return {Action::kRefuse, "active server is down and there is no standby to promote"};
  if (!s.witness_hears_active.has_value()) {
    if (!s.standby_reachable) return {Action::kRefuse, "active server is down and the standby cannot be reached either"};
    return {Action::kAskWitness, "active server failed " + std::to_string(s.failures) +
                                     " probes in a row: asking the standby whether it still hears it"};
  }
  if (*s.witness_hears_active)
    return {Action::kWait, "only this manager lost the active server; the standby still hears it: no failover"};
  if (!s.standby_in_recovery) return {Action::kRefuse, "the standby is not in recovery; refusing to promote it"};
  if (s.paused) return {Action::kWait, "active server is down, but a maintenance window is declared: no promotion"};
  if (!s.automatic)
    return {Action::kWait, "active server is down (the standby agrees); manual mode: run 'sitekeeper failover --yes'"};
  if (s.lag_bytes > s.max_lag)
    return {Action::kRefuse, "active server is down but the standby is " + format_size(s.lag_bytes) +
                                 " behind (max_lag " + format_size(s.max_lag) + "): automatic promotion refused"};
  if (!s.fence_available)
    return {Action::kRefuse, active + " is down but cannot be fenced: no [failover] fence command is configured; not "
                                      "promoting " + (s.standby.empty() ? "the standby" : s.standby) +
                                      " (configure one, or power it off and run 'sitekeeper failover --yes "
                                      "--old-active-is-down')"};
  return {Action::kFailover, "active server is down and the standby agrees: promoting the standby"};
}

}  // namespace sk::standby
