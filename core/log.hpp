#pragma once
// One spdlog logger per module ("replicator", "sql", "schedules", "standby", "app", "state"),
// all writing to stderr. Secrets never reach these: connection strings go through redact().
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace sk::log {

// Sets the level for every module logger ("trace", "debug", "info", "warn", "error").
// Returns false when the name is not a level.
bool set_level(const std::string& level);
std::shared_ptr<spdlog::logger> get(const std::string& module);

// Masks password=..., PWD=..., and PGPASSWORD values in a string meant for a log or an error.
std::string redact(const std::string& text);

}  // namespace sk::log
