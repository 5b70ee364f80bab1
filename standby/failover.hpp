#pragma once
// The passive standby: build it, report it, and the recovery runbooks (failover, switchover, rejoin).
// Every failover/switchover step is journaled in the state store and idempotent, so a run that crashed
// resumes where it stopped and never redoes a finished step.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "replicator/context.hpp"
#include "standby/runbook.hpp"

namespace sk::standby {

// standby init: what the standby needs on the active (a slot), the standby built from it (its data_dir
// here), started, streaming; synchronous when [failover] synchronous. Touches only those two servers.
// Throws SafetyError when the data_dir is not empty.
std::string standby_init(const replicator::JobContext& ctx);

// Role, receiver state, slot, lag in bytes (replay position vs the active's position) and seconds.
nlohmann::json standby_status(const replicator::JobContext& ctx);

// The steps with the exact SQL and commands for this configuration and engines; `kind` is "failover"
// or "switchover". Throws SafetyError when there is no standby.
nlohmann::json plan(const replicator::JobContext& ctx, const std::string& kind);

// Failover: fence, lag, promote (closed to clients), serials, profile, permissions, epoch, smoke test,
// open, alias, repoint. Throws SafetyError when refused (exit 3), sk::Cancelled when the token fired
// between steps, and sk::Error when a step fails; the journal keeps the finished steps: run it again to
// resume.
std::string run_failover(const replicator::JobContext& ctx, const RunbookOptions& o);
// Switchover: check, block writes, wait for the final position, stop the old active, promote (closed),
// serials, profile, epoch, smoke test, open, old active rejoins as the standby.
std::string run_switchover(const replicator::JobContext& ctx, const RunbookOptions& o);
// Rejoin: a fenced old active stopped, rewound onto the current active's timeline, streaming as its
// standby. Never restarted as it was.
std::string run_rejoin(const replicator::JobContext& ctx, const std::string& server);

// An unfinished failover whose process is gone (crashed): the daemon may resume it. A switchover, or a
// failover another process is running right now, is never resumed behind an operator's back.
bool interrupted_failover(StateStore& state);
// "failover stopped: <why>" when the open journal's last run stopped on a failure or a refusal (it
// waits for an operator's 'failover --yes'); "" otherwise.
std::string stopped_run(StateStore& state);

// Servers fenced at an older epoch that answer as writable primaries again (they are re-fenced by the
// daemon and reported by check).
std::vector<std::string> stale_writable_servers(const replicator::JobContext& ctx);

// The recovery runbook for this configuration and state (Markdown): prepare, rebuild, restore, repair.
std::string runbook_markdown(const replicator::JobContext& ctx);

}  // namespace sk::standby
