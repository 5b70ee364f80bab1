#pragma once
// Drift between two captured server profiles (engine-neutral JSON, see each engine's capture_profile).
// Pure; no database access.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sk::sql {

// Lines such as "extension pg_trgm 1.6 missing" or "ALTER SYSTEM work_mem: 64MB here, 4MB on active".
// Settings that differ on purpose between roles (port, the replica read-only default) are not
// reported; pg_hba rules are compared by content, not by line number.
std::vector<std::string> profile_drift(const nlohmann::json& active, const nlohmann::json& other);

}  // namespace sk::sql
