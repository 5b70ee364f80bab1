#include "app/daemon/report.hpp"

#include <unistd.h>

#include <algorithm>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/units.hpp"
#include "replicator/archive.hpp"
#include "replicator/offsite.hpp"
#include "replicator/refresh.hpp"
#include "replicator/wal_stream.hpp"
#include "sql/profile.hpp"
#include "standby/failover.hpp"
#include "standby/site_state.hpp"

namespace sk::daemon {

namespace {
long long age_seconds(const std::string& iso, Clock::time_point now) {
  Clock::time_point t;
  if (!parse_iso_utc(iso, t)) return -1;
  return std::chrono::duration_cast<std::chrono::seconds>(now - t).count();
}

std::optional<GenerationRecord> newest_verified(const replicator::JobContext& ctx) {
  auto archive = replicator::open_archive(ctx.cfg);
  for (const auto& g : ctx.state.generations())
    if (g.status == "verified" && archive.complete(g.id)) return g;
  return std::nullopt;
}

nlohmann::json server_json(const ServerConfig& s) {
  return {{"name", s.name}, {"engine", s.engine}, {"transport", s.transport}, {"host", s.host}, {"port", s.port}};
}
}  // namespace

namespace {
// The daemon's heartbeat: {"running", "pid", "last_probe_at"}; running when its pid lives and it
// probed within three intervals.
nlohmann::json daemon_state(StateStore& state, Clock::time_point now) {
  nlohmann::json d = {{"running", false}};
  auto v = state.get("daemon.heartbeat");
  if (!v) return d;
  try {
    auto h = nlohmann::json::parse(*v);
    const long pid = h.value("pid", 0L);
    const long long age = age_seconds(h.value("at", ""), now);
    const long long interval_s = std::max<long long>(1, h.value("interval_ms", 2000LL) / 1000);
    d["pid"] = pid;
    d["last_probe_at"] = h.value("at", "");
    d["running"] = standby::pid_alive(pid) && age >= 0 && age <= 3 * interval_s + 2;
  } catch (const std::exception&) {
  }
  return d;
}

// The health of every server: the daemon's snapshot, the verdicts it keeps, or probes made now.
HealthSnapshot health_view(const replicator::JobContext& ctx, std::optional<HealthSnapshot> given, bool daemon_runs) {
  if (given) return *given;
  const auto& cfg = ctx.cfg;
  HealthSnapshot snap;
  snap.active = cfg.roles.active;
  snap.standby = cfg.roles.standby;
  snap.replicas = cfg.roles.replicas;
  snap.max_age = cfg.archive.max_age;
  const long epoch = standby::SiteState(ctx.state).epoch();
  std::string position;
  for (const auto& [name, role] : servers_in_roles(cfg)) {
    ServerHealth h;
    auto kept = ctx.state.get("health." + role + ":" + name);
    if (daemon_runs && kept) {
      auto j = nlohmann::json::parse(*kept, nullptr, false);
      h.name = name;
      h.role = role;
      h.up = h.reachable = j.is_object() && j.value("up", false);
      h.known = true;
      h.reason = j.is_object() ? j.value("reason", "") : "";
      h.checked_at = j.is_object() ? j.value("at", "") : "";
      if (!h.up && h.reason.find("cannot connect") == std::string::npos && h.reason.find("no answer") == std::string::npos)
        h.reachable = true;  // it answered; it was judged not fit for its role
    } else {
      h = probe_server(cfg, ctx.engines, name, role, position, epoch, role == "active" ? &position : nullptr);
      h.known = true;
    }
    snap.servers[name] = h;
  }
  return snap;
}

void add_health(nlohmann::json& j, const ServerHealth* h) {
  if (!h) {
    j["reachable"] = false;
    j["up"] = false;
    j["reason"] = "not probed";
    return;
  }
  j["reachable"] = h->reachable;
  j["up"] = h->up;
  if (!h->reason.empty()) j["reason"] = h->reason;
  j["checked_at"] = h->checked_at;
}
}  // namespace

std::optional<Clock::time_point> newest_verified_time(const replicator::JobContext& ctx) {
  auto nv = newest_verified(ctx);
  Clock::time_point t;
  if (!nv || !parse_iso_utc(nv->created_at, t)) return std::nullopt;
  return t;
}

long long newest_verified_age(const replicator::JobContext& ctx) {
  auto nv = newest_verified(ctx);
  return nv ? age_seconds(nv->created_at, system_clock()->now()) : -1;
}

nlohmann::json copies_report(const replicator::JobContext& ctx, Clock::time_point now) {
  nlohmann::json out = nlohmann::json::array();
  const auto runs = ctx.cfg.archive.copies.empty() ? std::vector<JobRun>{} : ctx.state.runs(200, "copy");
  for (const auto& d : ctx.cfg.archive.copies) {
    // From the state store only: a share that hangs must not hang the status page.
    auto c = replicator::newest_copy(ctx.state, d.path);
    nlohmann::json one{{"destination", d.path.string()}, {"rate", format_rate(d.rate)},
                       {"newest_copy", c ? c->id : ""}, {"newest_copy_at", c ? c->created_at : ""},
                       {"copied_at", c ? c->copied_at : ""}, {"age_seconds", c ? age_seconds(c->created_at, now) : -1},
                       {"last_outcome", ""}, {"last_message", ""}};
    for (const auto& r : runs)
      if (r.target == d.path.string()) {
        one["last_outcome"] = r.outcome;
        one["last_message"] = r.message;
        break;
      }
    out.push_back(one);
  }
  return out;
}

nlohmann::json status_report(const replicator::JobContext& ctx, std::optional<HealthSnapshot> health) {
  const auto& cfg = ctx.cfg;
  const auto now = system_clock()->now();
  const long long max_age = std::chrono::duration_cast<std::chrono::seconds>(cfg.archive.max_age).count();
  nlohmann::json j;
  j["site"] = cfg.site.code;
  j["database"] = cfg.site.database;
  j["databases"] = cfg.site.databases;
  j["daemon"] = daemon_state(ctx.state, now);
  if (health) j["daemon"]["running"] = true;  // asked of the daemon itself
  const auto snap = health_view(ctx, health, j["daemon"]["running"].get<bool>());
  auto health_of = [&](const std::string& name) -> const ServerHealth* {
    auto it = snap.servers.find(name);
    return it == snap.servers.end() ? nullptr : &it->second;
  };
  bool ok = true;
  j["active"] = server_json(cfg.server(cfg.roles.active));
  j["active"]["role"] = "active";
  add_health(j["active"], health_of(cfg.roles.active));
  if (!j["active"]["up"].get<bool>()) ok = false;
  j["standby"] = cfg.roles.standby.empty() ? nlohmann::json() : server_json(cfg.server(cfg.roles.standby));
  if (!cfg.roles.standby.empty()) {
    add_health(j["standby"], health_of(cfg.roles.standby));
    // The HA loop's last look at its lag.
    auto sample = standby::SiteState(ctx.state).standby_sample();
    if (sample.is_object() && sample.value("server", "") == cfg.roles.standby) {
      for (const char* k : {"in_recovery", "state", "lag_bytes", "lag_seconds", "heard_seconds_ago"})
        if (sample.contains(k)) j["standby"][k] = sample[k];
      j["standby"]["sampled_at"] = sample.value("at", "");
      j["standby"]["sample_age_seconds"] = age_seconds(sample.value("at", ""), now);
    }
    j["standby"]["role"] = !j["standby"]["reachable"].get<bool>() ? "unreachable"
                           : j["standby"].value("in_recovery", true) ? "standby"
                                                                     : "primary";
  }
  auto nv = newest_verified(ctx);
  j["archive"] = {{"path", cfg.archive.path.string()},
                  {"newest_verified", nv ? nv->id : ""},
                  {"newest_verified_at", nv ? nv->created_at : ""},
                  {"age_seconds", nv ? age_seconds(nv->created_at, now) : -1},
                  {"max_age_seconds", max_age}};
  j["copies"] = copies_report(ctx, now);
  if (cfg.archive.wal_stream) {
    // The daemon's last tick; its age keeps growing here when the daemon has stopped.
    j["wal_stream"] = replicator::read_wal_stream(ctx.state, now);
    if (j["wal_stream"].is_null())
      j["wal_stream"] = {{"state", "not started"}, {"sentence", "the daemon has not started the WAL stream"},
                         {"age_seconds", nullptr}};
    j["wal_stream"]["path"] = replicator::wal_archive_dir(cfg).string();
  }
  j["replicas"] = nlohmann::json::array();
  for (const auto& name : cfg.roles.replicas) {
    nlohmann::json r = server_json(cfg.server(name));
    auto s = ctx.state.serving(name);
    r["backup_id"] = s ? s->backup_id : "";
    r["backup_time"] = s ? s->backup_time : "";
    r["restored_at"] = s ? s->restored_at : "";
    long long age = s ? age_seconds(s->backup_time, now) : -1;
    r["age_seconds"] = age;
    r["role"] = "replica";
    add_health(r, health_of(name));
    // A replica that does not answer is not fresh, however young its copy.
    r["fresh"] = r["up"].get<bool>() && age >= 0 && age <= max_age;
    const auto gens = replicator::replica_generations(cfg, ctx.state, name);
    r["databases"] = gens;
    const std::string mixed = replicator::mixed_generations(cfg, name, gens);
    if (!mixed.empty()) {
      r["fresh"] = false;
      r["error"] = mixed;
    }
    // A replica that answers but lacks a database the site gained is down for its check, and MIXED here:
    // that says why, and that a refresh (after a backup of every database) is the cure.
    const bool mixed_shown = !mixed.empty() && r["reachable"].get<bool>();
    r["state"] = mixed_shown ? "MIXED" : !r["up"].get<bool>() ? "DOWN" : r["backup_id"].get<std::string>().empty() ? "never refreshed"
                 : r["fresh"].get<bool>()                                            ? "fresh"
                                                                                     : "STALE";
    if (!r["up"].get<bool>() || !mixed.empty()) ok = false;
    j["replicas"].push_back(r);
  }
  j["last_runs"] = nlohmann::json::array();
  for (const char* job : {"capture", "backup", "verify", "refresh"})
    if (auto run = ctx.state.last_run(job))
      j["last_runs"].push_back({{"job", run->job}, {"outcome", run->outcome}, {"started_at", run->started_at},
                                {"duration_ms", run->duration_ms}, {"message", run->message}});
  j["alerts"] = nlohmann::json::array();
  for (const auto& a : ctx.state.alerts(5))
    j["alerts"].push_back({{"at", a.at}, {"job", a.job}, {"message", a.message}});
  // An unfinished failover or switchover, step by step, while one is open.
  auto journal = standby::SiteState(ctx.state).open_journal();
  j["journal"] = journal ? *journal : nlohmann::json();
  j["ok"] = ok;
  return j;
}

namespace {

// The WAL stream's part of check: its slot on the active, and the daemon's last word on the stream. A
// stream that the daemon reports down or behind by more than a minute makes the site not ready: a
// recovery would lose that much. `slot` is what the active said of the stream's slot (none when it did
// not answer or has no WAL stream).
nlohmann::json wal_stream_check(const replicator::JobContext& ctx, const std::optional<sql::WalStreamState>& slot,
                                nlohmann::json& warnings) {
  const auto& cfg = ctx.cfg;
  if (!cfg.archive.wal_stream) {
    if (slot && slot->slot_exists)
      warnings.push_back("replication slot " + std::string(replicator::kWalStreamSlot) + " on " + cfg.roles.active +
                         " keeps WAL for a WAL stream that is off; drop it, or the active's disk fills");
    return nullptr;
  }
  nlohmann::json w = replicator::read_wal_stream(ctx.state, system_clock()->now());
  if (w.is_null()) {
    warnings.push_back("the daemon has not started the WAL stream yet: no WAL is archived until 'sitekeeper run' does");
    return {{"ok", true}, {"state", "not started"}};
  }
  w["ok"] = true;
  const bool current = w.value("state", "") == "streaming" && w["age_seconds"].is_number() &&
                       w["age_seconds"].get<double>() <= 60;
  if (!current) {
    w["ok"] = false;
    w["error"] = "the WAL stream is " + w.value("state", std::string("?")) + " (" + w.value("sentence", std::string()) +
                 "): a recovery now loses everything since the newest archived WAL";
  }
  if (slot && !slot->slot_exists)
    warnings.push_back("no replication slot " + std::string(replicator::kWalStreamSlot) + " on " + cfg.roles.active +
                       ": the daemon makes it when the stream starts there");
  return w;
}

// Recovery to the last second: whether the newest physical base backup can be rolled forward with the
// archived WAL (its start segment and every later one in <archive>/wal). nullopt when [archive]
// wal_stream is off or the archive holds no base backup; else {"backup", "ok", "missing"}.
std::optional<nlohmann::json> roll_forward_check(const replicator::JobContext& ctx) {
  const auto& cfg = ctx.cfg;
  if (!cfg.archive.wal_stream) return std::nullopt;
  try {
    auto archive = replicator::open_archive(cfg);
    const auto ids = archive.list();
    for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
      const fs::path base = archive.path(*it) / replicator::kPhysicalDir;
      std::error_code ec;
      if (!fs::exists(base / "backup_manifest", ec) || !archive.complete(*it)) continue;
      // Reads files only: the active need not answer.
      const auto cov = ctx.engines(cfg.server(cfg.roles.active))->wal_coverage(base, replicator::wal_archive_dir(cfg), "");
      return nlohmann::json{{"backup", *it}, {"ok", cov.missing.empty()}, {"missing", cov.missing},
                            {"wal_newest", cov.newest}, {"wal_newest_at", cov.newest_at}};
    }
  } catch (const std::exception& e) {
    return nlohmann::json{{"backup", ""}, {"ok", false}, {"missing", e.what()}};
  }
  return std::nullopt;
}
}  // namespace

nlohmann::json check_report(const replicator::JobContext& ctx) {
  const auto& cfg = ctx.cfg;
  nlohmann::json j;
  bool ok = true;
  j["config"] = {{"file", cfg.file.string()}, {"ok", true}};
  j["servers"] = nlohmann::json::array();
  nlohmann::json active_profile;
  std::optional<sql::WalStreamState> active_slot;
  std::vector<std::pair<std::string, std::string>> roles = {{cfg.roles.active, "active"}};
  if (!cfg.roles.standby.empty()) roles.push_back({cfg.roles.standby, "standby"});
  for (const auto& r : cfg.roles.replicas) roles.push_back({r, "replica"});
  for (const auto& [name, role] : roles) {
    nlohmann::json s = {{"name", name}, {"role", role}};
    try {
      auto engine = ctx.engines(cfg.server(name));
      auto p = engine->probe(cfg.failover.probe_timeout);
      s["reachable"] = true;
      s["version"] = p.version;
      s["in_recovery"] = p.in_recovery;
      auto exists = engine->database_exists(cfg.site.database);
      s["database_present"] = exists;
      // A standby carries every database physically; the active and each replica must hold each one.
      s["databases_missing"] = nlohmann::json::array();
      for (const auto& db : cfg.site.databases)
        if (db != cfg.site.database && !engine->database_exists(db)) s["databases_missing"].push_back(db);
      if (role == "active" && !s["databases_missing"].empty()) {
        s["error"] = name + " lacks database " + s["databases_missing"][0].get<std::string>() +
                     " of [site] databases: the next backup would fail";
        ok = false;
      }
      // The standby is compared too: it is the server that must take over with the active's settings,
      // and physical replication carries neither ALTER SYSTEM nor pg_hba.conf.
      if (exists) {
        auto profile = engine->capture_profile(cfg.site.database);
        if (role == "active") active_profile = profile;
        else if (!active_profile.is_null()) s["drift"] = sql::profile_drift(active_profile, profile);
      }
      if (role == "active" && !exists) ok = false;
      if (role == "active") {
        try {  // read on the session already open; wal_stream_check says what it means
          active_slot = engine->wal_stream_state(replicator::kWalStreamSlot);
        } catch (const std::exception&) {  // an engine without a WAL stream: nothing to say
        }
        // The server the state store names as active must carry the site's epoch.
        const long site_epoch = standby::SiteState(ctx.state).epoch();
        if (engine->supports(sql::Duty::epoch)) {
          const long own = engine->read_epoch();
          s["epoch"] = own;
          if (own < site_epoch) {
            const std::string stale = name + " carries epoch " + std::to_string(own) + ", older than the site's " +
                                      std::to_string(site_epoch) + ": it is not treated as active";
            s["error"] = s.contains("error") ? s["error"].get<std::string>() + "; " + stale : stale;
            ok = false;
          }
        }
      }
      // Advice, not a failure: a replica on default settings restores correctly, only slower.
      if (role == "replica") s["restore_profile"] = engine->restore_profile_deviations();
      if (role == "standby" && p.in_recovery) {
        // A silent death of the active is noticed only as fast as the standby notices the silence.
        auto rs = engine->replication_state();
        const double expected = std::max(1.0, std::chrono::duration<double>(cfg.failover.probe_interval).count() *
                                                  cfg.failover.failures);
        s["heard_every_seconds"] = rs.heard_every;
        if (rs.heard_every > expected + 0.5)
          s["detection"] = "a silent death of the active goes unnoticed by " + name + " for up to " +
                           format_duration(std::chrono::milliseconds(static_cast<long long>(rs.heard_every * 1000))) +
                           " (wal_receiver_timeout); sitekeeper sets it to " +
                           format_duration(std::chrono::milliseconds(static_cast<long long>(2 * expected * 1000))) +
                           " at standby init and rejoin";
      }
    } catch (const std::exception& e) {
      s["reachable"] = false;
      s["error"] = e.what();
      ok = false;
    }
    if (!s.contains("drift")) s["drift"] = nlohmann::json::array();
    j["servers"].push_back(s);
  }
  // The standby: a configured standby that does not stream (or lags past max_lag) is not ready.
  if (!standby::SiteState(ctx.state).standby(cfg).empty()) {
    j["standby"] = standby::standby_status(ctx);
    if (!j["standby"].value("healthy", false)) ok = false;
  }
  // Servers fenced by a promotion: one that accepts writes again is never treated as active.
  j["fenced"] = nlohmann::json::array();
  standby::SiteState site(ctx.state);
  j["epoch"] = site.epoch();
  auto stale = standby::stale_writable_servers(ctx);
  for (const auto& [server, epoch] : site.fenced()) {
    bool writable = std::find(stale.begin(), stale.end(), server) != stale.end();
    j["fenced"].push_back({{"server", server}, {"epoch", epoch}, {"writable_again", writable}});
    if (writable) ok = false;
  }
  auto nv = newest_verified(ctx);
  const auto now = system_clock()->now();
  long long age = nv ? age_seconds(nv->created_at, now) : -1;
  long long max_age = std::chrono::duration_cast<std::chrono::seconds>(cfg.archive.max_age).count();
  bool fresh = age >= 0 && age <= max_age;
  j["backup"] = {{"newest_verified", nv ? nv->id : ""}, {"age_seconds", age}, {"max_age_seconds", max_age}, {"ok", fresh}};
  if (!fresh) ok = false;
  // Files that others can read are already exposed: a warning to act on, not a reason to stop serving.
  j["warnings"] = nlohmann::json::array();
  std::error_code ec;
  auto warn_readable = [&](const fs::path& p) {
    j["warnings"].push_back(show_path(p) + " is readable by group or others; chmod it (folders 700, files 600)");
  };
  if (fs::exists(cfg.archive.path, ec))
    for (const auto& p : readable_by_others_under(cfg.archive.path, 10)) warn_readable(p);
  for (const auto& p : {cfg.state_path, cfg.archive.key_file})
    if (fs::exists(p, ec) && readable_by_others(p)) warn_readable(p);
  // Found now rather than by the nightly backup, which fails on it.
  for (const auto& p : cfg.archive.secrets.files)
    if (!fs::is_regular_file(p, ec) || ::access(p.c_str(), R_OK) != 0)
      j["warnings"].push_back("secret " + show_path(p) + " ([archive.secrets] files) is missing or unreadable; "
                              "the next backup fails until it is back or unlisted");
  for (const auto& p : cfg.archive.files) {
    const auto st = fs::symlink_status(p, ec);
    if (!fs::is_regular_file(st) && !fs::is_directory(st))
      j["warnings"].push_back("site file " + show_path(p) + " ([archive] files) is missing, a symbolic link or "
                              "not a regular file or folder; the next backup fails until it is fixed or unlisted");
  }
  if (auto w = wal_stream_check(ctx, active_slot, j["warnings"]); !w.is_null()) {
    if (!w.value("ok", true)) ok = false;
    j["wal_stream"] = w;
  }
  if (auto rf = roll_forward_check(ctx)) {
    j["roll_forward"] = *rf;
    if (!(*rf)["ok"].get<bool>())
      j["warnings"].push_back("the newest base backup " + (*rf)["backup"].get<std::string>() +
                              " cannot be rolled forward with the archived WAL: " + (*rf)["missing"].get<std::string>() +
                              "; recover --server onto a data_dir refuses it until a new backup is taken");
  }
  j["ok"] = ok;
  return j;
}

}  // namespace sk::daemon
