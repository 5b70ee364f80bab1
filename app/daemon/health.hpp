#pragma once
// Probes every replica in the background (the active server is probed by the HA loop) and keeps the latest answers, so that
// GET /active and GET /replica answer from memory and never wait on a database or a running job.
// Thread-safety: snapshot() and set_config() may be called from any thread.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "app/daemon/metrics.hpp"
#include "sql/engine.hpp"

namespace sk::daemon {

struct ServerHealth {
  std::string name;
  bool up = false;          // answered the last probe (replicas: and the site database exists)
  bool probed = false;      // at least one probe has finished
  std::string error;
  std::string version;
  std::string checked_at;   // ISO 8601 UTC
};

struct HealthSnapshot {
  ServerHealth active;
  std::map<std::string, ServerHealth> replicas;
};

class HealthMonitor {
 public:
  // `cfg` returns the configuration in force, with the roles in force (after a failover).
  HealthMonitor(std::function<std::shared_ptr<const Config>()> cfg, sql::EngineFactory engines, Metrics& metrics);
  ~HealthMonitor();  // stops the thread
  HealthSnapshot snapshot() const;
  void stop();

 private:
  void loop();
  ServerHealth probe(const ServerConfig& s, const std::string& db, std::chrono::milliseconds timeout);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::function<std::shared_ptr<const Config>()> cfg_;
  sql::EngineFactory engines_;
  Metrics& metrics_;
  HealthSnapshot snap_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace sk::daemon
