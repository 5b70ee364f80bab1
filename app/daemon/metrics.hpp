#pragma once
// The daemon's Prometheus metrics (all named sitekeeper_*), kept in a prometheus-cpp registry and
// rendered in the text exposition format for GET /metrics. The job label is `sitekeeper_job`:
// Prometheus's own `job` target label would rename ours to `exported_job`. Every series the daemon
// knows of exists from the start, at zero, so a dashboard never waits for a first event.
// Thread-safety: every method may be called from any thread.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/state/jobs.hpp"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace sk::daemon {

class Metrics : public JobListener {
 public:
  Metrics();
  ~Metrics() override;
  // The series of these jobs and servers, at zero (called at start and on reload).
  void declare(const std::vector<std::string>& jobs, const std::vector<std::string>& servers,
               const std::vector<std::string>& replicas, const std::vector<std::string>& copy_destinations = {});
  void job_finished(const std::string& job, const std::string& outcome, double seconds) override;
  void alert_raised(const std::string& job) override;
  void job_started(const std::string& job, double lateness_seconds);
  void backup_age(double seconds);  // -1 when there is no verified backup
  void replica_age(const std::string& replica, double seconds);
  void copy_age(const std::string& destination, double seconds);  // -1 when it holds no verified copy
  // [archive] wal_stream: the age of the newest WAL known in the archive (-1: unknown or off), whether
  // the stream is attached now, and its restarts after a failure.
  void wal_stream(double age_seconds, bool streaming, int restarts);
  // [dcs]: 1 while this manager leads and may act; how long since etcd last answered it (-1: never).
  void manager(bool acting, double etcd_silent_seconds);
  void replica_healthy(const std::string& replica, bool healthy);
  void active_up(bool up);
  void probe_failed(const std::string& server);
  void standby_lag(double bytes, double seconds);
  // The HA loop's decision of the last tick: sitekeeper_ha_decision{action} is 1 for it, 0 for the others.
  void decision(const std::string& action);
  // Runs recorded in the state store, by job and outcome: runs started from the command line too.
  void runs_recorded(const std::map<std::pair<std::string, std::string>, long long>& counts);
  std::string render() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& runs_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Histogram>& lateness_;
  prometheus::Family<prometheus::Counter>& alerts_;
  prometheus::Family<prometheus::Gauge>& backup_age_;
  prometheus::Family<prometheus::Gauge>& replica_age_;
  prometheus::Family<prometheus::Gauge>& copy_age_;
  prometheus::Family<prometheus::Gauge>& wal_age_;
  prometheus::Family<prometheus::Gauge>& wal_up_;
  prometheus::Family<prometheus::Gauge>& wal_restarts_;
  prometheus::Family<prometheus::Gauge>& leading_;
  prometheus::Family<prometheus::Gauge>& etcd_silent_;
  prometheus::Family<prometheus::Gauge>& replica_healthy_;
  prometheus::Family<prometheus::Gauge>& active_up_;
  prometheus::Family<prometheus::Counter>& probe_failures_;
  prometheus::Family<prometheus::Gauge>& lag_bytes_;
  prometheus::Family<prometheus::Gauge>& lag_seconds_;
  prometheus::Family<prometheus::Gauge>& decision_;
  prometheus::Family<prometheus::Gauge>& recorded_;
  prometheus::Family<prometheus::Gauge>& build_;
};

}  // namespace sk::daemon
