// The steps only a recovery from the archive has: the generation verified, roles created, the snapshot
// restored into a staging copy, the generation's grants and profile, and the swap to the live name.

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "replicator/archive.hpp"
#include "replicator/refresh.hpp"
#include "replicator/site_files.hpp"
#include "replicator/verify.hpp"
#include "sql/ident.hpp"
#include "standby/steps/steps.hpp"

namespace sk::standby::steps {

namespace {

std::string backup_of(const StepContext& sc) { return sc.journal.value("backup", std::string()); }

// The path of `name` in the run's generation, once its checksums match the manifest again: days may
// pass between the verify step and a resumed run.
fs::path verified_again(const StepContext& sc, const char* name) {
  const std::string id = backup_of(sc);
  auto archive = replicator::open_archive(sc.cfg());
  if (auto problems = archive.check(id, true, sc.ctx.cancel, name); !problems.empty())
    throw Error("backup " + id + " no longer verifies: " + problems.front(),
                "the archive changed since the verify step; recover from another backup (--backup)");
  return archive.path(id) / name;
}

std::string generation_file(const StepContext& sc, const char* name) { return read_file(verified_again(sc, name)); }

sql::PermissionScript script_of(const StepContext& sc) { return {generation_file(sc, replicator::kPermissionsFile)}; }

}  // namespace

Step verify_backup(const StepContext& sc) {
  const std::string id = backup_of(sc);
  return Step{"verify",
              "verify backup " + id + " deeply",
              {},
              [id] {
                return std::vector<std::string>{"-- backup " + id + ": checksums against its manifest and sealed marker, the "
                                                "restore tool's table of contents, a trial restore on a scratch server "
                                                "(or [roles] trial) and the integrity checker"};
              },
              [sc, id] {
                auto r = replicator::run_verify(sc.ctx, id, true);
                if (!r.ok)
                  throw Error("backup " + id + " failed deep verification: " +
                                  (r.problems.empty() ? r.summary : r.problems.front()),
                              "nothing was changed on " + sc.to + "; name another backup with --backup");
                return r.summary;
              }};
}

Step roles(const StepContext& sc) {
  return Step{"roles",
              "create the captured roles with their password hashes on " + sc.to,
              {{sc.to, sql::Duty::permissions}},
              [sc] { return sc.engine(sc.to)->describe(sql::Duty::permissions, {sc.db, sc.to, "", sc.epoch, 0}); },
              [sc] {
                // As captured (this server becomes the active); they are read back in the grants step, once
                // a database to read them from exists.
                sc.engine(sc.to)->replay_roles(script_of(sc), {});
                return "roles of backup " + backup_of(sc) + " replayed on " + sc.to;
              }};
}

Step restore(const StepContext& sc) {
  const std::string staging = sql::staging_name(sc.db);
  return Step{"restore",
              "restore backup " + backup_of(sc) + " into " + staging + " on " + sc.to,
              {{sc.to, sql::Duty::restore}},
              [sc] {
                auto snapshot = replicator::open_archive(sc.cfg()).path(backup_of(sc)) / replicator::kSnapshotDir;
                return sc.engine(sc.to)->describe(sql::Duty::restore, {sc.db, sc.to, snapshot.string(), sc.epoch, 0});
              },
              [sc, staging] {
                const fs::path snapshot = verified_again(sc, replicator::kSnapshotDir);
                auto e = sc.engine(sc.to);
                // A leftover staging copy of a crashed run is dropped first by the restore itself.
                e->restore_to_staging(staging, snapshot, sc.cfg().replica.jobs, sc.ctx.cancel);
                e->checkpoint();  // the copy is on disk before the journal says it is there
                return "backup " + backup_of(sc) + " restored into " + staging;
              }};
}

Step grants(const StepContext& sc, const std::string& into) {
  return Step{"grants",
              "replay the captured grants into " + into,
              {{sc.to, sql::Duty::permissions}},
              [sc] { return sc.engine(sc.to)->describe(sql::Duty::permissions, {sc.db, sc.to, "", sc.epoch, 0}); },
              [sc, into] {
                const auto script = script_of(sc);
                auto e = sc.engine(sc.to);
                e->replay_grants(script, into);
                const int n = verify_roles(*e, into, script);
                return "grants of backup " + backup_of(sc) + " replayed; " + std::to_string(n) + " roles verified";
              }};
}

Step backup_profile(const StepContext& sc, const std::string& into) {
  return Step{"profile",
              "re-apply the server profile captured with backup " + backup_of(sc),
              {{sc.to, sql::Duty::profile}},
              [sc, into] { return sc.engine(sc.to)->describe(sql::Duty::profile, {into, sc.to, "", sc.epoch, 0}); },
              [sc, into] {
                const auto profile = nlohmann::json::parse(generation_file(sc, replicator::kProfileFile));
                // Database settings follow the copy through the rename: they are kept by the database, not its name.
                auto restart = sc.engine(sc.to)->apply_profile(into, profile);
                std::string r = "profile of backup " + backup_of(sc) + " applied";
                if (!restart.empty()) {
                  r += "; needs a restart:";
                  for (const auto& n : restart) r += " " + n;
                }
                return r;
              }};
}

Step swap(const StepContext& sc) {
  const std::string staging = sql::staging_name(sc.db);
  return Step{"swap",
              "rename " + staging + " to " + sc.db + " on " + sc.to + ": the site database is live",
              {{sc.to, sql::Duty::restore}},
              [sc, staging] {
                return std::vector<std::string>{"-- on " + sc.to + ": " + staging + " renamed to " + sc.db +
                                                " in one transaction (clients can connect from here on)"};
              },
              [sc, staging] {
                auto e = sc.engine(sc.to);
                // Resumed after a crash that followed the rename: the live copy is the one this run restored
                // (the run refused to start on a server that already held the site database).
                if (!e->database_exists(staging) && e->database_exists(sc.db)) return sc.db + " was already live";
                e->swap_in(sc.db, staging, sc.cfg().replica.swap_timeout);
                return staging + " is live as " + sc.db;
              }};
}

Step writable(const StepContext& sc) {
  return Step{"writable",
              "lift the read-only default of " + sc.db + " on " + sc.to,
              {{sc.to, sql::Duty::lift_read_only}},
              [sc] { return sc.engine(sc.to)->describe(sql::Duty::lift_read_only, {sc.db, sc.to, "", sc.epoch, 0}); },
              [sc] {
                sc.engine(sc.to)->lift_read_only(sc.db);
                return sc.db + " on " + sc.to + " accepts writes from new sessions";
              }};
}

Step withdraw(const StepContext& sc) {
  return Step{"withdraw",
              "take " + sc.to + " out of the help-desk rotation: no refresh replaces its copy any more",
              {},
              [sc] {
                return std::vector<std::string>{"-- the state store marks " + sc.to +
                                                " withdrawn; a refresh running on it finishes or gives up first"};
              },
              [sc] {
                replicator::withdraw_replica(sc.ctx, sc.to);
                return sc.to + " withdrawn: no refresh runs on it now or later";
              }};
}

Step site_files(const StepContext& sc) {
  const fs::path to = sc.journal.value("files_to", std::string());
  return Step{"files",
              "write the site files of backup " + backup_of(sc) + " below " + show_path(to),
              {},
              [sc, to] {
                return std::vector<std::string>{"-- as 'sitekeeper restore-files --backup " + backup_of(sc) + " --to " +
                                                show_path(to) + "': each file at its absolute path below that folder"};
              },
              [sc, to] {
                // The files land in a private folder renamed into place at the end: a folder with content
                // is this run's, finished before a crash (the run refused to start on a non-empty one).
                std::error_code ec;
                if (fs::is_directory(to, ec) && !fs::is_empty(to, ec)) return show_path(to) + " was already written";
                return replicator::restore_site_files(sc.cfg(), backup_of(sc), to, sc.ctx.cancel).summary;
              }};
}

}  // namespace sk::standby::steps
