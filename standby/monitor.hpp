#pragma once
// The HA loop of the daemon. Every probe_interval it takes a snapshot of the world (active probe,
// standby as witness, lag, fenced servers coming back), makes one decision (decision.hpp), logs the
// decision's sentence once when it changes, and acts: promotion runs on its own thread while the loop
// keeps reporting. At least every 10 s it records the active's sequence values (the serial high-water
// marks a promotion must move past) and WAL position.
// Thread-safety: start/stop/last_decision may be called from any thread.
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
};

class Monitor {
 public:
  // `cfg` returns the configuration in force (it may change on SIGHUP). `cancel` stops a promotion only
  // between steps.
  // An automatic failover is recorded through `jobs` as job "failover", so a failed or refused one is in
  // the history and raises an alert like any job.
  Monitor(std::function<std::shared_ptr<const Config>()> cfg, StateStore& state, JobRecorder& jobs,
          sql::EngineFactory engines,
          std::shared_ptr<ProcessRunner> runner, std::shared_ptr<Clock> clock, const CancelToken* cancel,
          MonitorHooks hooks = {});
  ~Monitor();
  void start();
  void stop();  // waits for a running promotion to reach its next step boundary
  Decision last_decision() const;
  // The active server's last probe, for GET /active (nullopt before the first probe).
  std::optional<bool> active_up() const;
  std::string active_error() const;  // why the last probe failed ("" when it answered)

 private:
  void loop();
  Snapshot snapshot(const Config& cfg);
  void act(const Config& cfg, const Decision& d, const Snapshot& s);

  std::function<std::shared_ptr<const Config>()> cfg_;
  StateStore& state_;
  JobRecorder& jobs_;
  sql::EngineFactory engines_;
  std::shared_ptr<ProcessRunner> runner_;
  std::shared_ptr<Clock> clock_;
  const CancelToken* cancel_;
  MonitorHooks hooks_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  Decision last_;
  int failures_ = 0;
  std::optional<bool> active_up_;
  std::string probed_name_;
  std::unique_ptr<sql::Engine> probed_;  // kept across ticks so its probe session is reused
  std::string active_error_, probe_error_;
  std::chrono::steady_clock::time_point last_marks_{};
  std::chrono::steady_clock::time_point last_standby_{};
  bool last_standby_reachable_ = true, last_standby_in_recovery_ = true;
  std::uint64_t last_lag_ = 0;
  std::atomic<bool> promoting_{false};
  std::thread thread_, promotion_;
};

}  // namespace sk::standby
