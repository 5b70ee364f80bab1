#pragma once
// What a command needs at run time, built once from the global options: the loaded config, the state
// store, the job recorder and the real seams (processes, clock, engines).
// Thread-safety: one Runtime per command, used by its thread.
#include <functional>
#include <memory>
#include <string>

#include "core/config.hpp"
#include "core/state/jobs.hpp"
#include "core/state/store.hpp"
#include "replicator/context.hpp"

#include <nlohmann/json.hpp>

namespace sk::dcs {
class Etcd;
class SharedState;
}

namespace sk::cli {

struct GlobalOptions {
  std::string config_file;
  std::string log_level = "info";
  bool json = false;
};

class Runtime {
 public:
  // Loads the config (with the schedule checks) and opens the state store. Throws ConfigError /
  // sk::Error. After a promotion the roles in force come from the state store, not the config.
  explicit Runtime(const GlobalOptions& opts, const CancelToken* cancel = nullptr);

  const Config& cfg() const { return cfg_; }
  StateStore& state() { return *state_; }
  const GlobalOptions& opts() const { return opts_; }
  replicator::JobContext ctx();

  // Runs one job through the job recorder (history, one summary line, alert on failure). `fn` returns
  // the summary; its error is recorded and rethrown.
  void run_job(const std::string& job, const std::string& target, const std::function<std::string()>& fn);
  JobRecorder& jobs() { return *jobs_; }
  // With [dcs]: which manager leads the site, as etcd said when the command started ({} without
  // [dcs]). A command writes to the site's state only when this machine's manager (dcs.name) leads,
  // under that manager's term: every write is refused otherwise, with the leader named.
  const nlohmann::json& manager() const { return manager_; }

 private:
  void attach_to_leader();
  GlobalOptions opts_;
  Config cfg_;
  std::unique_ptr<StateStore> state_;
  std::shared_ptr<ProcessRunner> runner_;
  std::shared_ptr<Clock> clock_;
  const CancelToken* cancel_;
  std::unique_ptr<JobRecorder> jobs_;
  std::shared_ptr<dcs::Etcd> etcd_;
  std::shared_ptr<dcs::SharedState> shared_;
  nlohmann::json manager_ = nlohmann::json::object();
};

}  // namespace sk::cli
