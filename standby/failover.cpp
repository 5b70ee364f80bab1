// The runbooks composed from the step builders (steps/steps.hpp), and the standby's own commands.
#include "standby/failover.hpp"

#include <sstream>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "core/units.hpp"
#include "standby/runbook.hpp"
#include "standby/site_state.hpp"
#include "standby/steps/steps.hpp"

namespace sk::standby {

namespace {

using Ctx = replicator::JobContext;
auto logger() { return log::get("standby"); }

// The databases a run covers are the journal's, fixed when it began: a database added to or removed
// from [site] databases before a resume must not miss its closed promotion and serials, nor stay closed
// for good. A journal from before several databases covers the site database alone.
std::vector<std::string> run_databases(const Ctx& ctx, const nlohmann::json& j) {
  if (!j.contains("databases")) return {ctx.cfg.site.database};
  auto dbs = j["databases"].get<std::vector<std::string>>();
  if (dbs != ctx.cfg.site.databases)
    logger()->warn("{} {} covers the databases it began with ({}); [site] databases now differs", j.value("kind", ""),
                   j.value("id", ""), join_list(dbs));
  return dbs;
}

StepContext context_of(const Ctx& ctx, const RunbookOptions& o, nlohmann::json& j) {
  auto dbs = run_databases(ctx, j);
  return StepContext{ctx, o, j, dbs.front(), j["from"].get<std::string>(), j["to"].get<std::string>(),
                     j["epoch"].get<long>(), dbs};
}

std::vector<Step> failover_steps(const StepContext& sc) {
  using namespace steps;
  // Serials before profile and permissions, and the database closed to clients from the promotion to
  // the open step: no client write lands before the serials are past the old active's.
  return {fence(sc),     lag(sc),          promote(sc),        serials(sc), profile(sc),  permissions(sc),
          epoch(sc, ""), smoke(sc),        open(sc),           alias(sc),   repoint(sc)};
}

std::vector<Step> switchover_steps(const StepContext& sc) {
  using namespace steps;
  return {check_streaming(sc), block(sc),          catchup(sc), stop_old(sc), promote(sc), serials(sc),
          profile(sc),         epoch(sc, sc.from), smoke(sc),   open(sc),     rejoin(sc)};
}

std::vector<Step> steps_of(const std::string& kind, const StepContext& sc) {
  return kind == "failover" ? failover_steps(sc) : switchover_steps(sc);
}

// The journal a run would start from: the open one of this kind, or a new one (not stored).
nlohmann::json preview(SiteState& st, const Config& cfg, const std::string& kind) {
  if (auto open = st.open_journal(); open && (*open)["kind"] == kind) return *open;
  return {{"from", st.active(cfg)}, {"to", st.standby(cfg)}, {"epoch", st.epoch() + 1}, {"kind", kind},
          {"steps", nlohmann::json::object()}, {"databases", cfg.site.databases}};
}

// Checks every step's duties, then opens (or resumes) the journal and runs the steps.
std::string run_kind(const Ctx& ctx, const RunbookOptions& o, const std::string& kind) {
  SiteState st(ctx.state);
  auto pre = preview(st, ctx.cfg, kind);
  {
    auto psc = context_of(ctx, o, pre);
    check_duties(psc, steps_of(kind, psc));
  }
  auto j = open_or_resume(st, kind, pre["from"], pre["to"], *ctx.clock, {{"databases", pre["databases"]}});
  auto sc = context_of(ctx, o, j);
  auto steps = steps_of(kind, sc);
  run_to_end(sc, steps);
  return j["to"].get<std::string>();
}

bool streaming(const Ctx& ctx, const std::string& server) {
  return ctx.engines(ctx.cfg.server(server))->replication_state().state == "streaming";
}

}  // namespace

std::string standby_init(const Ctx& ctx) {
  const auto& cfg = ctx.cfg;
  SiteState st(ctx.state);
  const std::string active = st.active(cfg), standby = st.standby(cfg);
  if (standby.empty()) throw ConfigError("no standby in [roles]", "name the standby server in [roles] standby");
  auto se = ctx.engines(cfg.server(standby));
  auto ae = ctx.engines(cfg.server(active));
  for (auto [e, duty] : {std::pair{ae.get(), sql::Duty::prepare_standby}, std::pair{se.get(), sql::Duty::build_standby}})
    if (!e->supports(duty))
      throw Error(std::string(sql::to_string(duty)) + " is not supported for " + e->dialect() + "; nothing was changed");
  if (se->server_running() && streaming(ctx, standby)) return "standby " + standby + " already streams from " + active;
  // Only the active and the standby are touched: a slot on the one, a new data directory on the other.
  ae->prepare_for_standby(standby);
  se->build_standby(cfg.server(active), steps::timing_for(cfg));
  steps::wait_for([&] { return steps::stably_streaming(ctx, standby); }, std::chrono::seconds(90), standby + " to stream",
                  ctx.cancel);
  if (cfg.failover.synchronous) ae->set_synchronous_standby(standby);
  return "standby " + standby + " built from " + active + " and streaming" +
         (cfg.failover.synchronous ? "; commits on " + active + " now wait for it" : "");
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
  auto bounded = [&](const std::string& s) {
    auto e = ctx.engines(cfg.server(s));
    e->bound_connect(cfg.failover.probe_timeout);
    return e;
  };
  try {
    auto e = bounded(standby);
    auto p = e->probe(cfg.failover.probe_timeout);
    auto rs = e->replication_state();
    j["role"] = p.in_recovery ? "standby" : "primary";
    j["state"] = rs.state;
    std::optional<std::uint64_t> lag;
    std::string position;
    try {
      position = bounded(active)->wal_position();
    } catch (const std::exception&) {
      position = st.last_active_lsn();  // the active is away: the last position the daemon saw
    }
    if (!position.empty()) lag = e->wal_distance(position, e->wal_position());
    j["lag_bytes"] = lag ? nlohmann::json(*lag) : nlohmann::json();
    // Caught up with the active means no lag; otherwise the time since the last replayed commit.
    j["lag_seconds"] = lag && *lag == 0 ? 0.0 : rs.lag_seconds;
    j["heard_seconds_ago"] = rs.seconds_since_message;
    j["healthy"] = p.in_recovery && rs.state == "streaming" && lag && *lag <= cfg.failover.max_lag;
  } catch (const std::exception& e) {
    j["role"] = "unreachable";
    j["state"] = "unreachable";
    j["error"] = e.what();
    j["healthy"] = false;
    // The standby is down: the active still knows how far behind it is, from what it keeps for it.
    j["lag_bytes"] = nlohmann::json();
    try {
      auto a = bounded(active);
      const std::string kept = a->kept_for_standby(standby);
      if (!kept.empty()) j["lag_bytes"] = a->wal_distance(a->wal_position(), kept);
    } catch (const std::exception&) {
    }
  }
  return j;
}

nlohmann::json plan(const Ctx& ctx, const std::string& kind) {
  SiteState st(ctx.state);
  auto j = preview(st, ctx.cfg, kind);
  if (j["to"].get<std::string>().empty()) throw SafetyError("no standby to promote", "see 'sitekeeper standby status'");
  RunbookOptions o;
  auto sc = context_of(ctx, o, j);
  return plan_of(sc, kind, steps_of(kind, sc));
}

std::string run_failover(const Ctx& ctx, const RunbookOptions& o) {
  const auto& cfg = ctx.cfg;
  SiteState st(ctx.state);
  if (!st.open_journal()) {
    const std::string from = st.active(cfg), to = st.standby(cfg);
    if (to.empty()) throw SafetyError("no standby to promote", "build one with 'sitekeeper standby init'");
    if (st.paused() && o.automatic) throw SafetyError("a maintenance window is declared: no automatic promotion");
    // A failover is for a failed active: one that answers as a writable primary calls for switchover.
    // The HA loop decided on probes it just made, so an automatic run does not ask again.
    bool active_healthy = false;
    if (!o.automatic) try {
      auto e = ctx.engines(cfg.server(from));
      e->bound_connect(cfg.failover.probe_timeout);
      auto p = e->probe(cfg.failover.probe_timeout);
      active_healthy = !p.in_recovery && !p.read_only;
    } catch (const std::exception&) {
    }
    if (active_healthy)
      throw SafetyError("active server " + from + " answers and accepts writes",
                        "for a planned role swap use 'sitekeeper switchover --yes'");
    auto sp = ctx.engines(cfg.server(to))->probe(cfg.failover.probe_timeout);
    if (!sp.in_recovery) throw SafetyError("standby " + to + " is not in recovery; refusing to promote it");
  }
  const auto j = st.open_journal();
  const std::string to = run_kind(ctx, o, "failover");
  const auto last = st.last_journal().value_or(nlohmann::json::object());
  return "failover done: " + to + " is active (epoch " + std::to_string(last.value("epoch", 0L)) + "); " +
         last.value("from", std::string("the old active")) + " is fenced until 'sitekeeper rejoin'";
}

std::string run_switchover(const Ctx& ctx, const RunbookOptions& o) {
  SiteState st(ctx.state);
  if (!st.open_journal() && st.standby(ctx.cfg).empty())
    throw SafetyError("no standby to switch to", "build one with 'sitekeeper standby init'");
  const std::string to = run_kind(ctx, o, "switchover");
  const auto last = st.last_journal().value_or(nlohmann::json::object());
  return "switchover done: " + to + " is active, " + last.value("from", std::string("the old active")) +
         " is its standby (epoch " + std::to_string(last.value("epoch", 0L)) + ")";
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
  auto a = ctx.engines(cfg.server(active));
  auto old = ctx.engines(cfg.server(server));
  for (auto [e, duty] : {std::pair{a.get(), sql::Duty::prepare_standby}, std::pair{old.get(), sql::Duty::rewind},
                         std::pair{old.get(), sql::Duty::stop}})
    if (!e->supports(duty))
      throw Error(std::string(sql::to_string(duty)) + " is not supported for " + e->dialect() + "; nothing was changed");
  // A fenced server diverged from the new timeline: it is rewound, never just restarted.
  old->stop_server();
  a->prepare_for_standby(server);
  a->checkpoint();  // so the rewind sees the new timeline
  old->rewind_onto(cfg.server(active), steps::timing_for(cfg));
  steps::wait_for([&] { return steps::stably_streaming(ctx, server); }, std::chrono::seconds(90),
                  server + " to stream from " + active, ctx.cancel);
  st.clear_fenced(server);
  st.set_roles(active, server);
  if (cfg.failover.synchronous) a->set_synchronous_standby(server);
  return server + " rewound onto " + active + " and streaming as its standby";
}

bool interrupted_failover(StateStore& state) {
  auto j = SiteState(state).open_journal();
  return j && j->value("kind", "") == "failover" && !j->contains("stopped") && !pid_alive(j->value("pid", 0L));
}

std::string stopped_run(StateStore& state) {
  auto j = SiteState(state).open_journal();
  if (!j || !j->contains("stopped")) return "";
  return (*j)["kind"].get<std::string>() + " stopped: " + (*j)["stopped"].value("why", std::string("?"));
}

std::vector<std::string> stale_writable_servers(const Ctx& ctx) {
  SiteState st(ctx.state);
  std::vector<std::string> out;
  for (const auto& [server, epoch] : st.fenced()) {
    if (!ctx.cfg.servers.count(server)) continue;
    try {
      auto e = ctx.engines(ctx.cfg.server(server));
      e->bound_connect(ctx.cfg.failover.probe_timeout);
      auto p = e->probe(ctx.cfg.failover.probe_timeout);
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
  const auto dbs = cfg.site.databases;
  const std::string names = join_list(dbs);
  o << "# Recovery runbook for site " << cfg.site.code << " (" << (dbs.size() > 1 ? "databases " : "database ") << names
    << ")\n\n"
    << "Generated " << iso_utc(ctx.clock->now()) << " from " << cfg.file.string() << ". Epoch " << st.epoch()
    << "; active **" << active << "**; standby **" << (standby.empty() ? "none" : standby) << "**.\n\n";
  o << "## 1. Prepare\n\n"
    << "- `" << sk << " check` — every server reachable, backup younger than " << format_duration(cfg.archive.max_age)
    << ", no profile drift. Read the readiness line.\n"
    << "- `" << sk << " standby status` — the standby streams; lag below " << format_size(cfg.failover.max_lag) << ".\n"
    << "- `" << sk << " capture` — fresh permission script and server profile in " << cfg.archive.path.string() << ".\n"
    << "- `" << sk << " verify --deep` — the newest backup restores and passes the integrity check"
    << (dbs.size() > 1 ? ", each of " + names + " in it" : std::string()) << ".\n"
    << "- " << (cfg.failover.fence.empty() ? "No `[failover] fence` command is configured: a failover while " + active +
                                                    " does not answer needs you to power it off first."
                                              : "The fence command `" + steps::shown_argv(cfg.failover.fence, active) +
                                                    "` must work: test it outside a disaster.")
    << "\n"
    << "- `" << sk << " pause` before maintenance on " << active << "; `" << sk << " resume` after.\n\n";
  o << "## 2. Rebuild\n\n";
  if (standby.empty())
    o << "- There is no standby. `" << sk << " rejoin` turns the fenced old active into one (rewound), or set\n"
      << "  [roles] standby and run `" << sk << " standby init` on an empty data directory.\n";
  else
    o << "- A lost standby: empty its data directory, then `" << sk << " standby init`; check `standby status`.\n";
  o << "- A replica lost: `" << sk << " refresh --replica NAME` restores the newest verified backup.\n\n";
  o << "## 3. Restore (the active server failed)\n\n"
    << "1. Confirm the failure: `" << sk << " status` and `standby status`; the standby must no longer hear " << active << ".\n"
    << "2. Read the plan: `" << sk << " failover --plan`.\n"
    << "3. Execute: `" << sk << " failover --yes`" << (cfg.failover.fence.empty() ? " (add `--old-active-is-down` once it is powered off)" : "")
    << ". If it stops, run the same command again: finished steps are skipped.\n\n";
  if (!standby.empty()) {
    try {
      o << "```\n" << render_plan(plan(ctx, "failover")) << "```\n\n";
    } catch (const std::exception&) {
    }
  }
  o << "### When nothing stands by (no standby, or it failed too)\n\n"
    << "1. Fastest: a help-desk replica becomes the active, with last night's data: `" << sk
    << " recover --from-replica NAME --plan`, then the same with `--yes`.\n"
    << "2. Or rebuild on a new, empty server listed in [servers]: `" << sk << " recover --server NAME --plan`, then\n"
    << "   `--yes` (add `--files-to DIR` for the site's files). It verifies the backup deeply, restores it under the live\n"
    << "   name through a staging copy, replays logins and grants, and moves the serials past the old active's.\n"
    << (dbs.size() > 1 ? "   Every database (" + names + ") is restored, granted and resynced, each through its own\n"
                         "   staging copy; the backup must hold each of them.\n"
                       : std::string())
    << (cfg.archive.wal_stream ? "   With the WAL stream, name a spare with data_dir: its data directory is moved aside, the newest\n"
                                 "   base backup restored there and rolled forward to the last second (`--until TIME` to stop\n"
                                 "   earlier); `" + sk + " check` warns when the archived WAL cannot roll it forward.\n"
                               : std::string())
    << "3. Either way the summary states the data-loss window: the backup's time against the last write seen on " << active
    << ".\n"
    << "   If it stops, run the same command again: finished steps are skipped.\n\n";
  o << "## 4. Repair\n\n"
    << "- Serial numbers were moved past every value the old active may have issued (+" << cfg.failover.serial_headroom
    << ") before any client could connect" << (dbs.size() > 1 ? ", in each of " + names + " against its own marks" : std::string())
    << "; check `history`.\n"
    << "- Logins and grants were replayed from the newest capture; profile settings that need a restart are listed in\n"
    << "  the failover output: schedule that restart.\n"
    << "- `" << sk << " refresh` so every replica serves a copy taken from the new active after the next backup\n"
    << "  (`" << sk << " backup` now reads from the new active).\n"
    << "- When the old active is repaired: `" << sk << " rejoin` — it is stopped, rewound and streams as the new standby.\n"
    << "  Until then it is fenced: if it comes back writable it is fenced again and never treated as active.\n";
  return o.str();
}

}  // namespace sk::standby
