#pragma once
// The per-server health checks a load balancer routes by (GET /replica/NAME, /active/NAME,
// /standby/NAME). A thread probes every server of the site each [health] interval and keeps the
// verdicts in memory, so a check is answered from memory and never waits on a database or a job.
//
// A server changes state only after `rise` good (or `fall` bad) probes in a row, as HAProxy does, so
// checks do not flap. What a good probe is depends on the role in force:
//   active   answers, is not in recovery, accepts writes, and carries the site's epoch;
//   standby  answers, is in recovery, streams, and is within max_lag of the active;
//   replica  answers and has the site database (its freshness is judged per request: ?max_age=).
// Verdicts are kept in the state store too: a daemon that restarts answers with the last verdicts at
// once (marked stale) until its own probes have had `rise`/`fall` ticks, so a restart takes no healthy
// server out of rotation.
//
// Thread-safety: snapshot() and stop() may be called from any thread.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "app/daemon/metrics.hpp"
#include "core/config.hpp"
#include "core/state/store.hpp"
#include "sql/engine.hpp"

namespace sk::daemon {

// Consecutive agreeing observations before a verdict changes. Pure.
class Hysteresis {
 public:
  Hysteresis(int rise = 2, int fall = 2) : rise_(rise), fall_(fall) {}
  // Starts from a verdict already known (the last one a previous daemon kept).
  void assume(bool up) {
    up_ = up;
    known_ = true;
    streak_ = 0;
  }
  // One observation; returns true when the verdict changed. The first observation of an unknown
  // server decides at once: there is nothing to flap from.
  bool observe(bool good) {
    if (!known_) {
      known_ = true;
      up_ = good;
      streak_ = 0;
      return true;
    }
    if (good == up_) {
      streak_ = 0;
      return false;
    }
    if (++streak_ < (good ? rise_ : fall_)) return false;
    up_ = good;
    streak_ = 0;
    return true;
  }
  bool up() const { return up_; }
  bool known() const { return known_; }
  void set_limits(int rise, int fall) {
    rise_ = rise;
    fall_ = fall;
  }

 private:
  int rise_, fall_;
  bool up_ = false, known_ = false;
  int streak_ = 0;
};

struct ServerHealth {
  std::string name;
  std::string role;          // active | standby | replica
  bool up = false;           // the verdict, after rise/fall
  bool known = false;        // a verdict exists (probed, or kept from the last daemon)
  bool stale = false;        // the verdict is the last daemon's, not yet confirmed by this one
  bool reachable = false;    // the last probe got an answer
  std::string reason;        // why the last probe was not good ("" when it was)
  std::string checked_at;    // ISO 8601 UTC of the last probe
  std::string version;
  // replica: what it serves (from the state store)
  std::string backup_id, backup_time;
  std::string mixed;  // a replica's databases at different generations: what (replicator::mixed_generations)
  long long age_seconds = -1;
  // standby
  std::string state;
  std::uint64_t lag_bytes = 0;
};

struct HealthSnapshot {
  std::map<std::string, ServerHealth> servers;  // by name
  std::string active, standby;
  std::vector<std::string> replicas;
  std::chrono::milliseconds max_age{0};
  std::string probed_at;  // of the last round ("" before the first)
};

// One probe of `name` in `role`, judged as the class comment says (no hysteresis: up = the probe was
// good). `active_pos` is the active's WAL position for a standby's lag; for the active, `position`
// receives it. Bounded by probe_timeout. Never throws: a failure is the reason.
ServerHealth probe_server(const Config& cfg, const sql::EngineFactory& engines, const std::string& name,
                          const std::string& role, const std::string& active_pos, long site_epoch,
                          std::string* position = nullptr);

// The servers of the site in their roles in force: active first (its position serves the standby's lag).
std::vector<std::pair<std::string, std::string>> servers_in_roles(const Config& cfg);

class HealthMonitor {
 public:
  // `cfg` returns the configuration in force, with the roles in force (after a failover).
  HealthMonitor(std::function<std::shared_ptr<const Config>()> cfg, StateStore& state, sql::EngineFactory engines,
                Metrics& metrics);
  ~HealthMonitor();  // stops the thread
  HealthSnapshot snapshot() const;
  void stop();

 private:
  void loop();
  void round(const Config& cfg);

  std::function<std::shared_ptr<const Config>()> cfg_;
  StateStore& state_;
  sql::EngineFactory engines_;
  Metrics& metrics_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  HealthSnapshot snap_;
  std::map<std::string, Hysteresis> verdicts_;  // by "role:name": a server that changes role starts over
  std::map<std::string, int> rounds_;           // probes since this daemon started, by "role:name"
  std::set<std::string> kept_;                  // verdicts kept from the last daemon, not yet confirmed
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace sk::daemon
