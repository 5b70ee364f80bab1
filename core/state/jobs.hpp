#pragma once
// The one path by which the outcome of a job is recorded, whoever ran it: a command, the scheduler or
// the HA loop. Each run leaves a history row, one summary log line and a call to the listener (the
// daemon's metrics); a failed or refused run also raises an alert: a row in the state store and the
// [alerts] argv.
//
// How an outcome is classified:
//   ok         fn returned; its return value is the summary;
//   cancelled  fn threw sk::Cancelled (a stop request reached a safe point): no alert, it is not a failure;
//   refused    fn threw an sk::Error whose exit code is kRefused (a safety refusal);
//   failed     fn threw anything else.
//
// Thread-safety: every method may be called from several threads at once.
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/process.hpp"
#include "core/state/store.hpp"

namespace sk {

// Told about every finished run and every alert (the daemon counts them as metrics).
// Thread-safety: implementations must be callable from any thread.
class JobListener {
 public:
  virtual ~JobListener() = default;
  virtual void job_finished(const std::string& job, const std::string& outcome, double seconds) = 0;
  virtual void alert_raised(const std::string& job) = 0;
};

struct JobRecord {
  std::string outcome;  // ok | cancelled | refused | failed
  std::string message;  // the summary, or the error
  double seconds = 0;
};

class JobRecorder {
 public:
  // `alert_command` is the [alerts] command argv ("{job}" and "{message}" are replaced); empty runs
  // nothing. `listener` may be null; it must outlive the recorder.
  JobRecorder(StateStore& state, std::shared_ptr<ProcessRunner> runner, std::vector<std::string> alert_command,
              JobListener* listener = nullptr);

  // Runs fn and records the run. Rethrows whatever fn threw, after recording it.
  std::string run(const std::string& job, const std::string& target, const std::function<std::string()>& fn);
  // As run(), but never throws: the outcome is returned (for the scheduler and the HA loop).
  JobRecord run_quietly(const std::string& job, const std::string& target, const std::function<std::string()>& fn);

  // An alert outside a job run (a decision of the HA loop). A failing alert command is logged, never
  // thrown: an alert must not turn into a second failure.
  void alert(const std::string& job, const std::string& message);

  // The config was reloaded.
  void set_alert_command(std::vector<std::string> argv);

 private:
  StateStore& state_;
  std::shared_ptr<ProcessRunner> runner_;
  JobListener* listener_;
  std::mutex mu_;
  std::vector<std::string> alert_command_;
};

}  // namespace sk
