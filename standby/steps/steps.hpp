#pragma once
// The step builders the runbooks are made of (runbook.hpp). Each returns one Step bound to the run's
// StepContext: what it needs of the engines, the exact text --plan shows, and what it does. Every step
// is idempotent: run again after a crash, it finds its work done and says so. No step waits on a server
// that may be dead (the old active) longer than probe_timeout: they use StepContext::bounded().
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "standby/runbook.hpp"

namespace sk::standby::steps {

// ---- failover ------------------------------------------------------------------------------------
// The old active refuses writes before anything is promoted: fenced through SQL when it answers
// within probe_timeout, else by the [failover] fence argv (exit 0), else only on the operator's word
// that it is powered off (RunbookOptions::old_active_is_down, journaled). Otherwise SafetyError.
Step fence(const StepContext& sc);
// The standby's replay position against the old active's last position: beyond max_lag an automatic
// run refuses (SafetyError), a manual one (--yes) goes on and says so.
Step lag(const StepContext& sc);

// ---- switchover ----------------------------------------------------------------------------------
Step check_streaming(const StepContext& sc);  // the standby streams, within max_lag
Step block(const StepContext& sc);            // the old active (which must answer) refuses writes
Step catchup(const StepContext& sc);          // the standby has replayed the old active's final position
Step stop_old(const StepContext& sc);         // the old active is stopped (when its data_dir is here)
Step rejoin(const StepContext& sc);           // the old active follows the new one (rewound if need be)

// ---- both ----------------------------------------------------------------------------------------
// The standby leaves recovery with every database closed to clients (Engine::promote_closed_each).
Step promote(const StepContext& sc);
// Every serial past the highest value the old active may have issued (the high-water marks the daemon
// recorded, or the old active's own values when it answers), plus serial_headroom, in each database:
// each against its own marks. `staging`: the sequences that move are those of each database's staging
// copy on `to` (recover), else of the database itself.
Step serials(const StepContext& sc, bool staging = false);
Step profile(const StepContext& sc);      // each database's newest captured profile re-applied
Step permissions(const StepContext& sc);  // the newest captured roles, and each database's grants, replayed and checked
// The new epoch in the state store and in the promoted server (read back), and the roles in force:
// `to` active, `new_standby` its standby ("" until a rejoin).
Step epoch(const StepContext& sc, const std::string& new_standby);
Step smoke(const StepContext& sc);  // one write and one read in each database on the new active
Step open(const StepContext& sc);   // clients may connect to every database again
Step alias(const StepContext& sc);  // the [failover] alias argv points the site's name at the new active
Step repoint(const StepContext& sc);

// ---- recover: the site rebuilt on `to` from the generation the journal names ("backup") ----------
// From the archive, everything up to the swap works on a staging copy: the live name appears only once
// the copy is restored, granted, profiled and past every serial, so a crash never leaves a
// half-restored site database and no client writes before the serials are resynced. From a replica
// (which already serves that generation), the serials move before any role may write.
// Each acts on every database of the run; `staging`: on each one's staging copy rather than the live name.
Step verify_backup(const StepContext& sc);  // the generation verified deeply (its trial restore elsewhere)
Step roles(const StepContext& sc);          // roles and memberships with their password hashes, as captured
Step restore(const StepContext& sc);        // each snapshot into its staging copy on `to`, checkpointed
Step grants(const StepContext& sc, bool staging);          // each database's grants in the generation, read back
Step backup_profile(const StepContext& sc, bool staging);  // each database's profile in the generation
Step swap(const StepContext& sc);           // each staging copy renamed to its live name
Step writable(const StepContext& sc);       // a replica's read-only default lifted, in each database
Step withdraw(const StepContext& sc);       // the replica out of the rotation: no refresh replaces its copy
// The generation's site files written below the folder the journal names ("files_to"), as
// restore-files does; the folder was missing or empty when the run began.
Step site_files(const StepContext& sc);

// ---- recover, physically: a base backup rolled forward with the archived WAL onto `to`'s data_dir -
// The journal names the path ("physical"), the target ("until": {"time"|"lsn"}), the data directory
// ("data_dir") and where its old content goes ("aside"). The restore happens only into a stopped,
// empty data directory, and the server starts only in the replay step, so a resume never restores
// onto a started server.
Step verify_physical_backup(const StepContext& sc);  // physical/ checksums, pg_verifybackup, the WAL still there
Step set_aside(const StepContext& sc);       // `to` stopped, its data directory moved aside (never deleted)
Step restore_physical(const StepContext& sc);  // the base backup unpacked, the recovery settings written
Step replay(const StepContext& sc);          // started: the archived WAL replayed, out of recovery ("recovered_to")
// The run's recovery target, from the journal.
sql::Engine::RecoveryTarget until_of(const nlohmann::json& journal);

// ---- shared helpers ------------------------------------------------------------------------------
// The path of `name` in the run's generation, once its checksums match the manifest again: days may
// pass between the verify step and a resumed run. Throws sk::Error naming the first problem.
fs::path verified_again(const StepContext& sc, const std::string& name);

struct Capture {
  std::string id;
  std::string permissions;  // the first database's: every role, and that database's grants
  nlohmann::json profile;   // the first database's: the server settings, and that database's extensions
  // Each database the capture holds (its manifest's list), by name: its script and its profile.
  std::map<std::string, std::string> permissions_of;
  std::map<std::string, nlohmann::json> profile_of;
};
// The newest intact capture of the permission scripts and profiles: a stand-alone capture or the one
// taken with the newest backup, whichever is younger. Each database's files are read from where the
// capture's own manifest puts them (replicator::database_prefix). nullopt when the archive holds none.
// `need`: the databases of the run; a capture holding each of them is preferred to a newer one that
// lacks one (taken before a database joined the site).
std::optional<Capture> newest_capture(const Config& cfg, const std::vector<std::string>& need = {});

// The standby settings that make a silent primary noticed about as fast as a dead one: the receiver
// asks for a reply after failures x probe_interval of silence (at least 1 s).
sql::StandbyTiming timing_for(const Config& cfg);

// Polls `done` every 200 ms until it returns true (exceptions count as false) or `timeout` passes
// (sk::Error naming `what`). Checks `cancel` between polls.
void wait_for(const std::function<bool()>& done, std::chrono::seconds timeout, const std::string& what,
              const CancelToken* cancel);
// True when `server` streams and three looks over a second and a half agree: a receiver that keeps
// failing shows "streaming" for moments between restarts.
bool stably_streaming(const replicator::JobContext& ctx, const std::string& server);
// Makes `server` (stopped or running, local data_dir) a streaming standby of `primary`: it follows the
// new timeline when it can, else it is rewound. Returns what was done.
std::string make_standby_of(const replicator::JobContext& ctx, const std::string& server, const std::string& primary);

// Bytes the standby `to` is behind `from` (read now through a bounded engine when it answers, else the
// last position the daemon observed); nullopt when neither is known.
std::optional<std::uint64_t> standby_lag(const StepContext& sc);

// Reads the permissions back from `db` on `e`: every role `script` creates must exist there. Returns
// how many it creates; throws sk::Error naming the first one missing.
int verify_roles(sql::Engine& e, const std::string& db, const sql::PermissionScript& script);

// Runs `part` for each database of the run, `db` first. With several databases each one's line is
// journaled as it finishes (journal "parts".<step>.<db>): a step resumed after a crash mid-way keeps the
// lines of the databases it finished, does not run them again, and goes on with the next. Returns the
// lines joined by "; " (with one database, its line).
std::string each_db(const StepContext& sc, const std::string& step, const std::function<std::string(const std::string& db)>& part);
// The databases of the run, for titles: "CM_CEN" or "CM_CEN, CM_REP".
std::string db_names(const StepContext& sc);
// What the engine of `server` describes for `duty`, once per database of the run (`what.db` set to
// `into(db)`, or db), each group headed by a comment naming its database when there are several.
std::vector<std::string> described(const StepContext& sc, const std::string& server, sql::Duty duty, sql::StepText what,
                                   const std::function<std::string(const std::string& db)>& into = {});

// An argv as the plan shows it, with {server} filled in.
std::string shown_argv(const std::vector<std::string>& argv, const std::string& server);

}  // namespace sk::standby::steps
