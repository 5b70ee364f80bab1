#pragma once
// capture and backup jobs. Both write a new archive generation and seal it last.
#include <string>
#include <vector>

#include "replicator/context.hpp"

namespace sk::replicator {

struct BackupResult {
  std::string id;
  fs::path path;
  std::uint64_t bytes = 0;
  std::vector<std::string> deleted;  // generations removed by retention
  std::string summary;               // one line for the job log
  bool hook_failed = false;          // after_backup failed: the backup stays, the job reports failure
};

// Captures the permission script and server profile of the active server into <archive>/captures, one
// of each per database of [site] databases (replicator::database_prefix).
// Throws sk::Error; a failed capture leaves no complete generation behind.
BackupResult run_capture(const JobContext& ctx);

// A snapshot of each database of [site] databases on the active, each with its capture beside it
// (replicator::database_prefix), sealed under one manifest, verified (manifest + each snapshot's table
// of contents), then after_backup, then retention. A failure or cancellation in any database discards
// the whole generation.
// Throws sk::Error when the backup fails; an after_backup failure is reported in the result's summary
// and raised as an alert, but the verified backup stays.
BackupResult run_backup(const JobContext& ctx);

// Applies retention now (also done by run_backup). REQUIRES: the caller does not hold the archive lock.
std::vector<std::string> apply_retention(const JobContext& ctx);

// Removes from <archive>/wal the WAL segments that end before the oldest complete generation's base
// backup (Engine::obsolete_wal); with no base backup kept it removes nothing. Only plain files directly
// in that folder are ever removed. Returns how many. REQUIRES: the caller does not hold the archive lock.
// Throws sk::Error when the oldest base backup's WAL range cannot be read (nothing removed then).
std::size_t trim_wal(const JobContext& ctx);

}  // namespace sk::replicator
