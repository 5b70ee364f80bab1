#pragma once
// The status and readiness documents, as JSON: GET /status and the check job serve them here, and
// the status and check commands print them (app/cmd/render.hpp).
#include <nlohmann/json.hpp>

#include "replicator/context.hpp"

namespace sk::daemon {

// No server is contacted: reads the config, the archive and the state store only, so it is fast.
nlohmann::json status_report(const replicator::JobContext& ctx);

// Contacts every server (bounded by probe_timeout per server). "ok" is false when a server is
// unreachable, the newest verified backup is older than max_age (or missing), or the archive is not
// writable; drift is reported but does not fail the check.
nlohmann::json check_report(const replicator::JobContext& ctx);

}  // namespace sk::daemon
