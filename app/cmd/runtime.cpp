#include "app/cmd/runtime.hpp"

#include <cstdlib>
#include <iostream>

#include "app/core/error.hpp"
#include "app/core/log.hpp"

namespace sk::cli {

Runtime::Runtime(const GlobalOptions& opts, const CancelToken* cancel)
    : opts_(opts),
      cfg_(load_config(opts.config_file)),
      state_(std::make_unique<StateStore>(cfg_.state_path)),
      runner_(system_runner()),
      clock_(system_clock()),
      cancel_(cancel) {}

replicator::JobContext Runtime::ctx() {
  return replicator::JobContext{cfg_, *state_, replicator::real_engines(runner_), runner_, clock_, cancel_};
}

void Runtime::run_job(const std::string& job, const std::string& target, const std::function<std::string()>& fn) {
  auto lg = log::get("app");
  const auto id = state_->begin_run(job, target);
  const auto t0 = std::chrono::steady_clock::now();
  auto secs = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  try {
    std::string summary = fn();
    state_->end_run(id, "ok", summary);
    lg->info("job {} ok in {:.1f}s: {}", job, secs(), summary);
  } catch (const Cancelled&) {
    state_->end_run(id, "cancelled", "cancelled");
    lg->warn("job {} cancelled after {:.1f}s", job, secs());
    throw;
  } catch (const Error& e) {
    const char* outcome = e.exit_code() == kRefused ? "refused" : "failed";
    state_->end_run(id, outcome, e.what());
    state_->add_alert(job, e.what());
    lg->error("job {} {} after {:.1f}s: {}", job, outcome, secs(), e.what());
    if (!cfg_.alerts.command.empty()) {
      try {
        run_checked(*runner_, expand_argv(cfg_.alerts.command, {{"job", job}, {"message", e.what()}}));
      } catch (const std::exception& a) {
        lg->error("alert command failed: {}", a.what());
      }
    }
    throw;
  } catch (const std::exception& e) {
    state_->end_run(id, "failed", e.what());
    state_->add_alert(job, e.what());
    lg->error("job {} failed after {:.1f}s: {}", job, secs(), e.what());
    throw;
  }
}

void print_json(const nlohmann::json& j) { std::cout << j.dump(2) << std::endl; }

}  // namespace sk::cli
