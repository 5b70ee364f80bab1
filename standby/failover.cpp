#include "standby/failover.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <cstdlib>
#include <functional>
#include <sstream>
#include <thread>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/units.hpp"
#include "replicator/archive.hpp"
#include "sql/ident.hpp"
#include "sql/permscript.hpp"
#include "sql/postgres/pg_engine.hpp"
#include "sql/postgres/pg_local.hpp"
#include "standby/site_state.hpp"

namespace sk::standby {

namespace {

auto logger() { return log::get("standby"); }
using Ctx = replicator::JobContext;

struct Capture {
  std::string id;
  std::string permissions;
  nlohmann::json profile;
};

// The newest intact capture of the permission script and profile: a stand-alone capture or the one
// taken with the newest backup, whichever is younger.
std::optional<Capture> newest_capture(const Config& cfg) {
  std::optional<Capture> best;
  std::string best_at;
  for (bool captures : {false, true}) {
    auto archive = replicator::open_archive(cfg, captures);
    auto id = archive.newest_complete();
    if (!id || !archive.check(*id, true, nullptr, replicator::kPermissionsFile).empty()) continue;
    auto m = archive.manifest(*id);
    if (m.created_at <= best_at) continue;
    best_at = m.created_at;
    best = Capture{*id, read_file(archive.path(*id) / replicator::kPermissionsFile),
                   nlohmann::json::parse(read_file(archive.path(*id) / replicator::kProfileFile))};
  }
  return best;
}

std::unique_ptr<sql::Engine> engine_for(const Ctx& ctx, const std::string& server) {
  return ctx.engines(ctx.cfg.server(server));
}

// An argv as the plan shows it, with {server} filled in.
std::string shown_argv(const std::vector<std::string>& argv, const std::string& server) {
  std::string out;
  for (const auto& a : expand_argv(argv, {{"server", server}})) out += (out.empty() ? "" : " ") + a;
  return out;
}

sql::PgEngine* as_pg(sql::Engine& e) { return dynamic_cast<sql::PgEngine*>(&e); }

void wait_for(const std::function<bool()>& done, std::chrono::seconds timeout, const std::string& what) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    try {
      if (done()) return;
    } catch (const std::exception&) {
    }
    if (std::chrono::steady_clock::now() > end) throw Error("timed out after " + std::to_string(timeout.count()) + "s waiting for " + what);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

bool streaming(const Ctx& ctx, const std::string& server) {
  return ctx.engines(ctx.cfg.server(server))->replication_state().state == "streaming";
}

// A receiver that keeps failing (e.g. on a timeline it cannot follow) shows "streaming" for moments
// between restarts: call it streaming only when three looks over a second and a half agree.
bool stably_streaming(const Ctx& ctx, const std::string& server) {
  for (int i = 0; i < 3; ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto rs = ctx.engines(ctx.cfg.server(server))->replication_state();
    if (rs.state != "streaming" || rs.seconds_since_message > 10) return false;
  }
  return true;
}

bool pid_alive(long pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

struct Step {
  std::string name;
  std::string title;
  std::vector<std::string> actions;  // exact SQL / commands, for --plan and the runbook
  std::function<std::string()> run;
};

// Runs steps in order, skipping those the journal records as done. A test may set
// SITEKEEPER_TEST_CRASH_AFTER=<step> to kill the process right after that step is journaled.
void run_steps(SiteState& st, nlohmann::json& journal, std::vector<Step>& steps, const Clock& clock) {
  const char* crash = std::getenv("SITEKEEPER_TEST_CRASH_AFTER");
  for (auto& s : steps) {
    if (journal["steps"].contains(s.name)) {
      logger()->info("step {} already done at {}: skipping", s.name, journal["steps"][s.name].value("at", ""));
      continue;
    }
    logger()->info("step {}: {}", s.name, s.title);
    std::string detail = s.run();
    journal["steps"][s.name] = {{"at", iso_utc(clock.now())}, {"detail", detail}};
    st.put_journal(journal);
    logger()->info("step {} done: {}", s.name, detail);
    if (crash && s.name == crash) ::_exit(99);
  }
}

nlohmann::json open_or_resume(SiteState& st, const std::string& kind, const std::string& from, const std::string& to,
                              const Clock& clock) {
  if (auto j = st.open_journal()) {
    const long owner = j->value("pid", 0L);
    if (owner != static_cast<long>(::getpid()) && pid_alive(owner))
      throw SafetyError("another sitekeeper (pid " + std::to_string(owner) + ") is running this " +
                        (*j)["kind"].get<std::string>() + " right now", "wait for it; 'sitekeeper status' shows the outcome");
    (*j)["pid"] = static_cast<long>(::getpid());
    st.put_journal(*j);
    if ((*j)["kind"] != kind)
      throw SafetyError("an unfinished " + (*j)["kind"].get<std::string>() + " is in the journal",
                        "finish it first with 'sitekeeper " + (*j)["kind"].get<std::string>() + " --yes'");
    logger()->info("resuming {} {} from {} to {} ({} steps already done)", kind, (*j)["id"].get<std::string>(),
                   (*j)["from"].get<std::string>(), (*j)["to"].get<std::string>(), (*j)["steps"].size());
    return *j;
  }
  nlohmann::json j = {{"id", iso_utc(clock.now())}, {"kind", kind}, {"from", from}, {"to", to},
                      {"epoch", st.epoch() + 1}, {"started_at", iso_utc(clock.now())},
                      {"steps", nlohmann::json::object()}, {"pid", static_cast<long>(::getpid())}};
  st.put_journal(j);
  return j;
}

std::string lag_text(std::optional<std::uint64_t> lag) { return lag ? format_size(*lag) : std::string("unknown"); }

// Standby replay position behind the active's position (read now when reachable, else the last one
// the daemon observed). nullopt when neither is known.
std::optional<std::uint64_t> standby_lag(const Ctx& ctx, const std::string& from, const std::string& to) {
  SiteState st(ctx.state);
  auto standby = ctx.engines(ctx.cfg.server(to));
  std::string active_pos;
  try {
    active_pos = ctx.engines(ctx.cfg.server(from))->wal_position();
  } catch (const std::exception&) {
    active_pos = st.last_active_lsn();
  }
  if (active_pos.empty()) return std::nullopt;
  return standby->wal_distance(active_pos, standby->wal_position());
}

std::vector<Step> failover_steps(const Ctx& ctx, const RunbookOptions& o, nlohmann::json& journal) {
  const auto& cfg = ctx.cfg;
  const std::string db = cfg.site.database, from = journal["from"], to = journal["to"];
  const long epoch = journal["epoch"].get<long>();
  const std::string qdb = sql::quote_ident(db);
  std::vector<Step> steps;
  steps.push_back({"fence", "fence the old active server " + from,
                   {"-- on " + from + " if it answers:", "ALTER DATABASE " + qdb + " WITH ALLOW_CONNECTIONS false;",
                    "ALTER SYSTEM SET default_transaction_read_only = on; SELECT pg_reload_conf();",
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " + sql::quote_literal(db) + ";",
                    cfg.failover.fence.empty() ? "-- otherwise: no fence command configured"
                                               : "-- otherwise: " + shown_argv(cfg.failover.fence, from)},
                   [=] {
                     SiteState st(ctx.state);
                     std::string how;
                     try {
                       auto e = engine_for(ctx, from);
                       e->probe(cfg.failover.probe_timeout);
                       e->fence(db);
                       how = "writes refused and sessions ended on " + from;
                     } catch (const std::exception& err) {
                       if (!cfg.failover.fence.empty()) {
                         run_checked(*ctx.runner, expand_argv(cfg.failover.fence, {{"server", from}}));
                         how = from + " unreachable; fence command ran";
                       } else {
                         how = from + " unreachable and no fence command configured; it is refused if it comes back";
                       }
                     }
                     st.set_fenced(from, epoch - 1);
                     return how;
                   }});
  steps.push_back({"lag", "check the standby's lag against max_lag (" + format_size(cfg.failover.max_lag) + ")",
                   {"-- standby: SELECT pg_last_wal_replay_lsn(); active: SELECT pg_current_wal_lsn() (or the last one observed)"},
                   [=] {
                     auto lag = standby_lag(ctx, from, to);
                     if (!lag || *lag > cfg.failover.max_lag) {
                       const std::string msg = "standby lag " + lag_text(lag) + " (max_lag " + format_size(cfg.failover.max_lag) + ")";
                       if (o.automatic) throw SafetyError("automatic promotion refused: " + msg, "promote by hand with 'sitekeeper failover --yes' if losing that is acceptable");
                       logger()->warn("{}: going ahead because the operator said --yes", msg);
                       return msg + "; accepted by the operator";
                     }
                     return "standby lag " + lag_text(lag) + " within max_lag";
                   }});
  steps.push_back({"promote", "promote the standby " + to,
                   {"SELECT pg_promote(true, 60);", "ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf();",
                    "ALTER DATABASE " + qdb + " WITH ALLOW_CONNECTIONS true;"},
                   [=] {
                     auto e = engine_for(ctx, to);
                     e->promote(db);
                     if (auto* pg = as_pg(*e)) pg->unfence(db);
                     return to + " accepts writes";
                   }});
  steps.push_back({"profile", "re-apply the server profile captured from " + from,
                   {"ALTER SYSTEM SET <each captured setting>; SELECT pg_reload_conf();",
                    "CREATE EXTENSION IF NOT EXISTS <each captured extension>;", "ALTER DATABASE/ROLE ... SET <captured settings>;"},
                   [=] {
                     auto cap = newest_capture(cfg);
                     if (!cap) return std::string("no capture in the archive: nothing to re-apply (run 'sitekeeper capture' regularly)");
                     auto restart = engine_for(ctx, to)->apply_profile(db, cap->profile);
                     std::string r = "profile from capture " + cap->id + " applied";
                     if (!restart.empty()) {
                       r += "; needs a restart: ";
                       for (const auto& n : restart) r += n + " ";
                     }
                     return r;
                   }});
  steps.push_back({"permissions", "replay and verify the captured permission script",
                   {"-- CREATE ROLE (or ALTER ROLE when present) ... PASSWORD '<captured hash>';",
                    "-- GRANT ... as captured; only permission statements are accepted"},
                   [=] {
                     auto cap = newest_capture(cfg);
                     if (!cap) return std::string("no capture in the archive: nothing to replay");
                     auto e = engine_for(ctx, to);
                     e->replay_roles({cap->permissions}, {});  // the new active: roles as captured
                     e->replay_grants({cap->permissions}, db);
                     auto now = e->capture_permissions(db).text;
                     int roles = 0;
                     for (const auto& stmt : sql::parse_permission_script(cap->permissions)) {
                       if (stmt.kind != sql::PermStatement::Kind::kCreateRole) continue;
                       ++roles;
                       if (now.find("CREATE ROLE " + sql::quote_ident(stmt.role) + " ") == std::string::npos)
                         throw Error("role " + stmt.role + " is missing after the replay");
                     }
                     return "capture " + cap->id + " replayed; " + std::to_string(roles) + " roles verified";
                   }});
  steps.push_back({"serials", "move every sequence past the highest value the old active may have issued (+" +
                                  std::to_string(cfg.failover.serial_headroom) + ")",
                   {"SELECT setval('<schema>.<sequence>', GREATEST(<high-water mark>, <own value>) + " +
                    std::to_string(cfg.failover.serial_headroom) + ", true); -- for each sequence"},
                   [=] {
                     SiteState st(ctx.state);
                     auto marks = st.serial_marks();
                     try {  // the old active itself, if it still answers, knows best
                       for (const auto& v : engine_for(ctx, from)->read_serials(db)) {
                         auto& m = marks[v.schema + "." + v.name];
                         m = std::max(m, v.value);
                       }
                     } catch (const std::exception&) {
                     }
                     auto e = engine_for(ctx, to);
                     std::vector<sql::SerialValue> targets;
                     for (const auto& own : e->read_serials(db)) {
                       std::int64_t mark = marks.count(own.schema + "." + own.name) ? marks[own.schema + "." + own.name] : 0;
                       targets.push_back({own.schema, own.name, std::max(own.value, mark) + cfg.failover.serial_headroom});
                     }
                     e->resync_serials(db, targets);
                     return std::to_string(targets.size()) + " sequences moved past their high-water marks (" +
                            std::to_string(marks.size()) + " marks observed)";
                   }});
  steps.push_back({"epoch", "raise the epoch to " + std::to_string(epoch) + " and record " + to + " as active",
                   {"ALTER DATABASE postgres SET sitekeeper.epoch = '" + std::to_string(epoch) + "'; -- on " + to},
                   [=] {
                     SiteState st(ctx.state);
                     auto e = engine_for(ctx, to);
                     if (auto* pg = as_pg(*e)) pg->set_server_epoch(epoch);
                     st.set_epoch(epoch);
                     st.set_roles(to, "");
                     return "epoch " + std::to_string(epoch) + "; active " + to + "; no standby until rejoin";
                   }});
  steps.push_back({"alias", "point the site alias at " + to,
                   {cfg.failover.alias.empty() ? "-- no alias command configured"
                                               : shown_argv(cfg.failover.alias, to)},
                   [=] {
                     if (cfg.failover.alias.empty()) return std::string("no alias command configured");
                     run_checked(*ctx.runner, expand_argv(cfg.failover.alias, {{"server", to}}));
                     return std::string("alias command ran");
                   }});
  steps.push_back({"smoke", "smoke test: one write and one read on " + to,
                   {"CREATE TEMPORARY TABLE sitekeeper_smoke (at timestamptz); INSERT ...; SELECT count(*) ...;"},
                   [=] {
                     engine_for(ctx, to)->smoke_test(db);
                     return to + " accepted a write and read it back";
                   }});
  steps.push_back({"repoint", "point the replicas and the backup schedule at " + to,
                   {"-- the state store now names " + to + " as active: backup and refresh read from it"},
                   [to] { return "backup and refresh now use " + to; }});
  return steps;
}

std::vector<Step> switchover_steps(const Ctx& ctx, nlohmann::json& journal) {
  const auto& cfg = ctx.cfg;
  const std::string db = cfg.site.database, from = journal["from"], to = journal["to"];
  const long epoch = journal["epoch"].get<long>();
  const std::string qdb = sql::quote_ident(db);
  std::vector<Step> steps;
  steps.push_back({"check", "check that " + to + " streams from " + from,
                   {"-- on " + to + ": SELECT status FROM pg_stat_wal_receiver; -- streaming"},
                   [=] {
                     if (!streaming(ctx, to)) throw SafetyError("standby " + to + " is not streaming", "see 'sitekeeper standby status'");
                     auto lag = standby_lag(ctx, from, to);
                     if (!lag || *lag > cfg.failover.max_lag)
                       throw SafetyError("standby lag " + lag_text(lag) + " beyond max_lag " + format_size(cfg.failover.max_lag));
                     return "streaming, lag " + lag_text(lag);
                   }});
  steps.push_back({"block", "block writes on " + from,
                   {"ALTER DATABASE " + qdb + " WITH ALLOW_CONNECTIONS false;",
                    "ALTER SYSTEM SET default_transaction_read_only = on; SELECT pg_reload_conf();",
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " + sql::quote_literal(db) + ";"},
                   [=] {
                     engine_for(ctx, from)->fence(db);
                     return "writes blocked on " + from;
                   }});
  steps.push_back({"catchup", "wait until " + to + " has replayed the final position of " + from,
                   {"-- on " + from + ": SELECT pg_current_wal_lsn();", "-- on " + to + ": SELECT pg_last_wal_replay_lsn(); -- until equal"},
                   [=] {
                     auto a = engine_for(ctx, from);
                     auto b = engine_for(ctx, to);
                     const std::string final_pos = a->wal_position();
                     wait_for([&] { return b->wal_distance(final_pos, b->wal_position()) == 0; }, std::chrono::seconds(60),
                              to + " to replay " + final_pos);
                     return to + " replayed " + final_pos;
                   }});
  steps.push_back({"stop", "stop " + from, {"pg_ctl stop -m fast -D <data_dir of " + from + ">"},
                   [=] {
                     if (cfg.server(from).data_dir.empty()) return from + " has no data_dir here; stop it by hand";
                     sql::LocalServer(cfg.server(from), ctx.runner).stop("fast");
                     return from + " stopped";
                   }});
  steps.push_back({"promote", "promote " + to,
                   {"SELECT pg_promote(true, 60);", "ALTER DATABASE " + qdb + " WITH ALLOW_CONNECTIONS true;"},
                   [=] {
                     auto e = engine_for(ctx, to);
                     e->promote(db);
                     if (auto* pg = as_pg(*e)) pg->unfence(db);
                     return to + " accepts writes";
                   }});
  steps.push_back({"epoch", "raise the epoch to " + std::to_string(epoch) + "; " + to + " active, " + from + " standby",
                   {"ALTER DATABASE postgres SET sitekeeper.epoch = '" + std::to_string(epoch) + "';"},
                   [=] {
                     SiteState st(ctx.state);
                     auto e = engine_for(ctx, to);  // must outlive `pg`
                     if (auto* pg = as_pg(*e)) pg->set_server_epoch(epoch);
                     st.set_epoch(epoch);
                     st.set_roles(to, from);
                     return "epoch " + std::to_string(epoch);
                   }});
  steps.push_back({"rejoin", "make " + from + " a standby of " + to,
                   {"SELECT pg_create_physical_replication_slot('" + sql::slot_name(from) + "', true); -- on " + to,
                    "pg_rewind --target-pgdata=<data_dir> --source-server=<" + to + ">", "pg_ctl start"},
                   [=] {
                     if (cfg.server(from).data_dir.empty()) return from + " has no data_dir here: run 'sitekeeper rejoin' where it lives";
                     auto e = engine_for(ctx, to);
                     if (auto* pg = as_pg(*e)) pg->ensure_slot(sql::slot_name(from));
                     sql::LocalServer old(cfg.server(from), ctx.runner);
                     old.stop("fast");
                     // It stopped cleanly after the standby replayed everything: following the new
                     // timeline needs no rewind. Rewind only when it does not stream.
                     old.configure_standby(cfg.server(to), sql::slot_name(from));
                     old.start();
                     try {
                       wait_for([&] { return streaming(ctx, from); }, std::chrono::seconds(20), from + " to stream from " + to);
                       return from + " streams from " + to;
                     } catch (const Error&) {
                       logger()->warn("{} does not stream from {}: rewinding it", from, to);
                     }
                     old.stop("fast");
                     // The promoted server names its new timeline only after a checkpoint; without
                     // one pg_rewind sees the old timeline and rewinds nothing.
                     if (auto* pg = as_pg(*e)) pg->checkpoint();
                     old.rewind_from(cfg.server(to), sql::slot_name(from));
                     old.start();
                     wait_for([&] { return stably_streaming(ctx, from); }, std::chrono::seconds(90), from + " to stream from " + to);
                     return from + " rewound and streams from " + to;
                   }});
  steps.push_back({"smoke", "smoke test on " + to, {"CREATE TEMPORARY TABLE ...; INSERT ...; SELECT ...;"},
                   [=] {
                     engine_for(ctx, to)->smoke_test(db);
                     return to + " accepted a write and read it back";
                   }});
  return steps;
}

}  // namespace

std::string standby_init(const Ctx& ctx) {
  const auto& cfg = ctx.cfg;
  SiteState st(ctx.state);
  const std::string active = st.active(cfg), standby = st.standby(cfg);
  if (standby.empty()) throw ConfigError("no standby in [roles]", "name the standby server in [roles] standby");
  sql::LocalServer local(cfg.server(standby), ctx.runner);
  if (local.running() && streaming(ctx, standby)) return "standby " + standby + " already streams from " + active;
  auto a = ctx.engines(cfg.server(active));
  const std::string slot = sql::slot_name(standby);
  if (auto* pg = as_pg(*a)) pg->ensure_slot(slot);
  local.basebackup_from(cfg.server(active), slot);
  local.start();
  wait_for([&] { return stably_streaming(ctx, standby); }, std::chrono::seconds(90), standby + " to stream");
  return "standby " + standby + " built from " + active + " and streaming (slot " + slot + ")";
}

nlohmann::json standby_status(const Ctx& ctx) {
  const auto& cfg = ctx.cfg;
  SiteState st(ctx.state);
  const std::string active = st.active(cfg), standby = st.standby(cfg);
  nlohmann::json j = {{"active", active}, {"standby", standby}, {"epoch", st.epoch()}, {"paused", st.paused()}};
  if (standby.empty()) {
    j["healthy"] = false;
    j["state"] = "no standby";
    return j;
  }
  try {
    auto e = ctx.engines(cfg.server(standby));
    auto p = e->probe(cfg.failover.probe_timeout);
    auto rs = e->replication_state();
    j["role"] = p.in_recovery ? "standby" : "primary";
    j["state"] = rs.state;
    j["slot"] = sql::slot_name(standby);
    std::optional<std::uint64_t> lag;
    try {
      lag = standby_lag(ctx, active, standby);
    } catch (const std::exception&) {
    }
    j["lag_bytes"] = lag ? nlohmann::json(*lag) : nlohmann::json();
    j["lag_seconds"] = lag && *lag == 0 ? 0.0 : rs.lag_seconds;
    j["healthy"] = p.in_recovery && rs.state == "streaming" && lag && *lag <= cfg.failover.max_lag;
  } catch (const std::exception& e) {
    j["role"] = "unreachable";
    j["state"] = "unreachable";
    j["error"] = e.what();
    j["healthy"] = false;
    // The standby is down: the active still knows how far behind it is, from what its slot keeps.
    j["lag_bytes"] = nlohmann::json();
    try {
      auto a = ctx.engines(cfg.server(active));
      if (auto* pg = as_pg(*a)) {
        const std::string kept = pg->slot_position(sql::slot_name(standby));
        if (!kept.empty()) j["lag_bytes"] = a->wal_distance(a->wal_position(), kept);
      }
    } catch (const std::exception&) {
    }
  }
  return j;
}

nlohmann::json plan(const Ctx& ctx, const std::string& kind) {
  SiteState st(ctx.state);
  nlohmann::json journal = {{"from", st.active(ctx.cfg)}, {"to", st.standby(ctx.cfg)}, {"epoch", st.epoch() + 1},
                            {"steps", nlohmann::json::object()}};
  if (auto open = st.open_journal(); open && (*open)["kind"] == kind) journal = *open;
  if (journal["to"].get<std::string>().empty()) throw SafetyError("no standby to promote", "see 'sitekeeper standby status'");
  RunbookOptions o;
  auto steps = kind == "failover" ? failover_steps(ctx, o, journal) : switchover_steps(ctx, journal);
  nlohmann::json p = {{"kind", kind}, {"from", journal["from"]}, {"to", journal["to"]}, {"epoch", journal["epoch"]},
                      {"steps", nlohmann::json::array()}};
  int n = 1;
  for (const auto& s : steps)
    p["steps"].push_back({{"n", n++}, {"name", s.name}, {"title", s.title}, {"actions", s.actions},
                          {"done", journal["steps"].contains(s.name)}});
  return p;
}

std::string render_plan(const nlohmann::json& p) {
  std::ostringstream o;
  o << p["kind"].get<std::string>() << " plan: " << p["from"].get<std::string>() << " -> " << p["to"].get<std::string>()
    << " (epoch " << p["epoch"] << ")\n";
  for (const auto& s : p["steps"]) {
    o << "\n" << s["n"] << ". " << s["name"].get<std::string>() << ": " << s["title"].get<std::string>()
      << (s["done"].get<bool>() ? "  [done]" : "") << "\n";
    for (const auto& a : s["actions"]) o << "     " << a.get<std::string>() << "\n";
  }
  return o.str();
}

std::string run_failover(const Ctx& ctx, const RunbookOptions& o) {
  const auto& cfg = ctx.cfg;
  SiteState st(ctx.state);
  auto journal = st.open_journal();
  if (!journal) {
    const std::string from = st.active(cfg), to = st.standby(cfg);
    if (to.empty()) throw SafetyError("no standby to promote", "build one with 'sitekeeper standby init'");
    if (st.paused() && o.automatic) throw SafetyError("a maintenance window is declared: no automatic promotion");
    // A failover is for a failed active: one that answers as a writable primary calls for switchover.
    bool active_healthy = false;
    try {
      auto p = ctx.engines(cfg.server(from))->probe(cfg.failover.probe_timeout);
      active_healthy = !p.in_recovery && !p.read_only;
    } catch (const std::exception&) {
    }
    if (active_healthy)
      throw SafetyError("active server " + from + " answers and accepts writes",
                        "for a planned role swap use 'sitekeeper switchover --yes'");
    auto sp = ctx.engines(cfg.server(to))->probe(cfg.failover.probe_timeout);
    if (!sp.in_recovery) throw SafetyError("standby " + to + " is not in recovery; refusing to promote it");
  }
  auto j = open_or_resume(st, "failover", st.active(cfg), st.standby(cfg), *ctx.clock);
  auto steps = failover_steps(ctx, o, j);
  run_steps(st, j, steps, *ctx.clock);
  j["finished_at"] = iso_utc(ctx.clock->now());
  st.close_journal(j);
  return "failover done: " + j["to"].get<std::string>() + " is active (epoch " + std::to_string(j["epoch"].get<long>()) +
         "); " + j["from"].get<std::string>() + " is fenced until 'sitekeeper rejoin'";
}

std::string run_switchover(const Ctx& ctx, const RunbookOptions&) {
  SiteState st(ctx.state);
  if (st.standby(ctx.cfg).empty()) throw SafetyError("no standby to switch to", "build one with 'sitekeeper standby init'");
  auto j = open_or_resume(st, "switchover", st.active(ctx.cfg), st.standby(ctx.cfg), *ctx.clock);
  auto steps = switchover_steps(ctx, j);
  run_steps(st, j, steps, *ctx.clock);
  j["finished_at"] = iso_utc(ctx.clock->now());
  st.close_journal(j);
  return "switchover done: " + j["to"].get<std::string>() + " is active, " + j["from"].get<std::string>() +
         " is its standby (epoch " + std::to_string(j["epoch"].get<long>()) + ")";
}

std::string run_rejoin(const Ctx& ctx, const std::string& wanted) {
  const auto& cfg = ctx.cfg;
  SiteState st(ctx.state);
  auto fenced = st.fenced();
  std::string server = wanted;
  if (server.empty()) {
    if (fenced.empty()) throw SafetyError("no fenced server to rejoin", "name one with --server");
    server = fenced.begin()->first;
  }
  const std::string active = st.active(cfg);
  if (server == active) throw SafetyError(server + " is the active server; it cannot rejoin as a standby");
  sql::LocalServer local(cfg.server(server), ctx.runner);
  try {
    local.stop("fast");
  } catch (const Error& e) {
    logger()->warn("fast stop of {} failed ({}); stopping it immediately", server, e.what());
    local.stop("immediate");
  }
  auto a = ctx.engines(cfg.server(active));
  if (auto* pg = as_pg(*a)) pg->ensure_slot(sql::slot_name(server));
  if (auto* pg = as_pg(*a)) pg->checkpoint();  // so pg_rewind sees the new timeline
  local.rewind_from(cfg.server(active), sql::slot_name(server));
  local.start();
  wait_for([&] { return stably_streaming(ctx, server); }, std::chrono::seconds(90), server + " to stream from " + active);
  st.clear_fenced(server);
  st.set_roles(active, server);
  return server + " rewound onto " + active + " and streaming as its standby";
}

bool interrupted_failover(StateStore& state) {
  auto j = SiteState(state).open_journal();
  return j && j->value("kind", "") == "failover" && !pid_alive(j->value("pid", 0L));
}

std::vector<std::string> stale_writable_servers(const Ctx& ctx) {
  SiteState st(ctx.state);
  std::vector<std::string> out;
  for (const auto& [server, epoch] : st.fenced()) {
    if (!ctx.cfg.servers.count(server)) continue;
    try {
      auto p = ctx.engines(ctx.cfg.server(server))->probe(ctx.cfg.failover.probe_timeout);
      if (!p.in_recovery && !p.read_only) out.push_back(server);
    } catch (const std::exception&) {
    }
  }
  return out;
}

std::string runbook_markdown(const Ctx& ctx) {
  const auto& cfg = ctx.cfg;
  SiteState st(ctx.state);
  const std::string active = st.active(cfg), standby = st.standby(cfg);
  std::ostringstream o;
  const std::string sk = "sitekeeper --config " + cfg.file.string();
  o << "# Recovery runbook for site " << cfg.site.code << " (database " << cfg.site.database << ")\n\n"
    << "Generated " << iso_utc(ctx.clock->now()) << " from " << cfg.file.string() << ". Epoch " << st.epoch()
    << "; active **" << active << "**; standby **" << (standby.empty() ? "none" : standby) << "**.\n\n";
  o << "## 1. Prepare\n\n"
    << "- `" << sk << " check` — every server reachable, backup younger than " << format_duration(cfg.archive.max_age)
    << ", no profile drift. Read the readiness line.\n"
    << "- `" << sk << " standby status` — the standby streams; lag below " << format_size(cfg.failover.max_lag) << ".\n"
    << "- `" << sk << " capture` — fresh permission script and server profile in " << cfg.archive.path.string() << ".\n"
    << "- `" << sk << " verify --deep` — the newest backup restores and passes pg_amcheck.\n"
    << "- `" << sk << " pause` before maintenance on " << active << "; `" << sk << " resume` after.\n\n";
  o << "## 2. Rebuild\n\n";
  if (standby.empty())
    o << "- There is no standby. `" << sk << " rejoin` turns the fenced old active into one (pg_rewind), or set\n"
      << "  [roles] standby and run `" << sk << " standby init` on an empty data directory.\n";
  else
    o << "- A lost standby: empty its data directory, then `" << sk << " standby init`; check `standby status`.\n";
  o << "- A replica lost: `" << sk << " refresh --replica NAME` restores the newest verified backup.\n\n";
  o << "## 3. Restore (the active server failed)\n\n"
    << "1. Confirm the failure: `" << sk << " status` and `standby status`; the standby must no longer hear " << active << ".\n"
    << "2. Read the plan: `" << sk << " failover --plan`.\n"
    << "3. Execute: `" << sk << " failover --yes`. If it stops, run the same command again: finished steps are skipped.\n\n";
  if (!standby.empty()) {
    try {
      o << "```\n" << render_plan(plan(ctx, "failover")) << "```\n\n";
    } catch (const std::exception&) {
    }
  }
  o << "## 4. Repair\n\n"
    << "- Serial numbers were moved past every value the old active may have issued (+" << cfg.failover.serial_headroom
    << "); check `history`.\n"
    << "- Logins and grants were replayed from the newest capture; profile settings that need a restart are listed in\n"
    << "  the failover output: schedule that restart.\n"
    << "- `" << sk << " refresh` so every replica serves a copy taken from the new active after the next backup\n"
    << "  (`" << sk << " backup` now reads from the new active).\n"
    << "- When the old active is repaired: `" << sk << " rejoin` — it is stopped, rewound and streams as the new standby.\n"
    << "  Until then it is fenced: if it comes back writable it is fenced again and never treated as active.\n";
  return o.str();
}

}  // namespace sk::standby
