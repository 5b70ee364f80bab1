#pragma once
// The HA loop of the daemon. Every probe_interval it takes a snapshot of the world (the active probed,
// the standby asked as witness, lag, epochs, fenced servers coming back), makes one decision
// (decision.hpp) and acts on it: a promotion runs on its own thread while the loop keeps reporting.
// Every few seconds it records the active's sequence values (the serial high-water marks a promotion
// must move past), WAL position and epoch.
//
// A decision's sentence is logged once, when it changes and has held for two ticks (so a flapping link
// does not make the log flap); decisions that act are logged at once. Some decisions are heard:
//   - a refused automatic failover is a `failover` job run with outcome refused (history, alert);
//   - the standby disagreeing that the active is down, or a standby that does not stream, lags or
//     cannot be reached, is an alert with job `monitor` and the sentence as its message;
//   - a failed automatic failover is a `failover` job run with outcome failed.
// Each is raised once per episode, not once per tick.
//
// Thread-safety: start, stop and the accessors may be called from any thread. The loop's own state is
// touched by the loop thread only; what others read is under mu_.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/process.hpp"
#include "core/state/jobs.hpp"
#include "core/state/store.hpp"
#include "sql/engine.hpp"
#include "standby/decision.hpp"

namespace sk::standby {

struct MonitorHooks {
  std::function<void(const std::string& server)> probe_failed;
  std::function<void(double bytes, double seconds)> lag;
  std::function<void(bool up)> active_up;
  std::function<void(const std::string& action)> decision;  // to_string(Action) of each tick's decision
  // Asked before every action (a promotion, a re-fence): false skips it. [dcs]: this manager leads and
  // its lease cannot have expired. Unset: always act.
  std::function<bool()> may_act;
};

class Monitor {
 public:
  // `cfg` returns the configuration in force (it may change on SIGHUP). `cancel` stops a promotion
  // between steps. An automatic failover is recorded through `jobs` as job "failover".
  Monitor(std::function<std::shared_ptr<const Config>()> cfg, StateStore& state, JobRecorder& jobs,
          sql::EngineFactory engines, std::shared_ptr<ProcessRunner> runner, std::shared_ptr<Clock> clock,
          const CancelToken* cancel, MonitorHooks hooks = {});
  // REQUIRES: stop() returned true, or the process exits right after (see stop()).
  ~Monitor();
  void start();
  // Stops the loop, then waits up to `grace` for a running promotion to reach a step boundary (the
  // cancel token must have fired). Returns false when one still runs after that: its thread is left to
  // the process's exit, and the journal resumes the failover at the next start.
  bool stop(std::chrono::milliseconds grace = std::chrono::seconds(8));
  Decision last_decision() const;
  // The active server's last probe, for GET /active (nullopt before the first probe). A server that
  // answers with an older epoch than the site's is not up.
  std::optional<bool> active_up() const;
  std::string active_error() const;  // why the active is not up ("" when it is)

 private:
  void loop();
  Snapshot snapshot(const Config& cfg);
  void observe_standby(const Config& cfg, Snapshot& s, bool witness);
  void act(const Config& cfg, const Decision& d, const Snapshot& s);
  void report(const Config& cfg, const Decision& d, const Snapshot& s);

  std::function<std::shared_ptr<const Config>()> cfg_;
  StateStore& state_;
  JobRecorder& jobs_;
  sql::EngineFactory engines_;
  std::shared_ptr<ProcessRunner> runner_;
  std::shared_ptr<Clock> clock_;
  const CancelToken* cancel_;
  MonitorHooks hooks_;

  // Shared with other threads.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  Decision last_;
  std::optional<bool> active_up_;
  std::string active_error_;
  std::atomic<bool> promoting_{false};
  std::atomic<bool> promotion_done_{false};  // set by the promotion thread; the loop resets its count
  std::thread thread_, promotion_;

  // The loop thread's own.
  int failures_ = 0;
  std::string probed_name_;
  std::unique_ptr<sql::Engine> probed_;  // kept across ticks so its probe session is reused
  std::string witness_name_;
  std::unique_ptr<sql::Engine> witness_;  // the standby, kept across ticks with its sessions
  std::string probe_error_;
  long active_epoch_ = 0;
  std::chrono::steady_clock::time_point last_marks_{}, last_standby_{};
  Snapshot last_standby_view_;  // the standby fields of the last snapshot that asked it
  Decision candidate_;          // the decision waiting to have held for two ticks
  int candidate_ticks_ = 0;
  std::string logged_;
};

}  // namespace sk::standby
