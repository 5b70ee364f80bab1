#pragma once
// The status and readiness documents, as JSON: GET /status and the check job serve them here, and
// the status and check commands print them (app/cmd/render.hpp).
#include <nlohmann/json.hpp>

#include <optional>

#include "app/daemon/health.hpp"
#include "replicator/context.hpp"

namespace sk::daemon {

// Each server's reachability, role, and (replicas) freshness as separate fields, and whether the daemon
// runs. `health` is the daemon's own view (its HealthSnapshot). Without it (the CLI), the verdicts a
// running daemon keeps in the state store are used; when no daemon runs, each server is probed now
// (bounded by probe_timeout). "ok" is false when the active or a replica is down.
nlohmann::json status_report(const replicator::JobContext& ctx, std::optional<HealthSnapshot> health = std::nullopt);

// Each [[archive.copy]] destination: its newest verified copy (id, snapshot time, age; -1 when none) and
// the outcome of its last copy job, from the state store only.
nlohmann::json copies_report(const replicator::JobContext& ctx, Clock::time_point now);

// When the newest verified (and still complete) backup was taken; nullopt when there is none.
std::optional<Clock::time_point> newest_verified_time(const replicator::JobContext& ctx);

// Seconds since the newest verified backup was taken; -1 when there is none.
long long newest_verified_age(const replicator::JobContext& ctx);

// Contacts every server (bounded by probe_timeout per server). "ok" is false when a server is
// unreachable, the newest verified backup is older than max_age (or missing), or the archive is not
// writable; drift is reported but does not fail the check.
nlohmann::json check_report(const replicator::JobContext& ctx);

}  // namespace sk::daemon
