#include "core/state/jobs.hpp"

#include <chrono>

#include "core/error.hpp"
#include "core/log.hpp"

namespace sk {

namespace {
auto logger() { return log::get("jobs"); }
}  // namespace

JobRecorder::JobRecorder(StateStore& state, std::shared_ptr<ProcessRunner> runner,
                         std::vector<std::string> alert_command, JobListener* listener)
    : state_(state), runner_(std::move(runner)), listener_(listener), alert_command_(std::move(alert_command)) {}

void JobRecorder::set_alert_command(std::vector<std::string> argv) {
  std::lock_guard lock(mu_);
  alert_command_ = std::move(argv);
}

void JobRecorder::alert(const std::string& job, const std::string& message) {
  state_.add_alert(job, message);
  if (listener_) listener_->alert_raised(job);
  std::vector<std::string> argv;
  {
    std::lock_guard lock(mu_);
    argv = alert_command_;
  }
  if (argv.empty()) return;
  try {
    run_checked(*runner_, expand_argv(argv, {{"job", job}, {"message", message}}));
  } catch (const std::exception& e) {
    logger()->error("alert command failed: {}", e.what());
  }
}

JobRecord JobRecorder::run_quietly(const std::string& job, const std::string& target,
                                   const std::function<std::string()>& fn) {
  JobRecord r;
  try {
    r.message = run(job, target, fn);
    r.outcome = "ok";
  } catch (const Cancelled& e) {
    r.outcome = "cancelled";
    r.message = e.what();
  } catch (const Error& e) {
    r.outcome = e.exit_code() == kRefused ? "refused" : "failed";
    r.message = e.what();
  } catch (const std::exception& e) {
    r.outcome = "failed";
    r.message = e.what();
  }
  return r;
}

std::string JobRecorder::run(const std::string& job, const std::string& target,
                             const std::function<std::string()>& fn) {
  const auto id = state_.begin_run(job, target);
  const auto t0 = std::chrono::steady_clock::now();
  auto finish = [&](const std::string& outcome, const std::string& message) {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state_.end_run(id, outcome, message);
    if (listener_) listener_->job_finished(job, outcome, secs);
    if (outcome == "ok") logger()->info("job {} ok in {:.1f}s: {}", job, secs, message);
    else if (outcome == "cancelled") logger()->warn("job {} cancelled after {:.1f}s", job, secs);
    else logger()->error("job {} {} after {:.1f}s: {}", job, outcome, secs, message);
    if (outcome == "failed" || outcome == "refused") alert(job, message);
  };
  try {
    std::string summary = fn();
    finish("ok", summary);
    return summary;
  } catch (const Cancelled&) {
    finish("cancelled", "cancelled before a safe point; nothing was changed");
    throw;
  } catch (const Error& e) {
    finish(e.exit_code() == kRefused ? "refused" : "failed", e.what());
    throw;
  } catch (const std::exception& e) {
    finish("failed", e.what());
    throw;
  }
}

}  // namespace sk
