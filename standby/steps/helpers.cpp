// What several steps, standby init and rejoin share.
#include <algorithm>
#include <set>
#include <thread>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "replicator/archive.hpp"
#include "sql/permscript.hpp"
#include "standby/steps/steps.hpp"

namespace sk::standby::steps {

namespace {
auto logger() { return log::get("standby"); }
}  // namespace

std::optional<Capture> newest_capture(const Config& cfg, const std::vector<std::string>& need) {
  std::optional<Capture> best;
  std::string best_at;
  bool best_whole = false;
  for (bool captures : {false, true}) {
    auto archive = replicator::open_archive(cfg, captures);
    auto id = archive.newest_complete();
    if (!id) continue;
    auto m = archive.manifest(*id);
    bool whole = true;
    for (const auto& db : need) whole = whole && m.holds(db);
    if (best && (best_whole && !whole)) continue;
    if (best && best_whole == whole && m.created_at <= best_at) continue;
    bool intact = true;
    for (const auto& db : m.databases) {
      const std::string prefix = replicator::database_prefix(m.databases, db);
      for (const char* f : {replicator::kPermissionsFile, replicator::kProfileFile})
        intact = intact && archive.check(*id, true, nullptr, prefix + f).empty();
    }
    if (!intact) continue;
    Capture c;
    c.id = *id;
    for (const auto& db : m.databases) {
      const fs::path dir = archive.path(*id) / replicator::database_prefix(m.databases, db);
      c.permissions_of[db] = read_file(dir / replicator::kPermissionsFile);
      c.profile_of[db] = nlohmann::json::parse(read_file(dir / replicator::kProfileFile));
    }
    c.permissions = c.permissions_of[m.databases.front()];
    c.profile = c.profile_of[m.databases.front()];
    best_at = m.created_at;
    best_whole = whole;
    best = std::move(c);
  }
  return best;
}

std::string each_db(const StepContext& sc, const std::string& step, const std::function<std::string(const std::string& db)>& part) {
  if (sc.dbs.size() <= 1) return part(sc.db);
  SiteState st(sc.ctx.state);
  std::string out;
  for (const auto& db : sc.dbs) {
    std::string line;
    if (auto& done = sc.journal["parts"][step]; done.contains(db)) {
      line = done[db].get<std::string>();
      logger()->info("step {}: {} was done before the run stopped: {}", step, db, line);
    } else {
      line = part(db);
      sc.journal["parts"][step][db] = line;
      st.put_journal(sc.journal);
    }
    out += (out.empty() ? "" : "; ") + line;
  }
  return out;
}

std::string db_names(const StepContext& sc) { return sc.dbs.empty() ? sc.db : join_list(sc.dbs); }

std::vector<std::string> described(const StepContext& sc, const std::string& server, sql::Duty duty, sql::StepText what,
                                   const std::function<std::string(const std::string& db)>& into) {
  std::vector<std::string> out;
  const auto dbs = sc.dbs.empty() ? std::vector<std::string>{sc.db} : sc.dbs;
  for (const auto& db : dbs) {
    if (dbs.size() > 1) out.push_back("-- database " + db + ":");
    what.db = into ? into(db) : db;
    for (auto& l : sc.engine(server)->describe(duty, what)) out.push_back(std::move(l));
  }
  return out;
}

sql::StandbyTiming timing_for(const Config& cfg) {
  using std::chrono::milliseconds;
  // The receiver asks for a reply after half its timeout of silence: half of it is what the HA loop
  // takes to count the active as down, so the witness knows by then.
  const milliseconds down = cfg.failover.probe_interval * cfg.failover.failures;
  return {std::max<milliseconds>(milliseconds(2000), 2 * down)};
}

void wait_for(const std::function<bool()>& done, std::chrono::seconds timeout, const std::string& what,
              const CancelToken* cancel) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    try {
      if (done()) return;
    } catch (const std::exception&) {
    }
    if (cancel) cancel->check();
    if (std::chrono::steady_clock::now() > end)
      throw Error("timed out after " + std::to_string(timeout.count()) + "s waiting for " + what);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

bool stably_streaming(const replicator::JobContext& ctx, const std::string& server) {
  for (int i = 0; i < 3; ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto rs = ctx.engines(ctx.cfg.server(server))->replication_state();
    if (rs.state != "streaming" || rs.seconds_since_message > 10) return false;
  }
  return true;
}

std::string make_standby_of(const replicator::JobContext& ctx, const std::string& server, const std::string& primary) {
  const auto& cfg = ctx.cfg;
  auto p = ctx.engines(cfg.server(primary));
  auto old = ctx.engines(cfg.server(server));
  p->prepare_for_standby(server);
  const auto timing = timing_for(cfg);
  // A server that stopped cleanly after its standby replayed everything follows the new timeline with
  // no rewind; one that diverged does not stream, and is rewound.
  old->follow(cfg.server(primary), timing);
  try {
    wait_for([&] { return ctx.engines(cfg.server(server))->replication_state().state == "streaming"; },
             std::chrono::seconds(20), server + " to stream from " + primary, ctx.cancel);
    if (stably_streaming(ctx, server)) {
      if (cfg.failover.synchronous) p->set_synchronous_standby(server);
      return server + " streams from " + primary;
    }
  } catch (const Cancelled&) {
    throw;
  } catch (const Error&) {
  }
  logger()->warn("{} does not stream from {}: rewinding it", server, primary);
  // The promoted server names its new timeline only after a checkpoint; without one the rewind sees
  // the old timeline and rewinds nothing.
  p->checkpoint();
  old->rewind_onto(cfg.server(primary), timing);
  wait_for([&] { return stably_streaming(ctx, server); }, std::chrono::seconds(90), server + " to stream from " + primary,
           ctx.cancel);
  if (cfg.failover.synchronous) p->set_synchronous_standby(server);
  return server + " rewound and streams from " + primary;
}

std::optional<std::uint64_t> standby_lag(const StepContext& sc) {
  SiteState st(sc.ctx.state);
  auto standby = sc.engine(sc.to);
  std::string active_pos;
  try {
    if (!sc.old_active_answered()) throw Error("the old active did not answer the fence");
    active_pos = sc.bounded(sc.from)->wal_position();
  } catch (const std::exception&) {
    active_pos = st.last_active_lsn();
  }
  if (active_pos.empty()) return std::nullopt;
  return standby->wal_distance(active_pos, standby->wal_position());
}

std::string shown_argv(const std::vector<std::string>& argv, const std::string& server) {
  std::string out;
  for (const auto& a : expand_argv(argv, {{"server", server}})) out += (out.empty() ? "" : " ") + a;
  return out;
}

int verify_roles(sql::Engine& e, const std::string& db, const sql::PermissionScript& script) {
  std::set<std::string> present;
  for (const auto& stmt : sql::parse_permission_script(e.capture_permissions(db).text))
    if (stmt.kind == sql::PermStatement::Kind::kCreateRole) present.insert(stmt.role);
  int roles = 0;
  for (const auto& stmt : sql::parse_permission_script(script.text)) {
    if (stmt.kind != sql::PermStatement::Kind::kCreateRole) continue;
    ++roles;
    if (!present.count(stmt.role)) throw Error("role " + stmt.role + " is missing after the replay");
  }
  return roles;
}

}  // namespace sk::standby::steps
