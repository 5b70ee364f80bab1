#include "app/cmd/runtime.hpp"

#include <cstdlib>
#include <map>
#include <iostream>

#include "app/core/error.hpp"
#include "app/core/log.hpp"
#include "schedules/schedule.hpp"
#include "standby/site_state.hpp"

namespace sk::cli {

Runtime::Runtime(const GlobalOptions& opts, const CancelToken* cancel)
    : opts_(opts),
      cfg_(load_checked_config(opts.config_file)),
      state_(std::make_unique<StateStore>(cfg_.state_path)),
      runner_(system_runner()),
      clock_(system_clock()),
      cancel_(cancel) {
  // After a promotion the state store, not the config, says who is active and standby.
  cfg_ = standby::effective_config(cfg_, *state_);
}

Config load_checked_config(const std::string& file) {
  Config cfg = load_config(file);
  std::string errors;
  std::map<std::string, SourcePos> seen;
  for (const auto& sc : cfg.schedules) {
    if (auto it = seen.find(sc.job); it != seen.end()) {
      errors += (errors.empty() ? "" : "\n") + cfg.file.string() + ":" + std::to_string(sc.pos.line) + ":" +
                std::to_string(sc.pos.column) + ": schedule.job: expected one schedule per job, \"" + sc.job +
                "\" is already scheduled at line " + std::to_string(it->second.line);
      continue;
    }
    seen[sc.job] = sc.pos;
    try {
      sched::schedule_from_config(sc, cfg.file);
    } catch (const Error& e) {
      errors += (errors.empty() ? "" : "\n") + std::string(e.what());
    }
  }
  if (!errors.empty()) throw ConfigError(errors);
  return cfg;
}

replicator::JobContext Runtime::ctx() {
  return replicator::JobContext{cfg_, *state_, replicator::real_engines(runner_), runner_, clock_, cancel_};
}

void Runtime::run_job(const std::string& job, const std::string& target, const std::function<std::string()>& fn) {
  run_recorded(*state_, cfg_, *runner_, job, target, fn);
}

void run_recorded(StateStore& state, const Config& cfg, ProcessRunner& runner, const std::string& job,
                  const std::string& target, const std::function<std::string()>& fn) {
  auto lg = log::get("app");
  const auto id = state.begin_run(job, target);
  const auto t0 = std::chrono::steady_clock::now();
  auto secs = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  auto alert = [&](const std::string& message) {
    state.add_alert(job, message);
    if (cfg.alerts.command.empty()) return;
    try {
      run_checked(runner, expand_argv(cfg.alerts.command, {{"job", job}, {"message", message}}));
    } catch (const std::exception& a) {
      lg->error("alert command failed: {}", a.what());
    }
  };
  try {
    std::string summary = fn();
    state.end_run(id, "ok", summary);
    lg->info("job {} ok in {:.1f}s: {}", job, secs(), summary);
  } catch (const Cancelled&) {
    state.end_run(id, "cancelled", "cancelled before a safe point; nothing was changed");
    lg->warn("job {} cancelled after {:.1f}s", job, secs());
    throw;
  } catch (const Error& e) {
    const char* outcome = e.exit_code() == kRefused ? "refused" : "failed";
    state.end_run(id, outcome, e.what());
    lg->error("job {} {} after {:.1f}s: {}", job, outcome, secs(), e.what());
    alert(e.what());
    throw;
  } catch (const std::exception& e) {
    state.end_run(id, "failed", e.what());
    lg->error("job {} failed after {:.1f}s: {}", job, secs(), e.what());
    alert(e.what());
    throw;
  }
}

void print_json(const nlohmann::json& j) { std::cout << j.dump(2) << std::endl; }

}  // namespace sk::cli
