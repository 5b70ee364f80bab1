#pragma once
// The HA loop's one decision per tick, over an immutable snapshot of the world. Pure: no clock, no
// I/O. The decision carries a sentence that the loop logs once (when it changes) and tests assert.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sk::standby {

struct Snapshot {
  bool automatic = false;          // [failover] mode
  bool paused = false;             // maintenance window
  bool has_standby = true;
  bool action_running = false;     // a failover/switchover is executing right now
  bool journal_open = false;       // an unfinished failover from a crashed run
  std::string journal_stopped;     // an unfinished run that stopped on a failure or refusal: why
  int failures = 0;                // consecutive failed probes of the active
  int failures_needed = 3;
  bool active_reachable = true;    // the last probe
  // The standby as witness, asked once failures reach the threshold: nullopt when not asked or the
  // standby could not be reached.
  std::optional<bool> witness_hears_active;
  bool standby_reachable = true;
  bool standby_in_recovery = true;
  bool standby_streaming = true;   // its WAL receiver streams from the active (at the last look)
  std::uint64_t lag_bytes = 0;     // standby replay position behind the last observed active position
  std::uint64_t max_lag = 16ull << 20;
  // An active that does not answer can be fenced only by the [failover] fence argv: without one, an
  // automatic promotion would leave two writable servers if the old active is only cut off.
  bool fence_available = true;
  // The active in force answers but carries an older epoch than the site's: it is not the promoted
  // server the state store names (a promotion did not finish, or an old copy came back there).
  bool active_epoch_stale = false;
  std::string active;   // names, for the sentences
  std::string standby;
  std::vector<std::string> stale_writable;  // fenced servers from an older epoch that accept writes again
};

enum class Action {
  kNone,          // all well, nothing to do
  kWait,          // something is off, not enough to act (counting failures, paused, manual mode)
  kAskWitness,    // the active failed `failures` probes: ask the standby whether it still hears it
  kFailover,      // promote the standby now (automatic mode only)
  kResume,        // finish an interrupted failover from its journal
  kRefence,       // an old active is back and writable: fence it again
  kRefuse,        // the active is down but promotion is unsafe (lag, no standby)
};

struct Decision {
  Action action = Action::kNone;
  std::string sentence;
};

Decision decide(const Snapshot& s);

const char* to_string(Action a);

}  // namespace sk::standby
