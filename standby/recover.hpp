#pragma once
// recover --server NAME: the site rebuilt on a new server from the archive, when nothing stands by.
// recover --from-replica NAME: the fast path, a replica's copy of last night's backup made the active:
// withdraw (no refresh replaces its copy any more), fence, the read-only default lifted, serials, roles
// and grants as captured, profile, epoch, smoke, alias, repoint.
// A journaled runbook like failover (runbook.hpp), kind "recover": verify the backup deeply, fence the
// old active, create the roles, restore into a staging copy, replay the grants, apply the profile,
// move the serials past the old active's high-water marks (+ serial_headroom), rename the copy to the
// live name, raise the epoch and record NAME as active, smoke test, alias, repoint.
// Thread-safety: as the runbooks, one run per process, driven by the calling thread.
#include <string>

#include <nlohmann/json.hpp>

#include "replicator/context.hpp"
#include "standby/runbook.hpp"

namespace sk::standby {

struct RecoverOptions {
  std::string server;  // the new active; "" on a resume takes the journal's
  std::string backup;  // a generation id; "": the journal's, else the newest verified, else the newest complete
  fs::path files_to;   // absolute; when set, the backup's site files are written below it (missing or empty)
  // --from-replica: `server` is a replica whose copy becomes the site database (no restore; the backup is
  // the one it serves). It leaves [roles] replicas in effect: refresh never touches the active in force.
  bool from_replica = false;
  // --until: an ISO 8601 UTC time ("2026-11-22T02:40:00Z", fractions allowed) or a WAL position
  // ("0/3000060"); "" recovers to the end of the archived WAL, or takes the journal's on a resume.
  std::string until = "";
};

// The plan of the run recover_site would start or resume. Throws SafetyError (exit 3) when it would be
// refused (see recover_site), ConfigError for an unknown server.
nlohmann::json recover_plan(const replicator::JobContext& ctx, const RunbookOptions& o, const RecoverOptions& r);

// The physical path ("Recovery to the last second" in docs/design.md): when the chosen generation holds
// a physical base backup, [archive] wal_stream is on and the target has data_dir, the base backup is
// restored into that data directory (its old content moved aside to <data_dir>.before-recover-<stamp>,
// never deleted) and rolled forward with the archived WAL, to the end or to --until; then the same
// repair steps run on the live databases. It refuses before anything changes a target that serves the
// site in any role (active, standby, replica, trial) or shares a data directory with one, and a backup
// whose WAL the archive does not hold (the missing file named). --until needs that path, and a time
// after the base backup and before the end of the archived WAL; the backup is then the newest physical
// one completed before the time (or --backup).
// Every database the backup holds is rebuilt, each through its own staging copy and past its own serial
// marks; the journal records the list ("databases") when the run begins.
// Runs (or resumes) the recovery and returns its summary, which ends with the data-loss window: the
// backup's time against the last write the daemon saw on the old active. Before the first step,
// refuses (SafetyError, nothing changed) a server that serves the site as replica or standby or is
// [roles] trial, one that does not answer or is in recovery, one that already holds any of the
// databases the backup holds, a replica (--from-replica) that does not serve each of them, a backup
// that lacks a database [site] databases lists, an unknown or incomplete backup, a site whose active
// still accepts writes or whose standby stands
// by, the old active's own name without o.old_active_is_down, and another server, backup or files
// folder than an open run's once that run changed a server (before that, the new choice replaces it).
// A step that fails stops the run (sk::Error naming it); run it again to resume.
std::string recover_site(const replicator::JobContext& ctx, const RunbookOptions& o, const RecoverOptions& r);

// What a recover journal's backup time and the old active's last observed write say is lost, as one
// sentence (pure).
std::string data_loss_window(const nlohmann::json& journal);

}  // namespace sk::standby
