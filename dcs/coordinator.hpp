#pragma once
// A manager's seat in a site of several managers ([dcs]): the election and the shared state, on a
// thread of their own. The daemon asks may_act() before anything that changes the site, and hears
// through the hooks when this manager takes the lead (after the shared state has been read into its
// own store) and when it loses it.
//
// Every tick is one election step (election.hpp); its sentence is logged when it changes. A follower
// reads the facts that changed into its own store every second, so its status, history and health
// answers follow the leader's; how old what it serves is, is stale_seconds().
//
// A watchdog thread calls `follow` as soon as the leader's own window closes (Election::may_act()),
// even while the election thread waits on an etcd that does not answer, so running jobs are cancelled
// then and not one etcd timeout later.
//
// Thread-safety: start() and stop() from one thread; the accessors from any thread. The hooks run on
// the coordinator's or the watchdog's thread, one at a time (under a mutex), lead and follow
// alternating.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/state/store.hpp"
#include "dcs/election.hpp"
#include "dcs/etcd.hpp"
#include "dcs/shared_state.hpp"

namespace sk::dcs {

struct CoordinatorHooks {
  std::function<void(const Leadership&)> lead;    // this manager leads now and may act
  std::function<void(const Leadership&)> follow;  // it led and does not any more: stop acting
};

struct CoordinatorView {
  Leadership leadership;
  bool acting = false;                  // leads, the shared state is read, and the lease window is open
  std::optional<double> stale_seconds;  // how long since etcd last answered; nullopt: never yet
  std::string prefix;
  std::vector<std::string> managers;  // every manager with a live member key, as last listed
};

class Coordinator {
 public:
  // `api` is where this manager's HTTP API listens, written with its name to its keys.
  Coordinator(const Config& cfg, std::string api, std::unique_ptr<Etcd> etcd, StateStore& state,
              std::shared_ptr<Clock> clock, CoordinatorHooks hooks);
  ~Coordinator();  // stops (without resigning) if still running

  // The mirror to give the state store (StateStore::set_mirror) before start().
  std::shared_ptr<StateMirror> mirror() const { return shared_; }
  void start();
  // Stops the thread; a leader first resigns, so another manager takes over at once.
  void stop(bool resign = true);

  bool may_act() const;
  CoordinatorView view() const;

 private:
  void loop();
  void tick();
  void watch();
  // REQUIRES: hook_mu_ held.
  void stop_acting(const Leadership& l);

  std::unique_ptr<Etcd> etcd_;
  StateStore& state_;
  std::shared_ptr<Clock> clock_;
  CoordinatorHooks hooks_;
  std::string prefix_;
  Election election_;
  std::shared_ptr<SharedState> shared_;

  std::atomic<bool> acting_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  Leadership last_;
  std::optional<std::chrono::steady_clock::time_point> heard_;  // etcd last answered
  std::thread thread_, watchdog_;
  std::mutex hook_mu_;

  // The coordinator thread's own.
  std::string logged_;
  long long revision_ = 0;  // the next revision to read the shared state from
  std::chrono::steady_clock::time_point last_pull_{};
  std::string skipped_logged_;
  std::chrono::steady_clock::time_point last_members_{};
  std::vector<std::string> members_;  // under mu_
};

// The managers of the site with a live member key, in name order. Throws as Etcd::list does.
std::vector<std::string> member_names(Etcd& etcd, const std::string& prefix);

// "/sitekeeper/<site code>" unless [dcs] prefix says otherwise.
std::string site_prefix(const Config& cfg);

}  // namespace sk::dcs
