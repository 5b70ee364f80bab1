#pragma once
// The physical refresh of one replica (ServerConfig::refresh = "physical"; run_refresh calls it): the
// generation's base backup is restored into a new data directory beside the replica's own, started
// there as a paused hot standby that only sitekeeper reaches, validated while the old copy serves, and
// then renamed into place, so that the replica's configured port serves it.
//
// The folders, all derived from the replica's data_dir (nothing else is ever touched):
//   <data_dir>          the copy that serves; whenever it exists it is a complete copy, old or new
//   <data_dir>.sk-new   the new copy while it is restored and validated
//   <data_dir>.sk-old   the old copy, from its rename until the new copy serves
// The swap, in this order: stop the new copy; stop the server (fast; the read stall begins); rename
// <data_dir> to .sk-old; rename .sk-new to <data_dir>; start the server (the stall ends); record the
// generation served; remove .sk-old. Each rename is atomic, so a crash leaves either <data_dir> complete,
// or (between the two renames only) <data_dir> missing and .sk-old complete, which
// recover_physical_leftovers renames back.
#include <functional>
#include <string>
#include <vector>

#include "replicator/context.hpp"

namespace sk::replicator {

struct PhysicalPaths {
  fs::path live, next, old;
};
PhysicalPaths physical_paths(const fs::path& data_dir);

// After a crash (or a kill) mid-refresh: stops a new copy left running, puts .sk-old back when
// <data_dir> is missing, removes .sk-new and .sk-old, and starts the server when it found leftovers and
// the server does not run. Returns what it did, as one sentence ("" when there was nothing to do).
// Throws sk::Error when a step fails (what is done stays done; calling it again goes on).
std::string recover_physical_leftovers(sql::Engine& engine, const ServerConfig& replica);

struct PhysicalRefresh {
  fs::path backup;                     // the generation's physical/ folder
  std::vector<std::string> databases;  // [site] databases: each must be in the copy
  std::vector<std::string> validate;   // [replica] validate, run in the site database
  // Called before the swap; throws to refuse it (the checksum pass over the backup's files).
  std::function<void()> before_swap;
  // Called once the new copy serves (records the generation served); before the old copy is removed.
  std::function<void()> swapped;
  // Logs a step; may throw Cancelled (never called after the old server is stopped).
  std::function<void(const std::string&)> step;
};

struct PhysicalResult {
  std::size_t passed = 0;    // validation checks passed
  double port_closed = 0;    // seconds from stopping the old copy to the new one accepting connections
};

// REQUIRES: replica.data_dir set; recover_physical_leftovers ran on it under the replica's lock.
// Any failure (or Cancelled) before the swap stops and removes the new copy and leaves the old one
// serving; a failure to start the new copy puts the old one back and starts it. Throws what failed.
PhysicalResult refresh_physical(const JobContext& ctx, const ServerConfig& replica, sql::Engine& engine,
                                const PhysicalRefresh& what);

}  // namespace sk::replicator
