// recover --server NAME: the runbook composed from the shared steps and the rebuild steps.
#include "standby/recover.hpp"

#include <algorithm>
#include <regex>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/units.hpp"
#include "replicator/archive.hpp"
#include "replicator/refresh.hpp"
#include "sql/ident.hpp"
#include "standby/site_state.hpp"
#include "standby/steps/steps.hpp"

namespace sk::standby {

namespace {

auto logger() { return log::get("standby"); }
using Ctx = replicator::JobContext;
using replicator::Archive;

constexpr const char* kKind = "recover";

// The databases a run from generation `m` restores: every one it holds, the site database first.
// SafetyError when it lacks one that [site] databases lists: the rebuilt site would miss it.
// `replica` names the replica that serves `m` (--from-replica), "" for a restore.
std::vector<std::string> run_databases(const Config& cfg, const replicator::Manifest& m, const std::string& replica) {
  for (const auto& db : cfg.site.databases)
    if (!m.holds(db))
      throw SafetyError("backup " + m.id + (replica.empty() ? "" : ", which " + replica + " serves,") +
                            " does not hold database " + db + ", which [site] databases lists; recover would leave it out",
                        replica.empty() ? "name a backup taken since " + db + " was added (--backup ID; see 'sitekeeper "
                                                                              "status'), or take one with 'sitekeeper backup'"
                                        : "refresh " + replica + " first, or recover onto a new server with --server");
  std::vector<std::string> dbs = {cfg.site.database};
  for (const auto& db : m.databases)
    if (db != cfg.site.database) dbs.push_back(db);
  return dbs;
}

// The newest complete generation the state store records as verified; else the newest complete one
// (the verify step proves it deeply before anything is changed).
std::string choose_backup(const Ctx& ctx, const std::string& wanted) {
  auto archive = replicator::open_archive(ctx.cfg);
  if (!wanted.empty()) {
    archive.path(wanted);  // rejects a malformed id
    if (!archive.complete(wanted))
      throw SafetyError("backup " + wanted + " is not a complete backup in the archive",
                        "see 'sitekeeper status' for the backups; leave --backup out for the newest verified");
    return wanted;
  }
  auto ids = archive.list();
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    auto rec = ctx.state.generation(*it);
    if (rec && rec->status == "verified" && archive.complete(*it)) return *it;
  }
  if (auto newest = archive.newest_complete()) return *newest;
  throw SafetyError("the archive holds no complete backup to recover from",
                    "a site recovery needs a backup: see 'sitekeeper status' and 'sitekeeper verify'");
}

// Before a new run changes anything: the target must be a primary in no serving role, without any of
// the databases the run restores.
void preflight(const Ctx& ctx, const std::string& to, const std::vector<std::string>& dbs) {
  const auto& cfg = ctx.cfg;
  cfg.server(to);  // unknown server: sk::Error
  SiteState st(ctx.state);
  if (to == st.standby(cfg))
    throw SafetyError(to + " is the standby", "promote it with 'sitekeeper failover --plan'; recover rebuilds a site on a new server");
  if (std::find(cfg.roles.replicas.begin(), cfg.roles.replicas.end(), to) != cfg.roles.replicas.end())
    throw SafetyError(to + " is a help-desk replica: recover never restores over a serving server",
                      "use 'sitekeeper recover --from-replica " + to + "' to make its copy the active, or name a server in no role");
  if (to == cfg.roles.trial)
    throw SafetyError(to + " is [roles] trial: the deep verification would restore its trial copy there",
                      "name another server, or another [roles] trial");
  auto e = ctx.engines(cfg.server(to));
  sql::ProbeInfo p;
  try {
    p = e->probe(std::chrono::seconds(10));
  } catch (const Error& err) {
    throw SafetyError(std::string("recover needs ") + to + " running and empty: " + err.what(),
                      "start the new server (an empty cluster), then run the same command again");
  }
  if (p.in_recovery)
    throw SafetyError(to + " is in recovery (a standby); recover needs a primary server",
                      "name an empty, running server that is no standby");
  for (const auto& db : dbs)
    if (e->database_exists(db))
      throw SafetyError(to + " already holds database " + db + "; recover never overwrites a database",
                        "name an empty server, or drop that database yourself if it is a leftover");
}

// recover --from-replica: the replica answers as a primary, holds the site database and serves a
// complete copy the state store knows. Returns what it serves.
ReplicaServing preflight_replica(const Ctx& ctx, const std::string& replica) {
  const auto& cfg = ctx.cfg;
  if (std::find(cfg.roles.replicas.begin(), cfg.roles.replicas.end(), replica) == cfg.roles.replicas.end())
    throw SafetyError(replica + " is not a replica in [roles] replicas", "name one of them, or use --server for a new server");
  auto served = ctx.state.serving(replica);
  if (!served) throw SafetyError(replica + " serves no backup that sitekeeper restored", "see 'sitekeeper status'");
  auto e = ctx.engines(cfg.server(replica));
  sql::ProbeInfo p;
  try {
    p = e->probe(std::chrono::seconds(10));
  } catch (const Error& err) {
    throw SafetyError(std::string("recover --from-replica needs ") + replica + " running: " + err.what(),
                      "use another replica, or recover onto a new server with --server");
  }
  if (p.in_recovery || !e->database_exists(cfg.site.database))
    throw SafetyError(replica + " does not serve database " + cfg.site.database, "see 'sitekeeper status'");
  // Its logins, grants and profile come from the backup it serves: that generation must still be whole.
  auto archive = replicator::open_archive(cfg);
  std::vector<std::string> problems;
  if (!Archive::valid_id(served->backup_id) || !archive.complete(served->backup_id))
    problems.push_back("it is no longer complete in the archive");
  else {
    const auto dbs = archive.manifest(served->backup_id).databases;
    for (const auto& db : dbs)
      for (const char* f : {replicator::kPermissionsFile, replicator::kProfileFile})
        for (auto& pr : archive.check(served->backup_id, true, ctx.cancel, replicator::database_prefix(dbs, db) + f))
          problems.push_back(pr);
  }
  if (!problems.empty())
    throw SafetyError("backup " + served->backup_id + ", which " + replica + " serves, cannot give its logins and grants: " +
                          problems.front(),
                      "recover onto a new server from a backup the archive holds: 'sitekeeper recover --server NAME --plan'");
  return *served;
}

// recover is for a lost site: an active that answers and accepts writes, or a standby that could be
// promoted, is refused with the command that fits.
void refuse_when_the_site_stands(const Ctx& ctx, const std::string& from, const std::string& to) {
  const auto& cfg = ctx.cfg;
  SiteState st(ctx.state);
  auto answers = [&](const std::string& server) -> std::optional<sql::ProbeInfo> {
    try {
      auto e = ctx.engines(cfg.server(server));
      e->bound_connect(cfg.failover.probe_timeout);
      return e->probe(cfg.failover.probe_timeout);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  };
  if (from != to && cfg.servers.count(from))
    if (auto p = answers(from); p && !p->in_recovery && !p->read_only)
      throw SafetyError("active server " + from + " answers and accepts writes: recover is for a lost site",
                        "for a planned move use 'sitekeeper switchover --plan'");
  const std::string standby = st.standby(cfg);
  if (!standby.empty() && standby != to && cfg.servers.count(standby))
    if (auto p = answers(standby); p && p->in_recovery)
      throw SafetyError("standby " + standby + " stands by and loses less than a backup",
                        "promote it with 'sitekeeper failover --plan'");
}

// ---- the physical path ------------------------------------------------------------------------------

bool holds_physical(const Archive& archive, const std::string& id) {
  std::error_code ec;
  return fs::exists(archive.path(id) / replicator::kPhysicalDir / "backup_manifest", ec);
}

// When the generation was sealed: its base backup was consistent by then.
std::string completed_at(const Archive& archive, const std::string& id) {
  try {
    return nlohmann::json::parse(read_file(archive.path(id) / replicator::kMarkerFile)).value("completed_at", std::string());
  } catch (const std::exception&) {
    return "";
  }
}

// --until as a recovery target; ConfigError when it is neither a UTC time nor a WAL position.
sql::Engine::RecoveryTarget parse_until(const std::string& until) {
  static const std::regex time(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z)");
  static const std::regex lsn(R"([0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8})");
  if (std::regex_match(until, time)) return {until, ""};
  if (std::regex_match(until, lsn)) return {"", until};
  throw ConfigError("--until " + until + " is neither a UTC time nor a WAL position",
                    "write it as 2026-11-22T02:40:00Z (fractions of a second allowed) or as a position like 0/3000060");
}

// A --until time without its fraction, for comparing with whole-second times ("" when none).
std::string whole_second(const std::string& t) { return t.empty() ? t : t.substr(0, 19) + "Z"; }

bool before(const std::string& a, const std::string& b) {
  Clock::time_point x, y;
  return parse_iso_utc(a, x) && parse_iso_utc(b, y) && x < y;
}

// The newest complete generation with a base backup that was consistent before `time` ("" any).
std::string choose_physical(const Archive& archive, const std::string& time) {
  const auto ids = archive.list();
  std::string oldest;
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    if (!holds_physical(archive, *it) || !archive.complete(*it)) continue;
    const std::string done = completed_at(archive, *it);
    if (time.empty() || !before(whole_second(time), done)) return *it;
    oldest = done;
  }
  if (!oldest.empty())
    throw SafetyError("--until " + time + " is before every physical base backup (the oldest was complete at " + oldest + ")",
                      "name a later time; the archive rolls forward from a base backup only");
  throw SafetyError("the archive holds no physical base backup: --until needs one",
                    "set [archive] kinds = [\"logical\", \"physical\"] and wal_stream = true, then take a backup");
}

// A target whose data directory recover may replace: in no role of the site, and sharing its data
// directory with no server that has one.
void preflight_physical(const Ctx& ctx, const std::string& to, const std::string& from) {
  const auto& cfg = ctx.cfg;
  const auto& target = cfg.server(to);
  SiteState st(ctx.state);
  std::vector<std::pair<std::string, std::string>> serving = {{from, "the active"}, {st.standby(cfg), "the standby"},
                                                              {cfg.roles.trial, "[roles] trial"}};
  for (const auto& r : cfg.roles.replicas) serving.emplace_back(r, "a help-desk replica");
  for (const auto& [name, role] : serving) {
    if (name.empty()) continue;
    const bool same = name == to;
    const auto it = cfg.servers.find(name);
    std::error_code ec1, ec2;
    const bool shared = !same && it != cfg.servers.end() && !it->second.data_dir.empty() &&
                        fs::weakly_canonical(it->second.data_dir, ec1) == fs::weakly_canonical(target.data_dir, ec2);
    if (same || shared)
      throw SafetyError((same ? to + " is " + role : to + "'s data directory is that of " + name + ", " + role) +
                            ": recover never replaces the data directory of a server that serves the site",
                        "name a spare server with its own data_dir (or without data_dir for a logical restore)");
  }
}

// Only the verify and files steps ran: no server changed, so another choice may replace the run.
bool changed_a_server(const nlohmann::json& j) {
  for (const auto& [k, v] : j["steps"].items())
    if (k != "verify" && k != "files") return true;
  return false;
}

std::string resume_command(const nlohmann::json& j) {
  return std::string("sitekeeper recover ") + (j.value("from_replica", false) ? "--from-replica " : "--server ") +
         j["to"].get<std::string>() + " --yes";
}

StepContext context_of(const Ctx& ctx, const RunbookOptions& o, nlohmann::json& j) {
  // The databases the journal recorded when the run began (a journal from before several databases:
  // the site database alone).
  auto dbs = j.contains("databases") ? j["databases"].get<std::vector<std::string>>()
                                     : std::vector<std::string>{ctx.cfg.site.database};
  return StepContext{ctx, o, j, ctx.cfg.site.database, j["from"].get<std::string>(), j["to"].get<std::string>(),
                     j["epoch"].get<long>(), dbs};
}

std::vector<Step> recover_steps(const StepContext& sc) {
  using namespace steps;
  if (sc.journal.value("from_replica", false)) {
    // The replica serves a validated copy already: no restore. Its read-only default goes first (the
    // resync writes), while only readers, with SELECT by privilege, and sitekeeper may log in; the
    // serials move before the roles and grants that may write come back.
    std::vector<Step> s;
    if (sc.journal.contains("files_to")) s.push_back(site_files(sc));
    s.push_back(withdraw(sc));  // first: a refresh in flight finishes or gives up before anything else
    if (sc.from != sc.to) s.push_back(fence(sc));
    for (auto step : {writable(sc), serials(sc), roles(sc), grants(sc, false), backup_profile(sc, false), epoch(sc, ""),
                      smoke(sc), alias(sc), repoint(sc)})
      s.push_back(std::move(step));
    return s;
  }
  if (sc.journal.value("path", std::string()) == "physical") {
    // The restore replaces the whole server: its roles and grants come with it, so the replay of them
    // finds them in place, and the serials move on the live names before the alias reaches clients.
    std::vector<Step> s = {verify_physical_backup(sc)};
    if (sc.journal.contains("files_to")) s.push_back(site_files(sc));
    if (sc.from != sc.to) s.push_back(fence(sc));
    for (auto step : {set_aside(sc), restore_physical(sc), replay(sc), roles(sc), grants(sc, false),
                      backup_profile(sc, false), serials(sc, false), epoch(sc, ""), smoke(sc), alias(sc), repoint(sc)})
      s.push_back(std::move(step));
    return s;
  }
  std::vector<Step> s = {verify_backup(sc)};
  // Before any server changes: a failure here costs nothing.
  if (sc.journal.contains("files_to")) s.push_back(site_files(sc));
  // The old active rebuilt under its own name is the target: the machine that failed is gone.
  if (sc.from != sc.to) s.push_back(fence(sc));
  for (auto step : {roles(sc), restore(sc), grants(sc, true), backup_profile(sc, true), serials(sc, true),
                    swap(sc), epoch(sc, ""), smoke(sc), alias(sc), repoint(sc)})
    s.push_back(std::move(step));
  return s;
}

// The journal a run would use: the open recover journal when the operator names nothing else, or a new
// one (replacing an open run that changed no server yet). `store` false builds it without writing
// anything (the plan).
nlohmann::json journal_for(const Ctx& ctx, const RunbookOptions& o, const RecoverOptions& r, bool store) {
  SiteState st(ctx.state);
  const auto open = st.open_journal();
  if (open && (*open)["kind"] != kKind) {
    const std::string kind = (*open)["kind"].get<std::string>();
    throw SafetyError("an unfinished " + kind + " is in the journal", "finish it first with 'sitekeeper " + kind + " --yes'");
  }
  if (open) {
    const auto& j = *open;
    const bool same = (r.server.empty() || (r.server == j["to"] && r.from_replica == j.value("from_replica", false))) &&
                      (r.backup.empty() || r.backup == j.value("backup", "")) &&
                      (r.files_to.empty() || r.files_to.string() == j.value("files_to", "")) &&
                      (r.until.empty() || r.until == j.value("until_text", ""));
    if (same) return store ? open_or_resume(st, kKind, j["from"], j["to"], *ctx.clock) : j;
    if (changed_a_server(j))
      throw SafetyError("an unfinished recover onto " + j["to"].get<std::string>() + " (backup " +
                            j.value("backup", std::string("?")) + ") has changed servers already",
                        "resume it with '" + resume_command(j) + "' (no other server, backup, --until or --files-to)");
    const long owner = j.value("pid", 0L);
    if (owner != static_cast<long>(::getpid()) && pid_alive(owner))
      throw SafetyError("another sitekeeper (pid " + std::to_string(owner) + ") is running a recover right now",
                        "wait for it; 'sitekeeper status' shows the outcome");
    if (store) {
      auto old = j;
      old["abandoned"] = "replaced at " + iso_utc(ctx.clock->now()) + " before any server changed";
      st.close_journal(old);
      logger()->info("the unfinished recover onto {} changed no server: replaced by the one asked for", j["to"].get<std::string>());
    }
  }
  if (r.server.empty())
    throw ConfigError("recover needs --server NAME or --from-replica NAME",
                      "--server rebuilds the site on a new server from the archive; --from-replica makes a replica the active");
  const std::string from = st.active(ctx.cfg);
  std::string id, at;
  if (r.from_replica) {
    if (!r.backup.empty()) throw ConfigError("--from-replica takes the backup the replica serves", "leave --backup out");
    const auto served = preflight_replica(ctx, r.server);
    id = served.backup_id;
    at = served.backup_time;
  }
  const auto archive = replicator::open_archive(ctx.cfg);
  const auto target = r.until.empty() ? sql::Engine::RecoveryTarget{} : parse_until(r.until);
  const bool to_data_dir = !r.from_replica && !ctx.cfg.server(r.server).data_dir.empty();
  if (!r.until.empty() && (r.from_replica || !ctx.cfg.archive.wal_stream || !to_data_dir))
    throw SafetyError("--until needs a physical recovery: " +
                          std::string(r.from_replica ? "--from-replica serves last night's copy as it is"
                                      : !ctx.cfg.archive.wal_stream ? "[archive] wal_stream is off, so no WAL is archived"
                                                                     : "server " + r.server + " has no data_dir"),
                      "recover with --server onto a spare with data_dir, with [archive] kinds = [\"logical\", \"physical\"] "
                      "and wal_stream = true");
  if (!r.from_replica) {
    // before the server: a wrong id is the likelier slip
    id = r.until.empty() || !r.backup.empty() ? choose_backup(ctx, r.backup) : choose_physical(archive, target.time);
  }
  const auto manifest = archive.manifest(id);
  const auto dbs = run_databases(ctx.cfg, manifest, r.from_replica ? r.server : "");
  const bool physical = to_data_dir && ctx.cfg.archive.wal_stream && holds_physical(archive, id);
  if (!r.until.empty() && !physical)
    throw SafetyError("backup " + id + " holds no physical base backup: --until cannot roll it forward",
                      "leave --backup out for the newest physical one, or name one that holds physical/");
  sql::Engine::WalCoverage coverage;
  if (physical) {
    preflight_physical(ctx, r.server, from);
    coverage = ctx.engines(ctx.cfg.server(r.server))
                   ->wal_coverage(archive.path(id) / replicator::kPhysicalDir, replicator::wal_archive_dir(ctx.cfg), target.lsn);
    if (!coverage.missing.empty())
      throw SafetyError("backup " + id + " cannot be rolled forward with the archived WAL: " + coverage.missing,
                        "the WAL stream must hold every WAL file since the base backup; name a newer backup (--backup ID), "
                        "and see 'sitekeeper check'");
    const std::string done = completed_at(archive, id);
    if (!target.time.empty() && before(whole_second(target.time), done))
      throw SafetyError("--until " + target.time + " is before backup " + id + " was complete (" + done + ")",
                        "name a later time, or an older backup with --backup");
    if (!target.time.empty() && before(coverage.newest_at, whole_second(target.time)))
      throw SafetyError("--until " + target.time + " is past the end of the archived WAL (" + coverage.newest + ", written at " +
                            coverage.newest_at + ")",
                        "name an earlier time, or leave --until out to recover to the end");
    at = manifest.created_at;
  } else if (!r.from_replica) {
    preflight(ctx, r.server, dbs);
    at = manifest.created_at;
  } else {
    // Its copy becomes the site: it must serve every database of it, not just the first.
    // ...and each at the generation it serves: a mix would become the active's state.
    auto e = ctx.engines(ctx.cfg.server(r.server));
    const auto gens = replicator::replica_generations(ctx.cfg, ctx.state, r.server);
    for (const auto& db : dbs) {
      if (!e->database_exists(db)) throw SafetyError(r.server + " does not serve database " + db, "see 'sitekeeper status'");
      const auto it = gens.find(db);
      const std::string at_gen = it == gens.end() ? "" : it->second;
      if (at_gen != id)
        throw SafetyError(r.server + " serves database " + db + " at " + (at_gen.empty() ? "no recorded generation" : at_gen) +
                              ", not at " + id + " like the site database: its copy is a mix",
                          "refresh " + r.server + " first ('sitekeeper refresh --replica " + r.server +
                              "'), or recover onto a new server with --server");
    }
  }
  if (from == r.server && !o.old_active_is_down)
    throw SafetyError(r.server + " is the old active's name: the old machine cannot be fenced through it",
                      "power the old machine off (or cut it off), then add --old-active-is-down");
  refuse_when_the_site_stands(ctx, from, r.server);
  if (!r.files_to.empty()) {
    std::error_code ec;
    if (fs::exists(r.files_to, ec) && !(fs::is_directory(r.files_to, ec) && fs::is_empty(r.files_to, ec)))
      throw SafetyError(show_path(r.files_to) + " is not a missing or empty folder", "name a new folder for the site files");
  }
  nlohmann::json extra = {{"backup", id}, {"backup_at", at}, {"databases", dbs}, {"path", physical ? "physical" : "logical"}};
  if (physical) {
    const fs::path data = ctx.cfg.server(r.server).data_dir;
    std::string stamp = iso_utc(ctx.clock->now());
    stamp.erase(std::remove_if(stamp.begin(), stamp.end(), [](char c) { return c == '-' || c == ':'; }), stamp.end());
    extra["stamp"] = stamp;
    extra["data_dir"] = data.string();
    extra["aside"] = data.string() + ".before-recover-" + stamp;
    extra["wal"] = {{"start", coverage.start_segment}, {"newest", coverage.newest}, {"newest_at", coverage.newest_at}};
    if (!target.none()) {
      extra["until_text"] = r.until;
      extra["until"] = target.time.empty() ? nlohmann::json{{"lsn", target.lsn}} : nlohmann::json{{"time", target.time}};
    }
  }
  if (r.from_replica) extra["from_replica"] = true;
  if (!r.files_to.empty()) extra["files_to"] = r.files_to.string();
  if (from == r.server) extra["old_active_answered"] = false;  // the name answers, but for the new machine
  // Read now: once the epoch step names the new active, the daemon records sightings of it instead.
  if (auto seen = st.last_active_sighting(); seen.server == from)
    extra["old_active_seen"] = {{"seen_at", seen.seen_at}, {"changed_at", seen.changed_at}};
  if (store) return open_or_resume(st, kKind, from, r.server, *ctx.clock, extra);
  nlohmann::json j = {{"kind", kKind}, {"from", from}, {"to", r.server}, {"epoch", st.epoch() + 1},
                      {"steps", nlohmann::json::object()}};
  j.update(extra);
  return j;
}

}  // namespace

std::string data_loss_window(const nlohmann::json& j) {
  const std::string from = j.value("from", std::string("the old active"));
  if (j.value("path", std::string()) == "physical") {
    const auto until = j.value("until", nlohmann::json::object());
    const std::string u = until.value("time", until.value("lsn", std::string()));
    const auto seen = j.value("old_active_seen", nlohmann::json::object());
    const std::string changed = seen.value("changed_at", std::string());
    const std::string observed = changed.empty() ? "" : "; the daemon last saw a write on " + from + " at " + changed;
    if (j.contains("recovered_to")) {
      const auto& r = j["recovered_to"];
      const std::string c = r.value("last_commit", std::string()), l = r.value("lsn", std::string());
      return "recovered to the last commit replayed from the archived WAL, at " + (c.empty() ? std::string("?") : c) +
             " (position " + (l.empty() ? std::string("?") : l) + "); " +
             (u.empty() ? "changes on " + from + " after it are lost" : "changes after --until " + u + " were left out") +
             observed;
    }
    const auto wal = j.value("wal", nlohmann::json::object());
    if (!u.empty()) return "changes on " + from + " after --until " + u + " are left out" + observed;
    return "the archived WAL reaches " + wal.value("newest_at", std::string("?")) + " (" + wal.value("newest", std::string("?")) +
           "): changes on " + from + " after it are lost" + observed;
  }
  const std::string at = j.value("backup_at", std::string());
  const auto seen = j.value("old_active_seen", nlohmann::json::object());
  const std::string changed = seen.value("changed_at", std::string());
  Clock::time_point b, c;
  if (changed.empty() || !parse_iso_utc(at, b) || !parse_iso_utc(changed, c))
    return "changes on " + from + " after the backup (" + at + ") are lost; no write on it was observed to bound the window";
  const std::string seen_at = seen.value("seen_at", std::string());
  const std::string answered = "; it last answered at " + (seen_at.empty() ? std::string("?") : seen_at);
  Clock::time_point s_at;
  // Nobody watched it after the backup: nothing bounds what it wrote since.
  if (!parse_iso_utc(seen_at, s_at) || s_at < b)
    return "changes on " + from + " after the backup (" + at + ") are lost; it was last seen at " +
           (seen_at.empty() ? std::string("?") : seen_at) + ", before the backup, so nothing bounds the window";
  if (c < b) return "no write on " + from + " was observed after the backup (" + at + ")" + answered;
  // Times are whole seconds: a write in the backup's own second may be after it.
  const auto d = std::chrono::duration_cast<Millis>(c - b);
  return "changes on " + from + " from the backup at " + at + " to its last observed write at " + changed +
         (d.count() > 0 ? " (" + format_duration(d) + ")" : "") + " are lost" + answered;
}

nlohmann::json recover_plan(const Ctx& ctx, const RunbookOptions& o, const RecoverOptions& r) {
  auto j = journal_for(ctx, o, r, false);
  auto sc = context_of(ctx, o, j);
  auto p = plan_of(sc, kKind, recover_steps(sc));
  p["backup"] = j["backup"];
  p["backup_at"] = j["backup_at"];
  p["data_loss_window"] = data_loss_window(j);
  p["path"] = j.value("path", std::string("logical"));
  if (j.contains("aside")) p["aside"] = j["aside"];
  return p;
}

std::string recover_site(const Ctx& ctx, const RunbookOptions& o, const RecoverOptions& r) {
  {
    auto pre = journal_for(ctx, o, r, false);
    auto psc = context_of(ctx, o, pre);
    check_duties(psc, recover_steps(psc));
  }
  auto j = journal_for(ctx, o, r, true);
  auto sc = context_of(ctx, o, j);
  auto steps = recover_steps(sc);
  run_to_end(sc, steps);
  const bool physical = j.value("path", std::string()) == "physical";
  std::string aside;
  if (physical) {
    std::error_code ec;
    const fs::path a = j.value("aside", std::string());
    aside = fs::exists(a, ec) ? "; its old data directory is kept at " + show_path(a) : "";
  }
  return "recover done: " + sc.to + " is active (epoch " + std::to_string(sc.epoch) + ") with backup " +
         j["backup"].get<std::string>() + (j.value("from_replica", false) ? ", which it served as a replica" : "") +
         (physical ? " rolled forward with the archived WAL" : "") + "; " + data_loss_window(j) + aside;
}

}  // namespace sk::standby
