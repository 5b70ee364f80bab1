#include "replicator/verify.hpp"

#include <stdlib.h>

#include <algorithm>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "replicator/archive.hpp"
#include "replicator/archive_secrets.hpp"
#include "sql/ident.hpp"

namespace sk::replicator {

namespace {
// A private folder for a scratch server: new, under $TMPDIR when that is an absolute path short enough
// for the server's socket path (107 bytes with ".s.PGSQL.<port>"), else under /tmp.
fs::path scratch_dir() {
  std::string base = "/tmp";
  if (const char* t = ::getenv("TMPDIR"); t && t[0] == '/' && std::string(t).size() <= 64) base = t;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  std::string tmpl = base + "/sitekeeper-trial-XXXXXX";
  if (!::mkdtemp(tmpl.data()))
    throw Error("cannot make a folder for the scratch server in " + base, "check that " + base + " is writable");
  return tmpl;
}

std::string listed(const std::vector<std::string>& dbs) { return dbs.empty() ? "none" : join_list(dbs); }
}  // namespace

VerifyResult run_verify(const JobContext& ctx, const std::string& wanted, bool deep, const std::string& trial_server) {
  Archive archive = open_archive(ctx.cfg);
  auto ids = archive.list();
  if (ids.empty()) throw Error("the archive is empty", "run 'sitekeeper backup' first");
  VerifyResult r;
  r.id = wanted.empty() ? ids.back() : wanted;
  archive.path(r.id);  // rejects a malformed id
  if (std::find(ids.begin(), ids.end(), r.id) == ids.end())
    throw Error("no generation " + r.id + " in the archive", "see 'sitekeeper status' for the generations");

  r.problems = archive.check(r.id, true, ctx.cancel);
  // Where each database sits comes from the generation's own list; what the site needs, from the config.
  std::vector<std::string> held;
  try {
    held = archive.manifest(r.id).databases;
  } catch (const Error& e) {
    if (r.problems.empty()) r.problems.push_back(e.what());
  }
  // A database the site gained after this backup is not a flaw of the generation: it is reported, but
  // the generation keeps its status and its own databases are still checked.
  std::vector<std::string> lacking;
  for (const auto& db : ctx.cfg.site.databases)
    if (!held.empty() && std::find(held.begin(), held.end(), db) == held.end())
      lacking.push_back("database " + db + ": not in this generation, which holds " + listed(held) +
                           " ([site] databases lists it: the backup is older than that list; run 'sitekeeper "
                           "backup' for one that holds it)");
  // Reading the table of contents runs the restore tool here; no server is touched.
  auto reader = ctx.engines(ctx.cfg.server(ctx.cfg.roles.active));
  const fs::path root = archive.path(r.id);
  if (r.problems.empty()) {
    for (const auto& db : held) {
      const std::string snapshot = replicator::database_prefix(held, db) + kSnapshotDir;
      try {
        reader->check_snapshot(root / snapshot);
      } catch (const Error& e) {
        r.problems.push_back(snapshot + " (" + db + "): " + e.what());
      }
    }
  }
  // A base backup is checked against its own manifest by the engine's tool (pg_verifybackup).
  if (r.problems.empty() && fs::exists(root / kPhysicalDir / "backup_manifest")) {
    try {
      verify_physical(*reader, ctx.cfg, r.id, root / kPhysicalDir, ctx.cancel);
      r.physical = true;
    } catch (const Cancelled&) {
      throw;
    } catch (const Error& e) {
      r.problems.push_back(std::string(kPhysicalDir) + ": " + e.what());
    }
  }
  std::string where;
  // Key material is part of what a recovery needs: deep verification proves it decrypts, before the trial.
  if (r.problems.empty() && deep) r.secrets = check_secrets(ctx.cfg, root, r.problems);
  if (r.problems.empty() && deep) {
    std::unique_ptr<sql::ScratchServer> scratch;
    std::unique_ptr<sql::Engine> engine;
    const std::string named = !trial_server.empty() ? trial_server : ctx.cfg.roles.trial;
    if (!named.empty()) {
      const auto& roles = ctx.cfg.roles;
      const bool serving = named == roles.active || named == roles.standby ||
                           std::find(roles.replicas.begin(), roles.replicas.end(), named) != roles.replicas.end();
      if (serving)
        throw SafetyError("refusing a trial restore on " + named + ": it serves the site",
                          "name a server in no role, for example [roles] trial, or leave --server out to use a "
                          "scratch server on this machine");
      engine = ctx.engines(ctx.cfg.server(named));
      where = named;
    } else {
      const fs::path dir = scratch_dir();
      try {
        scratch = reader->start_scratch(dir);
      } catch (const Error& e) {
        throw Error(std::string("no server for the trial restore: ") + e.what(),
                    "name a server that serves nothing in [roles] trial; a trial never runs on a serving server");
      }
      engine = ctx.engines(scratch->server());
      where = "a scratch server on this machine";
    }
    std::vector<std::string> trials;
    try {
      // Owners and grantees in the snapshots must exist before pg_restore can set them. Roles are
      // server-wide: the first database's script creates every one.
      engine->replay_roles({read_file(root / kPermissionsFile)}, {true, ctx.cfg.replica.readers});
      for (const auto& db : held) {
        const std::string trial = db + "__sk_verify";
        trials.push_back(trial);
        try {
          engine->restore_to_staging(trial, root / replicator::database_prefix(held, db) / kSnapshotDir,
                                     ctx.cfg.replica.jobs, ctx.cancel);
          engine->integrity_check(trial, ctx.cancel);
        } catch (const Error& e) {
          throw Error(db + ": " + e.what());
        }
      }
    } catch (const Error& e) {
      r.problems.push_back("trial restore on " + where + ": " + e.what());
    }
    if (!scratch) {
      for (const auto& trial : trials) {
        try {
          engine->drop_database(trial);
        } catch (const Error& e) {
          log::get("replicator")->warn("could not drop trial database {}: {}", trial, e.what());
        }
      }
    }
  }
  const bool sound = r.problems.empty();
  r.problems.insert(r.problems.end(), lacking.begin(), lacking.end());
  r.ok = r.problems.empty();
  auto rec = ctx.state.generation(r.id).value_or(GenerationRecord{r.id, "", "", "", "", 0, ""});
  const std::string now = iso_utc(ctx.clock->now());
  if (sound) {
    rec.status = "verified";
    rec.verified_at = now;
    if (deep) rec.deep_verified_at = now;
    rec.message.clear();
  } else {
    rec.status = "failed";
    rec.message = r.problems.front();
  }
  ctx.state.put_generation(rec);
  r.summary = "generation " + r.id + (r.ok ? (deep ? " passed deep verification (trial restore + integrity check of " + listed(held) + " on " + where + ")"
                                                   : " verified (manifest checksums + table of contents)")
                                   : sound ? " is intact but not enough for the site: " + lacking.front()
                                           : " FAILED verification: " + r.problems.front());
  if (r.ok && !r.secrets.empty()) r.summary += "; " + r.secrets;
  if (r.ok && r.physical) r.summary += "; physical base backup verified (pg_verifybackup)";
  return r;
}

}  // namespace sk::replicator
