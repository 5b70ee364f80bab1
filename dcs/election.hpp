#pragma once
// The election of the manager that acts for a site. Every manager runs one; the holder of the site's
// leader key, bound to an etcd lease it keeps alive, is the only one that runs jobs, HA actions and
// runbooks. etcd does the consensus and expires the lease; nothing here counts votes or times leases
// for others. What this class adds is the leader's own safety margin: it stops acting when its own
// clock says the lease could have expired, whether or not it has heard from etcd.
//
// One tick is one step (renew, or read the key and take it when free) and returns the state as a
// sentence, like the HA loop's decisions: the sentence changes only when the state does.
//
// Thread-safety: tick() and resign() are called from one thread (the coordinator's). may_act() and
// acting_until() may be called from any thread at any time: they read the clock and an atomic.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "dcs/etcd.hpp"

namespace sk::dcs {

struct ElectionOptions {
  std::string site;        // the site code, for sentences
  std::string prefix;      // the site's keys: <prefix>/leader, <prefix>/members/<name>
  std::string name;        // this manager
  std::string value;       // what this manager writes to its keys (JSON: name, API address)
  std::chrono::seconds ttl{10};
};

struct Leadership {
  bool leading = false;
  std::string leader;        // the holder's name; "" when no manager holds the key (or etcd is unknown)
  std::string leader_value;  // the holder's JSON
  long long term = 0;        // leading: the leader key's create_revision, the fencing token of writes
  bool etcd_answers = false;  // the last tick reached etcd
  std::string sentence;
};

class Election {
 public:
  Election(Etcd& etcd, std::shared_ptr<Clock> clock, ElectionOptions options);

  // One step. Never throws: etcd's trouble is the sentence's.
  Leadership tick();
  // Leads, and the lease cannot have expired yet by this manager's clock: it was last renewed (the
  // request sent) less than ttl - margin ago.
  bool may_act() const;
  // Leading: revokes the lease, so the key goes now and another manager takes over at its next tick
  // instead of after the ttl. Best effort (etcd may not answer); this manager stops acting either way.
  void resign();

  std::chrono::milliseconds tick_interval() const { return poll_; }
  // ttl - margin: how long after a renewal is sent the leader may act without another. The margin is
  // a quarter of the ttl, at least 2 s and at most half the ttl (see election.cpp for why).
  std::chrono::milliseconds act_window() const { return window_; }
  const std::string& leader_key() const { return leader_key_; }

 private:
  Leadership step_down(std::string sentence);
  void keep_lease(std::chrono::steady_clock::time_point now);
  std::string holder(const KeyValue& kv) const;

  Etcd& etcd_;
  std::shared_ptr<Clock> clock_;
  ElectionOptions opt_;
  std::string leader_key_, member_key_;
  std::chrono::milliseconds poll_, renew_every_, window_;

  long long lease_ = 0;
  std::chrono::steady_clock::time_point renewed_{};  // when the last successful renewal was sent
  bool leading_ = false;
  long long term_ = 0;
  Leadership last_;
  // steady_clock ticks since its epoch until which this manager may act; 0: it may not.
  std::atomic<long long> act_until_{0};
};

// The name in a manager's key value ({"name": ...}); the raw value when it is not such JSON.
std::string manager_name(const std::string& value);

}  // namespace sk::dcs
