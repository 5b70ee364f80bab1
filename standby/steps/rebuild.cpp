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

// Where `db`'s files sit in the run's generation, by the generation's own list of databases.
std::string prefix_of(const StepContext& sc, const std::string& db) {
  return replicator::database_prefix(replicator::open_archive(sc.cfg()).manifest(backup_of(sc)).databases, db);
}


std::string generation_file(const StepContext& sc, const std::string& db, const char* name) {
  return read_file(verified_again(sc, prefix_of(sc, db) + name));
}

// `db`'s permission script in the generation: every role, and that database's grants.
sql::PermissionScript script_of(const StepContext& sc, const std::string& db) {
  return {generation_file(sc, db, replicator::kPermissionsFile)};
}

std::function<std::string(const std::string&)> target(bool staging) {
  return [staging](const std::string& db) { return staging ? sql::staging_name(db) : db; };
}

// "db: " before a database's line when the run has several.
std::string part_of(const StepContext& sc, const std::string& db) { return sc.dbs.size() > 1 ? db + ": " : ""; }

}  // namespace

fs::path verified_again(const StepContext& sc, const std::string& name) {
  const std::string id = backup_of(sc);
  auto archive = replicator::open_archive(sc.cfg());
  if (auto problems = archive.check(id, true, sc.ctx.cancel, name); !problems.empty())
    throw Error("backup " + id + " no longer verifies: " + problems.front(),
                "the archive changed since the verify step; recover from another backup (--backup)");
  return archive.path(id) / name;
}

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
                // a database to read them from exists. Roles are server-wide: each script holds every one.
                sc.engine(sc.to)->replay_roles(script_of(sc, sc.db), {});
                return "roles of backup " + backup_of(sc) + " replayed on " + sc.to;
              }};
}

Step restore(const StepContext& sc) {
  return Step{"restore",
              "restore backup " + backup_of(sc) + " into " +
                  (sc.dbs.size() > 1 ? "a staging copy of each of " + db_names(sc) : sql::staging_name(sc.db)) + " on " + sc.to,
              {{sc.to, sql::Duty::restore}},
              [sc] {
                std::vector<std::string> out;
                const fs::path gen = replicator::open_archive(sc.cfg()).path(backup_of(sc));
                for (const auto& db : sc.dbs) {
                  if (sc.dbs.size() > 1) out.push_back("-- database " + db + ":");
                  const std::string snapshot = (gen / (prefix_of(sc, db) + replicator::kSnapshotDir)).string();
                  for (auto& l : sc.engine(sc.to)->describe(sql::Duty::restore, {db, sc.to, snapshot, sc.epoch, 0}))
                    out.push_back(std::move(l));
                }
                return out;
              },
              [sc] {
                return each_db(sc, "restore", [&sc](const std::string& db) {
                  const fs::path snapshot = verified_again(sc, prefix_of(sc, db) + replicator::kSnapshotDir);
                  const std::string staging = sql::staging_name(db);
                  auto e = sc.engine(sc.to);
                  // A leftover staging copy of a crashed run is dropped first by the restore itself.
                  e->restore_to_staging(staging, snapshot, sc.cfg().replica.jobs, sc.ctx.cancel);
                  e->checkpoint();  // the copy is on disk before the journal says it is there
                  return "backup " + backup_of(sc) + " restored into " + staging;
                });
              }};
}

Step grants(const StepContext& sc, bool staging) {
  const auto into = target(staging);
  return Step{"grants",
              "replay the captured grants into " +
                  (sc.dbs.size() > 1 ? (staging ? "the staging copy of each of " : "each of ") + db_names(sc) : into(sc.db)),
              {{sc.to, sql::Duty::permissions}},
              [sc, into] { return described(sc, sc.to, sql::Duty::permissions, {sc.db, sc.to, "", sc.epoch, 0}, into); },
              [sc, into] {
                return each_db(sc, "grants", [&](const std::string& db) {
                  const auto script = script_of(sc, db);
                  auto e = sc.engine(sc.to);
                  e->replay_grants(script, into(db));
                  const int n = verify_roles(*e, into(db), script);
                  return part_of(sc, db) + "grants of backup " + backup_of(sc) + " replayed; " + std::to_string(n) +
                         " roles verified";
                });
              }};
}

Step backup_profile(const StepContext& sc, bool staging) {
  const auto into = target(staging);
  return Step{"profile",
              "re-apply the server profile captured with backup " + backup_of(sc) +
                  (sc.dbs.size() > 1 ? ", and each database's extensions (" + db_names(sc) + ")" : std::string()),
              {{sc.to, sql::Duty::profile}},
              [sc, into] { return described(sc, sc.to, sql::Duty::profile, {sc.db, sc.to, "", sc.epoch, 0}, into); },
              [sc, into] {
                return each_db(sc, "profile", [&](const std::string& db) {
                  const auto profile = nlohmann::json::parse(generation_file(sc, db, replicator::kProfileFile));
                  // Database settings follow the copy through the rename: they are kept by the database, not its name.
                  auto restart = sc.engine(sc.to)->apply_profile(into(db), profile);
                  std::string r = part_of(sc, db) + "profile of backup " + backup_of(sc) + " applied";
                  if (!restart.empty()) {
                    r += "; needs a restart:";
                    for (const auto& n : restart) r += " " + n;
                  }
                  return r;
                });
              }};
}

Step swap(const StepContext& sc) {
  const bool one = sc.dbs.size() <= 1;
  return Step{"swap",
              one ? "rename " + sql::staging_name(sc.db) + " to " + sc.db + " on " + sc.to + ": the site database is live"
                  : "rename the staging copy of each of " + db_names(sc) + " to its live name on " + sc.to,
              {{sc.to, sql::Duty::restore}},
              [sc] {
                std::vector<std::string> out;
                for (const auto& db : sc.dbs)
                  out.push_back("-- on " + sc.to + ": " + sql::staging_name(db) + " renamed to " + db +
                                " in one transaction (clients can connect from here on)");
                return out;
              },
              [sc] {
                return each_db(sc, "swap", [&sc](const std::string& db) {
                  const std::string staging = sql::staging_name(db);
                  auto e = sc.engine(sc.to);
                  // Resumed after a crash that followed the rename: the live copy is the one this run restored
                  // (the run refused to start on a server that already held any of the site's databases).
                  if (!e->database_exists(staging) && e->database_exists(db)) return db + " was already live";
                  e->swap_in(db, staging, sc.cfg().replica.swap_timeout);
                  return staging + " is live as " + db;
                });
              }};
}

Step writable(const StepContext& sc) {
  return Step{"writable",
              "lift the read-only default of " + db_names(sc) + " on " + sc.to,
              {{sc.to, sql::Duty::lift_read_only}},
              [sc] { return described(sc, sc.to, sql::Duty::lift_read_only, {sc.db, sc.to, "", sc.epoch, 0}); },
              [sc] {
                return each_db(sc, "writable", [&sc](const std::string& db) {
                  sc.engine(sc.to)->lift_read_only(db);
                  return db + " on " + sc.to + " accepts writes from new sessions";
                });
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
