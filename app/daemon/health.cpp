#include "app/daemon/health.hpp"

#include "core/log.hpp"

namespace sk::daemon {

HealthMonitor::HealthMonitor(std::function<std::shared_ptr<const Config>()> cfg, sql::EngineFactory engines, Metrics& metrics)
    : cfg_(std::move(cfg)), engines_(std::move(engines)), metrics_(metrics), thread_([this] { loop(); }) {}

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

ServerHealth HealthMonitor::probe(const ServerConfig& s, const std::string& db, std::chrono::milliseconds timeout) {
  ServerHealth h;
  h.name = s.name;
  h.probed = true;
  h.checked_at = iso_utc(system_clock()->now());
  try {
    auto engine = engines_(s);
    auto p = engine->probe(timeout);
    h.version = p.version;
    h.up = db.empty() || engine->database_exists(db);
    if (!h.up) h.error = "site database " + db + " missing";
  } catch (const std::exception& e) {
    h.error = e.what();
    metrics_.probe_failed(s.name);
  }
  return h;
}

void HealthMonitor::loop() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
    }
    std::shared_ptr<const Config> cfg = cfg_();
    std::map<std::string, ServerHealth> replicas;
    for (const auto& r : cfg->roles.replicas) {
      replicas[r] = probe(cfg->server(r), cfg->site.database, cfg->failover.probe_timeout);
      metrics_.replica_healthy(r, replicas[r].up);
    }
    std::unique_lock lock(mu_);
    snap_.replicas = std::move(replicas);
    // Replica health changes slowly next to the HA loop's 1 s probes; every 5 s keeps the daemon idle.
    cv_.wait_for(lock, std::max<std::chrono::milliseconds>(cfg->failover.probe_interval, std::chrono::seconds(5)),
                 [this] { return stop_; });
    if (stop_) return;
  }
}

}  // namespace sk::daemon
