#include "replicator/backup.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "core/units.hpp"
#include "replicator/archive.hpp"
#include "replicator/archive_secrets.hpp"
#include "replicator/site_files.hpp"

namespace sk::replicator {

namespace {
auto logger() { return log::get("replicator"); }

// Writes permissions.sql and profile.json of `db` on the active server into `dir`.
void write_capture(sql::Engine& engine, const std::string& db, const fs::path& dir) {
  auto script = engine.capture_permissions(db);
  write_file_durable(dir / kPermissionsFile, script.text);
  write_file_durable(dir / kProfileFile, engine.capture_profile(db).dump(2) + "\n");
}

// The capture of every database of the site, each in its own place of the generation at `root`: the
// roles are server-wide (the same in each script), the grants and extensions are each database's own.
void write_captures(sql::Engine& engine, const Config& cfg, const fs::path& root, const CancelToken* cancel) {
  for (const auto& db : cfg.site.databases) {
    if (cancel) cancel->check();
    const fs::path dir = root / database_prefix(cfg.site.databases, db);
    fs::create_directories(dir);
    write_capture(engine, db, dir);
  }
}

Manifest meta_for(const JobContext& ctx, const std::string& kind, Clock::time_point started) {
  const auto& active = ctx.cfg.server(ctx.cfg.roles.active);
  Manifest m;
  m.kind = kind;
  m.site = ctx.cfg.site.code;
  m.database = ctx.cfg.site.database;
  m.databases = ctx.cfg.site.databases;
  m.server = active.name;
  m.engine = active.engine;
  m.created_at = iso_utc(started);
  return m;
}

// Removes a generation that did not finish, so it never lingers half-written.
void discard(const Archive& archive, const std::string& id) {
  try {
    archive.remove(id);
  } catch (const std::exception& e) {
    logger()->warn("could not remove unfinished generation {}: {}", id, e.what());
  }
}
}  // namespace

BackupResult run_capture(const JobContext& ctx) {
  Archive archive = open_archive(ctx.cfg, /*captures=*/true, /*for_writing=*/true);
  auto lock = archive.lock();
  const auto started = ctx.clock->now();
  const std::string id = archive.create(started);
  try {
    auto engine = ctx.engines(ctx.cfg.server(ctx.cfg.roles.active));
    write_captures(*engine, ctx.cfg, archive.path(id), ctx.cancel);
    archive.seal(id, meta_for(ctx, "capture", started), ctx.cancel);
  } catch (...) {
    discard(archive, id);
    throw;
  }
  // Captures are small; keep as many as backups, by the same rule.
  auto ids = archive.list();
  std::vector<bool> complete;
  for (const auto& i : ids) complete.push_back(archive.complete(i));
  for (const auto& victim : retention_victims(ids, complete, ctx.cfg.archive.keep, std::nullopt))
    archive.remove(victim);
  BackupResult r{id, archive.path(id), 0, {}, ""};
  r.summary = "captured permissions and server profile of " + ctx.cfg.roles.active + " (" + join_list(ctx.cfg.site.databases) +
              ") as " + id;
  return r;
}

std::vector<std::string> apply_retention(const JobContext& ctx) {
  Archive archive = open_archive(ctx.cfg);
  auto lock = archive.lock();
  auto ids = archive.list();
  std::vector<bool> complete;
  for (const auto& i : ids) complete.push_back(archive.complete(i));
  std::optional<std::string> newest_verified;
  for (const auto& g : ctx.state.generations())
    if (g.status == "verified" && archive.complete(g.id)) {
      newest_verified = g.id;
      break;
    }
  auto victims = retention_victims(ids, complete, ctx.cfg.archive.keep, newest_verified);
  for (const auto& v : victims) {
    archive.remove(v);
    if (auto g = ctx.state.generation(v)) {
      g->status = "deleted";
      ctx.state.put_generation(*g);
    }
    logger()->info("retention removed generation {}", v);
  }
  return victims;
}

std::size_t trim_wal(const JobContext& ctx) {
  const fs::path dir = wal_archive_dir(ctx.cfg);
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(dir, ec))) return 0;
  Archive archive = open_archive(ctx.cfg);
  auto lock = archive.lock();
  // The oldest kept base backup bounds what a recovery can still start from; WAL before it serves none.
  std::optional<fs::path> oldest;
  for (const auto& id : archive.list())
    if (archive.complete(id) && fs::exists(archive.path(id) / kPhysicalDir / "backup_manifest", ec)) {
      oldest = archive.path(id) / kPhysicalDir;
      break;
    }
  if (!oldest) return 0;  // no base backup kept: nothing says which WAL is needed, so all of it stays
  auto engine = ctx.engines(ctx.cfg.server(ctx.cfg.roles.active));
  std::size_t removed = 0;
  for (const auto& f : engine->obsolete_wal(dir, *oldest)) {
    // Only plain files directly in the WAL folder: retention never deletes outside the archive.
    if (f.parent_path() != dir || !fs::is_regular_file(fs::symlink_status(f, ec))) continue;
    if (fs::remove(f, ec)) ++removed;
    else if (ec) logger()->warn("retention could not remove WAL {}: {}", show_path(f), ec.message());
  }
  if (removed) logger()->info("retention removed {} WAL segment(s) older than the base backup {}", removed,
                              oldest->parent_path().filename().string());
  return removed;
}

BackupResult run_backup(const JobContext& ctx) {
  const auto& cfg = ctx.cfg;
  Archive archive = open_archive(cfg, /*captures=*/false, /*for_writing=*/true);
  BackupResult r;
  // [archive] kinds always holds "logical" (config.cpp); "physical" adds the base backup.
  const bool physical =
      std::find(cfg.archive.kinds.begin(), cfg.archive.kinds.end(), "physical") != cfg.archive.kinds.end();
  std::size_t secrets = 0;
  SiteFilesCopy site;
  {
    auto lock = archive.lock();
    const auto started = ctx.clock->now();
    r.id = archive.create(started);
    r.path = archive.path(r.id);
    GenerationRecord rec{r.id, iso_utc(started), "running", "", "", 0, ""};
    ctx.state.put_generation(rec);
    try {
      auto engine = ctx.engines(cfg.server(cfg.roles.active));
      // One snapshot per database, each with the capture of its grants and extensions beside it.
      for (const auto& db : cfg.site.databases) {
        if (ctx.cancel) ctx.cancel->check();
        const fs::path snapshot = r.path / database_prefix(cfg.site.databases, db) / kSnapshotDir;
        fs::create_directories(snapshot);
        logger()->info("backup {}: dumping {} from {} with {} jobs", r.id, db, cfg.roles.active, cfg.replica.jobs);
        engine->backup(db, snapshot, cfg.replica.jobs, ctx.cancel);
      }
      write_captures(*engine, cfg, r.path, ctx.cancel);
      if (physical) {
        if (ctx.cancel) ctx.cancel->check();
        logger()->info("backup {}: physical base backup of {}", r.id, cfg.roles.active);
        fs::create_directories(r.path / kPhysicalDir);
        engine->base_backup(r.path / kPhysicalDir, ctx.cancel);
      }
      secrets = write_secrets(cfg, r.path);
      site = copy_site_files(cfg.archive.files, r.path, ctx.cancel);  // before seal: under the manifest
      for (const auto& f : site.retried)
        logger()->warn("backup {}: site file {} changed while it was copied; copied again", r.id, f);
      Manifest m = archive.seal(r.id, meta_for(ctx, "backup", started), ctx.cancel);
      for (const auto& f : m.files) r.bytes += f.size;
      // Read everything back before calling it verified: a backup is worth only what restores.
      auto problems = archive.check(r.id, true, ctx.cancel);
      if (!problems.empty()) throw Error("backup " + r.id + " failed verification: " + problems.front());
      for (const auto& db : cfg.site.databases)
        engine->check_snapshot(r.path / database_prefix(cfg.site.databases, db) / kSnapshotDir);
      if (physical) verify_physical(*engine, cfg, r.id, r.path / kPhysicalDir, ctx.cancel);
      rec.status = "verified";
      rec.verified_at = iso_utc(ctx.clock->now());
      rec.size_bytes = static_cast<std::int64_t>(r.bytes);
      ctx.state.put_generation(rec);
    } catch (const std::exception& e) {
      rec.status = "failed";
      rec.message = e.what();
      ctx.state.put_generation(rec);
      discard(archive, r.id);
      throw;
    }
  }
  r.summary = "backup " + r.id + " of " + join_list(cfg.site.databases) + (physical ? " (logical and physical)" : "") +
              " verified (" + format_size(r.bytes) + ")";
  if (secrets > 0) r.summary += "; " + std::to_string(secrets) + " secret file(s) encrypted";
  if (!site.entries.empty()) r.summary += "; " + site_files_summary(site);
  if (!cfg.archive.after_backup.empty()) {
    auto argv = expand_argv(cfg.archive.after_backup, {{"backup", r.path.string()}, {"id", r.id}});
    try {
      run_checked(*ctx.runner, argv, ProcessOptions{{}, {}, ctx.cancel, {}});
      r.summary += "; after_backup ok";
    } catch (const Error& e) {
      ctx.state.add_alert("backup", std::string("after_backup failed: ") + e.what());
      logger()->error("backup {}: after_backup failed: {}", r.id, e.what());
      r.summary += "; after_backup FAILED: " + std::string(e.what());
      r.hook_failed = true;
    }
  }
  r.deleted = apply_retention(ctx);
  if (!r.deleted.empty()) r.summary += "; retention removed " + std::to_string(r.deleted.size());
  try {
    if (const auto n = trim_wal(ctx)) r.summary += "; " + std::to_string(n) + " WAL segment(s) no base backup needs removed";
  } catch (const Error& e) {  // the backup stands; the WAL stays until a later retention can read it
    logger()->warn("retention kept the WAL: {}", e.what());
    r.summary += "; WAL kept: " + std::string(e.what());
  }
  return r;
}

}  // namespace sk::replicator
