#pragma once
// Decides when named jobs run. Jobs are opaque callables: this layer knows nothing of databases.
//
// Rules:
//   - a job never overlaps itself: whatever falls due while it runs (fire times, after-triggers)
//     is merged into ONE pending run, started once the current run has finished;
//   - "after X + delay" fires `delay` after each successful run of X (chains may be deep);
//   - catch_up: at start, a cron/every job whose most recent fire time at or before now is later
//     than its last recorded start runs once, right away. A job with no recorded run is not caught up:
//     nothing was missed. An after-job owes a run when X succeeded since its own last start; that
//     run is due at X's end + delay (now if already past);
//   - a failed run is retried `retries` times, the n-th retry retry_delay * 2^(n-1) after the failure.
//     A run that falls due in the meantime replaces the retry (it is a fresh run with fresh retries).
//
// Driving it (no threads inside):
//   tests:  poll(now) -> runs to start; finished(job, ok) when one ends; next_wakeup() says when to
//           poll again.
//   daemon: a steady_timer armed for next_wakeup() - clock.now() (capped, e.g. at 1 min, so a wall
//           clock jump is noticed), poll() on expiry, each Launch handed to a worker that calls
//           run(launch) (invokes the job, then finished()); on_change() re-arms the timer.
//
// Thread-safety: every public method of Runner may be called from any thread; state is guarded by
// one mutex. Job callables, the history callback and the on_change callback run without that
// mutex held, so they may call back into the Runner.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "schedules/schedule.hpp"

namespace sk::sched {

enum class RunReason { scheduled, catch_up, after, retry };
const char* to_string(RunReason r);  // "scheduled", "catch-up", "after", "retry"

struct JobContext {
  std::string job;
  time_point due;      // when this run was due (the earliest due time merged into it)
  time_point started;  // when poll() handed it out
  RunReason reason = RunReason::scheduled;
  int attempt = 0;  // 0 for the first try, n for the n-th retry
  int merged = 0;   // further due times folded into this run
};

struct JobOutcome {
  bool ok = false;
  std::string message;
};

using JobFn = std::function<JobOutcome(const JobContext&)>;

struct JobSpec {
  std::string name;
  Schedule schedule;
  bool catch_up = true;
  int retries = 0;
  std::chrono::milliseconds retry_delay{std::chrono::minutes(5)};
  JobFn fn;
};

// The JobSpec of one [[schedule]] table (see schedule_from_config for the errors it throws).
JobSpec job_spec_from_config(const ScheduleConfig& sc, const std::filesystem::path& file, JobFn fn);

// What the persisted history says about one job; both empty for a job that never ran.
struct JobHistory {
  std::optional<time_point> last_start;        // of the most recent run, whatever its outcome
  std::optional<time_point> last_success_end;  // when the most recent successful run ended
};
using HistoryFn = std::function<JobHistory(const std::string& job)>;

// A run that poll() decided to start now. The caller must run it and report back.
struct Launch {
  JobContext context;
  JobFn fn;
  std::chrono::nanoseconds lateness() const { return context.started - context.due; }
};

struct JobStatus {
  std::string job;
  std::string schedule;  // Schedule::describe()
  bool running = false;
  std::optional<time_point> next_due;  // earliest of the pending run and the next fire time
  std::optional<time_point> last_start;
  std::optional<bool> last_ok;
  std::chrono::nanoseconds last_lateness{0};  // of the most recent start: the metric to export
  std::uint64_t started_runs = 0;
};

class Runner {
 public:
  // REQUIRES: clock is not null. `history` may be null: then nothing is caught up.
  explicit Runner(std::shared_ptr<const Clock> clock, HistoryFn history = nullptr);
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Throws ConfigError "duplicate job 'x'"; std::logic_error once started; std::invalid_argument
  // for negative retries or retry_delay.
  void add(JobSpec spec);

  // Checks after-references ("job 'b' runs after unknown job 'x'", "after cycle: a -> b -> a",
  // both ConfigError) and applies catch_up. poll() calls it on first use; calling it again is a
  // no-op. The history callback is called here, for each job, and may throw: start() then leaves
  // the runner unstarted.
  void start();
  void start(time_point now);

  // Runs to start at `now` (the clock's time when omitted), ordered by due time then name. Each
  // returned job is marked running until finished() is called for it.
  std::vector<Launch> poll();
  std::vector<Launch> poll(time_point now);

  // Reports the end of a run handed out by poll(). Successful runs trigger their after-jobs,
  // failed ones schedule a retry. Reads the clock. Throws std::logic_error when `job` is unknown
  // or not running. Calls on_change afterwards.
  void finished(const std::string& job, bool ok);

  // Calls launch.fn (an exception counts as a failure with its message), then finished().
  JobOutcome run(const Launch& launch);

  // When poll() may next have something to do; nullopt before start() and when only an event (a
  // finished run) can make anything due. May be earlier than now: poll at once.
  std::optional<time_point> next_wakeup() const;

  std::vector<JobStatus> status() const;

  // Called (without the mutex held) after finished() changed what is due, so a timer can re-arm.
  void on_change(std::function<void()> callback);

 private:
  struct Due {
    time_point at;
    RunReason reason;
    int attempt;
    int merged;
  };
  struct Job {
    explicit Job(JobSpec s) : spec(std::move(s)) {}
    JobSpec spec;
    std::vector<std::string> dependents;  // jobs that run after this one
    std::optional<time_point> next_fire;  // cron/every only
    std::optional<Due> pending;
    bool running = false;
    JobContext current;
    std::optional<time_point> last_start;
    std::optional<bool> last_ok;
    std::chrono::nanoseconds last_lateness{0};
    std::uint64_t started_runs = 0;
  };

  static void merge(Job& job, Due due);
  void validate_locked() const;

  std::shared_ptr<const Clock> clock_;
  HistoryFn history_;
  mutable std::mutex mu_;
  std::map<std::string, Job> jobs_;
  bool started_ = false;
  std::function<void()> on_change_;
};

}  // namespace sk::sched
