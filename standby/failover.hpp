#pragma once
// The passive standby: build it, report it, and the recovery runbooks (failover, switchover, rejoin).
// Every failover/switchover step is journaled in the state store and idempotent, so a run that crashed
// resumes where it stopped and never redoes a finished step.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "replicator/context.hpp"

namespace sk::standby {

// standby init: replication slot on the active, pg_basebackup -R into the standby's data_dir, start it,
// wait until it streams. Throws SafetyError when the data_dir is not empty.
std::string standby_init(const replicator::JobContext& ctx);

// Role, receiver state, slot, lag in bytes (replay position vs the active's position) and seconds.
nlohmann::json standby_status(const replicator::JobContext& ctx);

// The steps with the exact SQL and commands for this configuration; `kind` is "failover" or "switchover".
nlohmann::json plan(const replicator::JobContext& ctx, const std::string& kind);
std::string render_plan(const nlohmann::json& p);

struct RunbookOptions {
  bool automatic = false;  // from the daemon: lag beyond max_lag refuses instead of warning
  bool yes = false;        // the operator confirmed
};

// Failover: fence, lag check, promote, profile, permissions, serials, epoch, alias, smoke test, repoint.
// Throws SafetyError when refused (exit 3) and sk::Error when a step fails (the journal keeps the
// finished steps; run it again to resume).
std::string run_failover(const replicator::JobContext& ctx, const RunbookOptions& o);
// Switchover: block writes, wait for the final position, promote, old active becomes the standby.
std::string run_switchover(const replicator::JobContext& ctx, const RunbookOptions& o);
// Rejoin: turn a fenced old active into the standby of the current active (pg_rewind).
std::string run_rejoin(const replicator::JobContext& ctx, const std::string& server);

// An unfinished failover whose process is gone (crashed): the daemon may resume it. A switchover, or a
// failover another process is running right now, is never resumed behind an operator's back.
bool interrupted_failover(StateStore& state);

// Servers fenced at an older epoch that answer as writable primaries again (they are re-fenced by the
// daemon and reported by check).
std::vector<std::string> stale_writable_servers(const replicator::JobContext& ctx);

// The recovery runbook for this configuration and state (Markdown): prepare, rebuild, restore, repair.
std::string runbook_markdown(const replicator::JobContext& ctx);

}  // namespace sk::standby
