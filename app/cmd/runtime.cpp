#include "app/cmd/runtime.hpp"

#include "app/daemon/config_check.hpp"
#include "dcs/coordinator.hpp"
#include "dcs/etcd_http.hpp"
#include "dcs/shared_state.hpp"
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
  if (cfg_.dcs.enabled()) attach_to_leader();
  cfg_ = standby::effective_config(cfg_, *state_);
}

// A command acts for the manager of its machine, under that manager's term: were the manager to lose
// the lead while the command runs, the command's next write fails like the manager's own.
void Runtime::attach_to_leader() {
  const std::string prefix = dcs::site_prefix(cfg_);
  etcd_ = dcs::make_etcd(cfg_.dcs, std::chrono::seconds(2));
  shared_ = std::make_shared<dcs::SharedState>(*etcd_, prefix, cfg_.site.code, cfg_.dcs.name);
  manager_ = {{"name", cfg_.dcs.name}, {"prefix", prefix}, {"leader", ""}, {"leading", false}};
  try {
    if (auto kv = etcd_->get(prefix + "/leader")) {
      const std::string leader = dcs::manager_name(kv->value);
      manager_["leader"] = leader;
      manager_["leading"] = leader == cfg_.dcs.name;
      shared_->set_term(leader == cfg_.dcs.name ? kv->create_revision : 0, nullptr, leader);
    } else {
      shared_->set_term(0, nullptr, "none: no manager leads");
    }
    manager_["managers"] = dcs::member_names(*etcd_, prefix);
  } catch (const std::exception& e) {
    manager_["error"] = e.what();
    shared_->set_term(0, nullptr, "unknown: etcd did not answer");
  }
  state_->set_mirror(shared_, cfg_.dcs.name);
}

replicator::JobContext Runtime::ctx() {
  return replicator::JobContext{cfg_, *state_, sql::engine_factory(runner_), runner_, clock_, cancel_};
}

void Runtime::run_job(const std::string& job, const std::string& target, const std::function<std::string()>& fn) {
  jobs_->run(job, target, fn);
}

}  // namespace sk::cli
