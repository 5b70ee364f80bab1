#pragma once
// The configuration as every command and the daemon load it: load_config (core/) plus the checks that
// need schedules/, so that all of them refuse the same bad file with the same FILE:LINE:COLUMN errors.
#include <string>

#include "core/config.hpp"

namespace sk::daemon {

// Throws ConfigError listing every problem found.
Config load_checked_config(const std::string& file);

}  // namespace sk::daemon
