#pragma once
// The status and readiness reports, as JSON first (status --json, check --json, GET /status), then
// rendered as text for a terminal.
#include <nlohmann/json.hpp>

#include "app/cmd/runtime.hpp"

namespace sk::cli {

// No server is contacted: reads the config, the archive and the state store only, so it is fast.
nlohmann::json status_report(const replicator::JobContext& ctx);
std::string render_status(const nlohmann::json& s);

// Contacts every server (bounded by probe_timeout per server). "ok" is false when a server is
// unreachable, the newest verified backup is older than max_age (or missing), or the archive is not
// writable; drift is reported but does not fail the check.
nlohmann::json check_report(const replicator::JobContext& ctx);
std::string render_check(const nlohmann::json& c);

}  // namespace sk::cli
