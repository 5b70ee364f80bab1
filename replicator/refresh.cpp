#include "replicator/refresh.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <mutex>
#include <optional>
#include <semaphore>
#include <set>
#include <thread>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "replicator/archive.hpp"
#include "replicator/refresh_physical.hpp"
#include "sql/ident.hpp"

namespace sk::replicator {

namespace {
auto logger() { return log::get("replicator"); }

std::string withdrawn_key(const std::string& replica) { return "replica.withdrawn:" + replica; }
std::unique_ptr<ArchiveLock> replica_lock(const Config& cfg, const std::string& replica) {
  return lock_file(cfg.state_path.parent_path() / (".replica-" + replica + ".lock"), "replica " + replica);
}

// What a refresh reads of one database in the generation.
struct DatabaseCopy {
  std::string name;
  std::string prefix;  // database_prefix in the generation
  sql::PermissionScript script;
};

struct Shared {
  const JobContext& ctx;
  const Archive& archive;
  std::string id;
  Manifest manifest;
  std::vector<DatabaseCopy> databases;  // [site] databases, in order; the site database first
  std::shared_future<std::vector<std::string>> checksums;  // the snapshots (logical replicas)
  std::shared_future<std::vector<std::string>> physical_checksums;  // physical/ (physical replicas)
};

std::shared_future<std::vector<std::string>> nothing_to_check() {
  std::promise<std::vector<std::string>> p;
  p.set_value({});
  return p.get_future().share();
}

// The full checksum pass over the files under `prefixes`, on a thread of its own: problems found, or
// Cancelled.
std::shared_future<std::vector<std::string>> hash_in_background(const Archive& archive, const std::string& id,
                                                                const CancelToken* cancel,
                                                                std::vector<std::string> prefixes) {
  return std::async(std::launch::async, [&archive, id, cancel, prefixes = std::move(prefixes)] {
           // Lower priority: on a small machine the hashing must not slow the restores it overlaps
           // with (the swap waits for both anyway).
           ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
           try {
             std::vector<std::string> found;
             for (const auto& prefix : prefixes) {
               auto problems = archive.check(id, true, cancel, prefix);
               found.insert(found.end(), problems.begin(), problems.end());
             }
             return found;
           } catch (const Cancelled&) {
             throw;  // not a verdict on the backup; every swap waiting for it is cancelled
           } catch (const std::exception& e) {
             return std::vector<std::string>{e.what()};
           }
         }).share();
}

bool physical_replica(const Config& cfg, const std::string& replica) {
  return cfg.server(replica).refresh == "physical";
}

// The replica serves `id` in every database of the site: the state store says so for each
// (replica_generations) and each exists.
bool serves_all(const Shared& sh, sql::Engine& engine, const std::string& replica) {
  const auto gens = replica_generations(sh.ctx.cfg, sh.ctx.state, replica);
  for (const auto& d : sh.databases)
    if (gens.at(d.name) != sh.id || !engine.database_exists(d.name)) return false;
  return true;
}

// Generation ids order by time, then by counter as a number: "...Z-10" is newer than "...Z-2".
bool newer_id(const std::string& a, const std::string& b) {
  auto key = [](const std::string& s) {
    auto dash = s.find('-');
    return std::make_pair(s.substr(0, dash), dash == std::string::npos ? 1 : std::atoi(s.c_str() + dash + 1));
  };
  return key(b) < key(a);
}

ReplicaOutcome refresh_one(const Shared& sh, const std::string& replica, bool force) {
  const auto& ctx = sh.ctx;
  const auto& cfg = ctx.cfg;
  ReplicaOutcome out{replica, "failed", "", 0};
  const auto t0 = std::chrono::steady_clock::now();
  auto serving = ctx.state.serving(replica);
  if (serving && newer_id(serving->backup_id, sh.id)) {
    out.outcome = "skipped";
    out.message = "serves newer backup " + serving->backup_id + "; never going back to " + sh.id;
    return out;
  }
  std::unique_ptr<sql::Engine> engine;
  std::optional<sql::RoleUndo> undo;
  std::vector<sql::SwapPair> swaps;  // one per database: each staging copy is dropped if anything fails
  for (const auto& d : sh.databases) swaps.push_back({d.name, sql::staging_name(d.name)});
  // Held to the swap: recover --from-replica waits for it before it writes on this server.
  auto held = replica_lock(cfg, replica);
  if (replica_withdrawn(ctx.state, replica)) {
    out.outcome = "skipped";
    out.message = "withdrawn from the rotation (recover --from-replica made it the active): never refreshed again";
    return out;
  }
  const bool physical = physical_replica(cfg, replica);
  try {
    engine = ctx.engines(cfg.server(replica));
    if (physical) {
      // Before anything asks the replica a question: a refresh killed mid-swap may have left it down.
      if (auto done = recover_physical_leftovers(*engine, cfg.server(replica)); !done.empty())
        logger()->warn("{}", done);
      if (!fs::exists(sh.archive.path(sh.id) / kPhysicalDir / "backup_manifest")) {
        out.message = "backup " + sh.id + " holds no physical base backup, which " + replica +
                    " needs (refresh = \"physical\"); it keeps serving what it served: set [archive] kinds = "
                    "[\"logical\", \"physical\"] and take a backup";
        out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return out;
      }
    }
    if (serving && serving->backup_id == sh.id && !force && serves_all(sh, *engine, replica)) {
      out.outcome = "current";
      out.message = "already serves " + sh.id;
      return out;
    }
    const bool several = sh.databases.size() > 1;
    if (physical) {
      // The copy holds the active's roles, passwords and grants as they are: nothing is replayed.
      PhysicalRefresh what;
      what.backup = sh.archive.path(sh.id) / kPhysicalDir;
      what.databases = cfg.site.databases;
      what.validate = cfg.replica.validate;
      what.before_swap = [&] {
        auto problems = sh.physical_checksums.get();
        if (!problems.empty()) throw Error("backup " + sh.id + " failed verification: " + problems.front());
      };
      what.swapped = [&] {
        ctx.state.set_serving({replica, sh.id, sh.manifest.created_at, iso_utc(ctx.clock->now())},
                              cfg.site.databases);
      };
      what.step = [&](const std::string& s) {
        if (ctx.cancel) ctx.cancel->check();
        logger()->info("refresh {} on {} (physical): {}", sh.id, replica, s);
      };
      const auto r = refresh_physical(ctx, cfg.server(replica), *engine, what);
      char closed[32];
      std::snprintf(closed, sizeof closed, "%.2f", r.port_closed);
      out.outcome = "refreshed";
      out.message = "now serves " + sh.id + " (physical copy, " + std::to_string(r.passed) +
                    " checks passed; port closed for " + closed + " s)";
      out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      return out;
    }
    auto step = [&](const std::string& what, const std::string& db) {
      if (ctx.cancel) ctx.cancel->check();
      if (several)
        logger()->info("refresh {} on {}: {}: {}", sh.id, replica, db, what);
      else
        logger()->info("refresh {} on {}: {}", sh.id, replica, what);
    };
    if (several && !engine->supports(sql::Duty::swap_together))
      throw Error(engine->dialect() + " cannot swap several databases in at once, and one at a time would leave " +
                      replica + " serving a mix of generations; nothing was changed",
                  "list one database in [site] databases for this engine");
    // Roles are server-wide: every database's script carries the same ones, captured with it.
    step("replaying roles from the permission script (replica policy)", sh.databases.front().name);
    undo = engine->replay_roles(sh.databases.front().script, {true, cfg.replica.readers});
    std::size_t passed = 0;
    for (std::size_t i = 0; i < sh.databases.size(); ++i) {
      const auto& d = sh.databases[i];
      const std::string& staging = swaps[i].staging;
      step("restoring into a staging copy", d.name);
      engine->restore_to_staging(staging, sh.archive.path(sh.id) / (d.prefix + kSnapshotDir), cfg.replica.jobs,
                                 ctx.cancel);
      step("replaying grants", d.name);
      engine->replay_grants(d.script, staging);
      step("making the staging copy read-only for readers", d.name);
      engine->make_read_only(staging, cfg.replica.readers);
      step("validating (smoke queries, refused writes)", d.name);
      // [replica] validate is written against the site database; every database gets the refused writes.
      const auto no_queries = std::vector<std::string>{};
      passed += engine->validate(staging, i == 0 ? cfg.replica.validate : no_queries,
                                 cfg.replica.readers).passed.size();
    }
    step("waiting for the snapshot checksums", sh.databases.front().name);
    auto problems = sh.checksums.get();
    if (!problems.empty()) throw Error("backup " + sh.id + " failed verification: " + problems.front());
    if (several)
      logger()->info("refresh {} on {}: swapping the {} staging copies in at once", sh.id, replica, swaps.size());
    else
      step("swapping the staging copy in", sh.databases.front().name);
    engine->swap_in_all(swaps, cfg.replica.swap_timeout);  // one pair: swap_in
    ctx.state.set_serving({replica, sh.id, sh.manifest.created_at, iso_utc(ctx.clock->now())}, cfg.site.databases);
    out.outcome = "refreshed";
    out.message = "now serves " + sh.id + (several ? " in all " + std::to_string(swaps.size()) + " databases" : "") +
                  " (" + std::to_string(passed) + " checks passed)";
  } catch (const Cancelled&) {
    out.outcome = "cancelled";
    out.message = "stopped before the swap; the live copy is untouched";
  } catch (const std::exception& e) {
    out.message = e.what();
  }
  if (out.outcome != "refreshed" && engine && !physical) {
    for (const auto& sw : swaps) {
      try {
        engine->drop_database(sw.staging);
      } catch (const std::exception& e) {
        logger()->warn("refresh on {}: could not drop staging copy {}: {}", replica, sw.staging, e.what());
      }
    }
    // Roles are server-wide: the live copy keeps the roles it was restored with.
    if (undo) {
      try {
        engine->undo_roles(*undo);
      } catch (const std::exception& e) {
        out.message += "; and its role changes could not all be undone: " + std::string(e.what());
      }
    }
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}
}  // namespace

void withdraw_replica(const JobContext& ctx, const std::string& replica) {
  ctx.state.put(withdrawn_key(replica), iso_utc(ctx.clock->now()));
  auto held = replica_lock(ctx.cfg, replica);  // a refresh that was running has swapped or given up
}

bool replica_withdrawn(StateStore& state, const std::string& replica) {
  return state.get(withdrawn_key(replica)).has_value();
}

std::map<std::string, std::string> replica_generations(const Config& cfg, StateStore& state,
                                                      const std::string& replica) {
  auto recorded = state.serving_databases(replica);
  if (recorded.empty())
    if (auto s = state.serving(replica)) recorded[cfg.site.database] = s->backup_id;
  std::map<std::string, std::string> out;
  for (const auto& db : cfg.site.databases) out[db] = recorded.count(db) ? recorded[db] : "";
  return out;
}

std::string mixed_generations(const Config& cfg, StateStore& state, const std::string& replica) {
  return mixed_generations(cfg, replica, replica_generations(cfg, state, replica));
}

std::string mixed_generations(const Config& cfg, const std::string& replica,
                              const std::map<std::string, std::string>& gens) {
  std::set<std::string> distinct;
  for (const auto& [db, id] : gens) distinct.insert(id);
  if (distinct.size() <= 1) return {};
  std::vector<std::string> each;
  for (const auto& db : cfg.site.databases) {
    const auto& id = gens.at(db);
    each.push_back(db + " " + (id.empty() ? "never restored" : id));
  }
  return replica + " serves a mix of generations: " + join_list(each);
}

void cleanup_replica(const JobContext& ctx, const std::string& replica) {
  auto engine = ctx.engines(ctx.cfg.server(replica));
  if (physical_replica(ctx.cfg, replica)) {
    if (auto done = recover_physical_leftovers(*engine, ctx.cfg.server(replica)); !done.empty())
      logger()->warn("{}", done);
    return;
  }
  for (const auto& db : ctx.cfg.site.databases) {
    engine->drop_database(sql::staging_name(db));
    engine->drop_database(sql::retired_name(db));
  }
}

RefreshResult run_refresh(const JobContext& ctx, const std::string& only, bool force) {
  const auto& cfg = ctx.cfg;
  std::vector<std::string> replicas = cfg.roles.replicas;
  if (!only.empty()) {
    if (std::find(replicas.begin(), replicas.end(), only) == replicas.end())
      throw ConfigError("unknown replica " + only, "replicas are listed in [roles] replicas");
    replicas = {only};
  }
  if (replicas.empty()) throw ConfigError("no replicas configured", "list them in [roles] replicas");

  Archive archive = open_archive(cfg);
  auto newest = archive.newest_complete();
  if (!newest) throw SafetyError("no complete backup in the archive", "run 'sitekeeper backup' first");
  RefreshResult res;
  res.id = *newest;
  auto refuse = [&](const std::string& why) {
    const std::string msg = "refresh refused: backup " + res.id + " " + why + "; every replica left as it was";
    ctx.state.add_alert("refresh", msg);
    auto rec = ctx.state.generation(res.id).value_or(GenerationRecord{res.id, "", "", "", "", 0, ""});
    rec.status = "failed";
    rec.message = why;
    ctx.state.put_generation(rec);
    return Error(msg, "run 'sitekeeper verify " + res.id + "' for details; a new backup is needed");
  };
  if (auto g = ctx.state.generation(res.id); g && g->status == "failed")
    throw refuse("failed verification earlier (" + g->message + ")");

  Shared sh{ctx, archive, res.id, {}, {}, {}, {}};
  try {
    sh.manifest = archive.manifest(res.id);
  } catch (const Error& e) {
    throw refuse(std::string("failed verification: ") + e.what());
  }
  // A backup taken before a database joined [site] databases cannot bring the replicas to one
  // generation in every database: nothing is wrong with it, but it is not enough.
  std::vector<std::string> missing;
  for (const auto& db : cfg.site.databases)
    if (!sh.manifest.holds(db)) missing.push_back(db);
  if (!missing.empty()) {
    const std::string msg = "refresh refused: backup " + res.id + " holds no copy of " + join_list(missing) +
                            ", which [site] databases lists; every replica left as it was";
    ctx.state.add_alert("refresh", msg);
    throw SafetyError(msg, "run 'sitekeeper backup' to take a backup of every database of the site");
  }
  // Cheap checks and the small files first, before any replica is touched.
  for (const auto& db : cfg.site.databases) {
    const std::string prefix = database_prefix(sh.manifest.databases, db);
    for (const char* small : {kPermissionsFile, kProfileFile}) {
      auto problems = archive.check(res.id, true, ctx.cancel, prefix + small);
      if (!problems.empty()) throw refuse("failed verification: " + problems.front());
    }
    sh.databases.push_back({db, prefix, {read_file(archive.path(res.id) / (prefix + kPermissionsFile))}});
  }
  try {
    auto engine = ctx.engines(cfg.server(replicas.front()));
    for (const auto& d : sh.databases) engine->check_snapshot(archive.path(res.id) / (d.prefix + kSnapshotDir));
  } catch (const Error& e) {
    throw refuse(std::string("is unreadable: ") + e.what());
  }
  // The full checksum pass overlaps the restores; every swap waits for it. Each kind is hashed only when
  // a replica restores it.
  bool any_logical = false, any_physical = false;
  for (const auto& r : replicas) (physical_replica(cfg, r) ? any_physical : any_logical) = true;
  const bool has_physical = fs::exists(archive.path(res.id) / kPhysicalDir / "backup_manifest");
  std::vector<std::string> snapshots;
  for (const auto& d : sh.databases) snapshots.push_back(d.prefix + kSnapshotDir + "/");
  sh.checksums = any_logical ? hash_in_background(archive, res.id, ctx.cancel, snapshots) : nothing_to_check();
  sh.physical_checksums = any_physical && has_physical
                              ? hash_in_background(archive, res.id, ctx.cancel, {std::string(kPhysicalDir) + "/"})
                              : nothing_to_check();

  std::counting_semaphore<64> slots(cfg.replica.parallel);
  std::mutex mu;
  std::vector<std::thread> threads;
  for (const auto& replica : replicas) {
    threads.emplace_back([&, replica] {
      slots.acquire();
      auto o = refresh_one(sh, replica, force);
      slots.release();
      std::lock_guard lock(mu);
      res.replicas.push_back(std::move(o));
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::string> problems;
  try {
    problems = sh.checksums.get();
    const auto more = sh.physical_checksums.get();
    problems.insert(problems.end(), more.begin(), more.end());
  } catch (const Cancelled&) {
    // Cancelled mid-pass: no replica swapped (each waits for this pass) and each reports "cancelled".
  }
  if (!problems.empty()) throw refuse("failed verification: " + problems.front());

  // A stop request is not a failure: report it as cancelled (no alert), the live copies are untouched.
  if (ctx.cancel && ctx.cancel->cancelled()) throw Cancelled();
  std::sort(res.replicas.begin(), res.replicas.end(),
            [](const auto& a, const auto& b) { return a.replica < b.replica; });
  int ok = 0;
  std::string detail;
  for (const auto& o : res.replicas) {
    bool good = o.outcome == "refreshed" || o.outcome == "current" || o.outcome == "skipped";
    ok += good;
    if (!good) ctx.state.add_alert("refresh", "replica " + o.replica + ": " + o.message);
    detail += (detail.empty() ? "" : "; ") + o.replica + " " + o.outcome;
  }
  res.ok = ok == static_cast<int>(res.replicas.size());
  res.summary = "refresh of backup " + res.id + ": " + std::to_string(ok) + "/" +
                std::to_string(res.replicas.size()) + " replicas ok (" + detail + ")";
  return res;
}

}  // namespace sk::replicator
