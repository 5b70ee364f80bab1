#include "replicator/verify.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "replicator/archive.hpp"
#include "sql/ident.hpp"

namespace sk::replicator {

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
  const auto& server_name = !trial_server.empty()          ? trial_server
                            : !ctx.cfg.roles.replicas.empty() ? ctx.cfg.roles.replicas.front()
                                                              : ctx.cfg.roles.active;
  std::unique_ptr<sql::Engine> engine;
  if (r.problems.empty()) {
    engine = ctx.engines(ctx.cfg.server(server_name));
    try {
      engine->check_snapshot(archive.path(r.id) / kSnapshotDir);
    } catch (const Error& e) {
      r.problems.push_back(std::string(kSnapshotDir) + ": " + e.what());
    }
  }
  if (r.problems.empty() && deep) {
    const std::string trial = ctx.cfg.site.database + "__sk_verify";
    try {
      // Owners and grantees in the snapshot must exist before pg_restore can set them.
      engine->replay_roles({read_file(archive.path(r.id) / kPermissionsFile)});
      engine->restore_to_staging(trial, archive.path(r.id) / kSnapshotDir, ctx.cfg.replica.jobs, ctx.cancel);
      engine->integrity_check(trial, ctx.cancel);
    } catch (const Error& e) {
      r.problems.push_back(std::string("trial restore on ") + server_name + ": " + e.what());
    }
    try {
      engine->drop_database(trial);
    } catch (const Error& e) {
      log::get("replicator")->warn("could not drop trial database {}: {}", trial, e.what());
    }
  }
  r.ok = r.problems.empty();
  auto rec = ctx.state.generation(r.id).value_or(GenerationRecord{r.id, "", "", "", "", 0, ""});
  const std::string now = iso_utc(ctx.clock->now());
  if (r.ok) {
    rec.status = "verified";
    rec.verified_at = now;
    if (deep) rec.deep_verified_at = now;
    rec.message.clear();
  } else {
    rec.status = "failed";
    rec.message = r.problems.front();
  }
  ctx.state.put_generation(rec);
  r.summary = "generation " + r.id + (r.ok ? (deep ? " passed deep verification (trial restore + integrity check on " + server_name + ")"
                                                   : " verified (manifest checksums + table of contents)")
                                           : " FAILED verification: " + r.problems.front());
  return r;
}

}  // namespace sk::replicator
