#pragma once
// What a command needs at run time, built once from the global options: the loaded config, the state
// store, and the real seams (processes, clock, engines).
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "app/core/config.hpp"
#include "app/core/state.hpp"
#include "replicator/context.hpp"

namespace sk::cli {

struct GlobalOptions {
  std::string config_file;
  std::string log_level = "info";
  bool json = false;
};

// load_config plus the checks that need the domain folders (schedule expressions and time zones), so
// that every command and the daemon refuse the same bad file with FILE:LINE:COLUMN errors.
Config load_checked_config(const std::string& file);

class Runtime {
 public:
  // Loads the config and opens the state store. Throws ConfigError / sk::Error.
  explicit Runtime(const GlobalOptions& opts, const CancelToken* cancel = nullptr);

  const Config& cfg() const { return cfg_; }
  StateStore& state() { return *state_; }
  const GlobalOptions& opts() const { return opts_; }
  replicator::JobContext ctx();

  // Runs one job: records it in the state store, logs one summary line, raises an alert on failure.
  // `fn` returns the summary; on error the error is recorded and rethrown.
  void run_job(const std::string& job, const std::string& target, const std::function<std::string()>& fn);

 private:
  GlobalOptions opts_;
  Config cfg_;
  std::unique_ptr<StateStore> state_;
  std::shared_ptr<ProcessRunner> runner_;
  std::shared_ptr<Clock> clock_;
  const CancelToken* cancel_;
};

// Records one job run in the state store, logs one summary line, and on failure raises an alert (state
// store + the [alerts] command). `fn` returns the summary; its error is recorded and rethrown.
// Shared by the command line and the daemon so that both leave the same history.
void run_recorded(StateStore& state, const Config& cfg, ProcessRunner& runner, const std::string& job,
                  const std::string& target, const std::function<std::string()>& fn);

// Runs a schedulable job by name (backup, refresh, capture, verify, check) and returns its summary.
// Throws ConfigError for an unknown name and sk::Error when the job fails.
std::string run_named_job(const std::string& job, const replicator::JobContext& ctx);

// Prints a JSON document (for --json) on stdout.
void print_json(const nlohmann::json& j);

}  // namespace sk::cli
