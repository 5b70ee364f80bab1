#include "app/cmd/runtime.hpp"

#include "app/daemon/config_check.hpp"
#include "standby/site_state.hpp"

namespace sk::cli {

Runtime::Runtime(const GlobalOptions& opts, const CancelToken* cancel)
    : opts_(opts),
      cfg_(daemon::load_checked_config(opts.config_file)),
      state_(std::make_unique<StateStore>(cfg_.state_path)),
      runner_(system_runner()),
      clock_(system_clock()),
      cancel_(cancel),
      jobs_(std::make_unique<JobRecorder>(*state_, runner_, cfg_.alerts.command)) {
  cfg_ = standby::effective_config(cfg_, *state_);
}

replicator::JobContext Runtime::ctx() {
  return replicator::JobContext{cfg_, *state_, sql::engine_factory(runner_), runner_, clock_, cancel_};
}

void Runtime::run_job(const std::string& job, const std::string& target, const std::function<std::string()>& fn) {
  jobs_->run(job, target, fn);
}

}  // namespace sk::cli
