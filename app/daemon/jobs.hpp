#pragma once
// The schedulable jobs by name ([[schedule]] job = "..."), as the daemon's scheduler runs them.
#include <string>

#include "replicator/context.hpp"

namespace sk::daemon {

// Runs backup, refresh, capture, verify or check and returns its summary. Throws ConfigError for an
// unknown name and sk::Error when the job fails.
std::string run_named_job(const std::string& job, const replicator::JobContext& ctx);

}  // namespace sk::daemon
