#include "app/daemon/health.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/units.hpp"
#include "replicator/refresh.hpp"
#include "standby/site_state.hpp"

namespace sk::daemon {

namespace {
auto logger() { return log::get("health"); }

std::string key_of(const std::string& role, const std::string& name) { return role + ":" + name; }

long long age_seconds(const std::string& iso, Clock::time_point now) {
  Clock::time_point t;
  if (!parse_iso_utc(iso, t)) return -1;
  return std::chrono::duration_cast<std::chrono::seconds>(now - t).count();
}

// What a replica serves, from the state store: a replica's fitness (GET /replica/NAME) needs it.
void add_serving(ServerHealth& h, const Config& cfg, StateStore& state, Clock::time_point now) {
  if (auto s = state.serving(h.name)) {
    h.backup_id = s->backup_id;
    h.backup_time = s->backup_time;
    h.age_seconds = age_seconds(s->backup_time, now);
  }
  h.mixed = replicator::mixed_generations(cfg, state, h.name);
}
}  // namespace

HealthMonitor::HealthMonitor(std::function<std::shared_ptr<const Config>()> cfg, StateStore& state,
                             sql::EngineFactory engines, Metrics& metrics)
    : cfg_(std::move(cfg)), state_(state), engines_(std::move(engines)), metrics_(metrics) {
  // The last daemon's verdicts, so that a restart answers with them until its own probes confirm.
  auto c = cfg_();
  auto keep = [&](const std::string& name, const std::string& role) {
    auto v = state_.get("health." + key_of(role, name));
    if (!v) return;
    try {
      auto j = nlohmann::json::parse(*v);
      Hysteresis h(c->health.rise, c->health.fall);
      h.assume(j.value("up", false));
      verdicts_[key_of(role, name)] = h;
      kept_.insert(key_of(role, name));
      ServerHealth s;
      s.name = name;
      s.role = role;
      s.up = h.up();
      s.known = true;
      s.stale = true;
      s.reason = j.value("reason", "");
      s.checked_at = j.value("at", "");
      // Without what it serves, a kept replica would count as never refreshed, and answer 503 until the
      // first probe: a restart would take it out of rotation.
      if (role == "replica") add_serving(s, *c, state_, system_clock()->now());
      snap_.servers[name] = s;
    } catch (const std::exception&) {
    }
  };
  keep(c->roles.active, "active");
  if (!c->roles.standby.empty()) keep(c->roles.standby, "standby");
  for (const auto& r : c->roles.replicas) keep(r, "replica");
  snap_.active = c->roles.active;
  snap_.standby = c->roles.standby;
  snap_.replicas = c->roles.replicas;
  snap_.max_age = c->archive.max_age;
  thread_ = std::thread([this] { loop(); });
}

HealthMonitor::~HealthMonitor() { stop(); }

void HealthMonitor::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

HealthSnapshot HealthMonitor::snapshot() const {
  std::lock_guard lock(mu_);
  return snap_;
}

ServerHealth probe_server(const Config& cfg, const sql::EngineFactory& engines, const std::string& name,
                          const std::string& role, const std::string& active_pos, long site_epoch, std::string* position) {
  ServerHealth h;
  h.name = name;
  h.role = role;
  h.checked_at = iso_utc(system_clock()->now());
  try {
    auto e = engines(cfg.server(name));
    e->bound_connect(cfg.failover.probe_timeout);
    auto p = e->probe(cfg.failover.probe_timeout);
    h.reachable = true;
    h.version = p.version;
    if (role == "active") {
      if (p.in_recovery) h.reason = name + " is in recovery";
      else if (p.read_only) h.reason = name + " refuses writes (fenced)";
      else if (e->supports(sql::Duty::epoch) && e->read_epoch() < site_epoch)
        h.reason = name + " carries an older epoch than the site's " + std::to_string(site_epoch);
      if (h.reason.empty() && position && e->supports(sql::Duty::lag)) *position = e->wal_position();
    } else if (role == "standby") {
      auto rs = e->replication_state();
      h.state = p.in_recovery ? rs.state : "primary";
      if (p.in_recovery && !active_pos.empty()) h.lag_bytes = e->wal_distance(active_pos, e->wal_position());
      if (!p.in_recovery) h.reason = name + " is not in recovery";
      else if (rs.state != "streaming") h.reason = name + " does not stream (" + rs.state + ")";
      else if (h.lag_bytes > cfg.failover.max_lag)
        h.reason = name + " lags " + format_size(h.lag_bytes) + " (max_lag " + format_size(cfg.failover.max_lag) + ")";
    } else {
      for (const auto& db : cfg.site.databases)
        if (!e->database_exists(db)) {
          h.reason = std::string(db == cfg.site.database ? "site database " : "database ") + db + " missing on " + name;
          break;
        }
    }
  } catch (const std::exception& ex) {
    h.reason = ex.what();
  }
  h.up = h.reason.empty();
  return h;
}

std::vector<std::pair<std::string, std::string>> servers_in_roles(const Config& cfg) {
  std::vector<std::pair<std::string, std::string>> servers = {{cfg.roles.active, "active"}};
  if (!cfg.roles.standby.empty()) servers.push_back({cfg.roles.standby, "standby"});
  for (const auto& r : cfg.roles.replicas) servers.push_back({r, "replica"});
  return servers;
}

void HealthMonitor::round(const Config& cfg) {
  standby::SiteState site(state_);
  const long epoch = site.epoch();
  const auto now = system_clock()->now();
  const auto servers = servers_in_roles(cfg);
  HealthSnapshot next;
  next.active = cfg.roles.active;
  next.standby = cfg.roles.standby;
  next.replicas = cfg.roles.replicas;
  next.max_age = cfg.archive.max_age;
  next.probed_at = iso_utc(now);
  std::string active_pos;
  for (const auto& [name, role] : servers) {
    ServerHealth h = probe_server(cfg, engines_, name, role, active_pos, epoch, role == "active" ? &active_pos : nullptr);
    if (!h.reachable) metrics_.probe_failed(name);
    const std::string key = key_of(role, name);
    auto it = verdicts_.try_emplace(key, cfg.health.rise, cfg.health.fall).first;
    it->second.set_limits(cfg.health.rise, cfg.health.fall);
    const bool changed = it->second.observe(h.reason.empty());
    h.up = it->second.up();
    h.known = true;
    // A kept verdict stays "stale" until this daemon changed it or had the probes it takes to.
    if (kept_.count(key) && (changed || ++rounds_[key] >= std::max(cfg.health.rise, cfg.health.fall))) kept_.erase(key);
    h.stale = kept_.count(key) > 0;
    if (role == "replica") {
      add_serving(h, cfg, state_, now);
      metrics_.replica_healthy(name, h.up);
      metrics_.replica_age(name, static_cast<double>(h.age_seconds));
    }
    if (changed) {
      if (h.up) logger()->info("{} {} is up", role, name);
      else logger()->warn("{} {} is down: {}", role, name, h.reason);
      state_.put("health." + key, nlohmann::json{{"up", h.up}, {"reason", h.reason}, {"at", h.checked_at}}.dump());
    }
    next.servers[name] = h;
  }
  state_.put("daemon.heartbeat", nlohmann::json{{"pid", static_cast<long>(::getpid())}, {"at", next.probed_at},
                                                {"interval_ms", cfg.health.interval.count()}}.dump());
  std::lock_guard lock(mu_);
  snap_ = std::move(next);
}

void HealthMonitor::loop() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
    }
    std::shared_ptr<const Config> cfg = cfg_();
    try {
      round(*cfg);
    } catch (const std::exception& e) {
      logger()->error("health round failed: {}", e.what());
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, cfg->health.interval, [this] { return stop_; });
    if (stop_) return;
  }
}

}  // namespace sk::daemon
