#pragma once
// One spdlog logger per module ("replicator", "sql", "schedules", "standby", "app", "state"),
// all writing to stderr. Secrets never reach these: connection strings go through redact().
// Every entry is one line: control characters in a message are escaped (see escape_control).
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace sk::log {

// Sets the level for every module logger ("trace", "debug", "info", "warn", "error").
// Returns false when the name is not a level.
bool set_level(const std::string& level);
std::shared_ptr<spdlog::logger> get(const std::string& module);

// Masks password=..., PWD=..., and PGPASSWORD values in a string meant for a log or an error.
std::string redact(const std::string& text);

// "\n" becomes "\\n" and every other byte below 0x20, and 0x7F, becomes "\\xHH" ("\\x1b"). Loggers
// from get() apply it to every message, less one trailing newline.
std::string escape_control(std::string_view text);

}  // namespace sk::log
