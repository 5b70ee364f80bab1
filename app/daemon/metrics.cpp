#include "app/daemon/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#ifndef SK_VERSION
#define SK_VERSION "unknown"
#endif

namespace sk::daemon {

namespace pm = prometheus;

namespace {
const pm::Histogram::BucketBoundaries kDurationBuckets = {1, 5, 15, 60, 300, 900, 1800, 3600, 7200};
const pm::Histogram::BucketBoundaries kLatenessBuckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5};
const char* const kOutcomes[] = {"ok", "failed", "refused", "cancelled"};
const char* const kActions[] = {"none", "wait", "ask-witness", "failover", "resume", "refence", "refuse"};
constexpr const char* kJob = "sitekeeper_job";

template <typename T>
pm::Family<T>& family(pm::Registry& r, const char* name, const char* help);
template <>
pm::Family<pm::Counter>& family(pm::Registry& r, const char* name, const char* help) {
  return pm::BuildCounter().Name(name).Help(help).Register(r);
}
template <>
pm::Family<pm::Gauge>& family(pm::Registry& r, const char* name, const char* help) {
  return pm::BuildGauge().Name(name).Help(help).Register(r);
}
template <>
pm::Family<pm::Histogram>& family(pm::Registry& r, const char* name, const char* help) {
  return pm::BuildHistogram().Name(name).Help(help).Register(r);
}
}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<pm::Registry>()),
      runs_(family<pm::Counter>(*registry_, "sitekeeper_job_runs_total", "Job runs the daemon made, by job and outcome")),
      duration_(family<pm::Histogram>(*registry_, "sitekeeper_job_duration_seconds", "Job run durations")),
      lateness_(family<pm::Histogram>(*registry_, "sitekeeper_job_start_lateness_seconds", "How late scheduled jobs started")),
      alerts_(family<pm::Counter>(*registry_, "sitekeeper_alerts_total", "Alerts raised, by job")),
      backup_age_(family<pm::Gauge>(*registry_, "sitekeeper_backup_age_seconds", "Age of the newest verified backup (-1: none)")),
      replica_age_(family<pm::Gauge>(*registry_, "sitekeeper_replica_age_seconds", "Age of the backup each replica serves (-1: none)")),
      copy_age_(family<pm::Gauge>(*registry_, "sitekeeper_copy_newest_age_seconds",
                                  "Age of the newest verified off-site copy at each destination (-1: none)")),
      wal_age_(family<pm::Gauge>(*registry_, "sitekeeper_wal_stream_age_seconds",
                                 "Age of the newest WAL the stream put into the archive (-1: unknown or off)")),
      wal_up_(family<pm::Gauge>(*registry_, "sitekeeper_wal_stream_up", "1 while the WAL stream is attached to the active")),
      wal_restarts_(family<pm::Gauge>(*registry_, "sitekeeper_wal_stream_restarts",
                                      "WAL stream starts after a failure since the daemon began")),
      leading_(family<pm::Gauge>(*registry_, "sitekeeper_manager_leading",
                                 "[dcs] 1 while this manager leads the site and may act")),
      etcd_silent_(family<pm::Gauge>(*registry_, "sitekeeper_manager_etcd_silent_seconds",
                                     "[dcs] Seconds since etcd last answered this manager (-1: never)")),
      replica_healthy_(family<pm::Gauge>(*registry_, "sitekeeper_replica_healthy", "1 when the replica's health check passes")),
      active_up_(family<pm::Gauge>(*registry_, "sitekeeper_active_up", "1 when the active server answered the HA loop's last probe")),
      probe_failures_(family<pm::Counter>(*registry_, "sitekeeper_probe_failures_total", "Failed probes by server")),
      lag_bytes_(family<pm::Gauge>(*registry_, "sitekeeper_standby_lag_bytes", "Standby replay lag in bytes")),
      lag_seconds_(family<pm::Gauge>(*registry_, "sitekeeper_standby_lag_seconds", "Standby replay lag in seconds (0 when caught up)")),
      decision_(family<pm::Gauge>(*registry_, "sitekeeper_ha_decision", "1 for the HA loop's decision of the last tick")),
      recorded_(family<pm::Gauge>(*registry_, "sitekeeper_job_runs_recorded",
                                  "Job runs in the state store, by job and outcome (command line runs included)")),
      build_(family<pm::Gauge>(*registry_, "sitekeeper_build_info", "Always 1; the version in a label")) {
  build_.Add({{"version", SK_VERSION}}).Set(1);
  for (const char* a : kActions) decision_.Add({{"action", a}}).Set(0);
  active_up_.Add({}).Set(0);
  backup_age_.Add({}).Set(-1);
  wal_age_.Add({}).Set(-1);
  wal_up_.Add({}).Set(0);
  wal_restarts_.Add({}).Set(0);
  lag_bytes_.Add({}).Set(0);
  lag_seconds_.Add({}).Set(0);
}

Metrics::~Metrics() = default;

void Metrics::declare(const std::vector<std::string>& jobs, const std::vector<std::string>& servers,
                      const std::vector<std::string>& replicas, const std::vector<std::string>& copy_destinations) {
  for (const auto& job : jobs) {
    for (const char* o : kOutcomes) {
      runs_.Add({{kJob, job}, {"outcome", o}});
      recorded_.Add({{kJob, job}, {"outcome", o}});
    }
    alerts_.Add({{kJob, job}});
  }
  for (const auto& s : servers) probe_failures_.Add({{"server", s}});
  for (const auto& r : replicas) {
    replica_healthy_.Add({{"replica", r}});
    replica_age_.Add({{"replica", r}});
  }
  for (const auto& d : copy_destinations) copy_age_.Add({{"destination", d}});
}

void Metrics::job_finished(const std::string& job, const std::string& outcome, double seconds) {
  runs_.Add({{kJob, job}, {"outcome", outcome}}).Increment();
  duration_.Add({{kJob, job}, {"outcome", outcome}}, kDurationBuckets).Observe(seconds);
}
void Metrics::job_started(const std::string& job, double lateness) {
  lateness_.Add({{kJob, job}}, kLatenessBuckets).Observe(lateness);
}
void Metrics::alert_raised(const std::string& job) { alerts_.Add({{kJob, job}}).Increment(); }
void Metrics::backup_age(double s) { backup_age_.Add({}).Set(s); }
void Metrics::replica_age(const std::string& r, double s) { replica_age_.Add({{"replica", r}}).Set(s); }
void Metrics::copy_age(const std::string& d, double s) { copy_age_.Add({{"destination", d}}).Set(s); }
void Metrics::wal_stream(double age, bool streaming, int restarts) {
  wal_age_.Add({}).Set(age);
  wal_up_.Add({}).Set(streaming ? 1 : 0);
  wal_restarts_.Add({}).Set(restarts);
}
void Metrics::manager(bool acting, double silent) {
  leading_.Add({}).Set(acting ? 1 : 0);
  etcd_silent_.Add({}).Set(silent);
}
void Metrics::replica_healthy(const std::string& r, bool h) { replica_healthy_.Add({{"replica", r}}).Set(h ? 1 : 0); }
void Metrics::active_up(bool up) { active_up_.Add({}).Set(up ? 1 : 0); }
void Metrics::probe_failed(const std::string& server) { probe_failures_.Add({{"server", server}}).Increment(); }
void Metrics::standby_lag(double bytes, double seconds) {
  lag_bytes_.Add({}).Set(bytes);
  lag_seconds_.Add({}).Set(seconds);
}

void Metrics::decision(const std::string& action) {
  for (const char* a : kActions) decision_.Add({{"action", a}}).Set(action == a ? 1 : 0);
}

void Metrics::runs_recorded(const std::map<std::pair<std::string, std::string>, long long>& counts) {
  for (const auto& [key, n] : counts) recorded_.Add({{kJob, key.first}, {"outcome", key.second}}).Set(static_cast<double>(n));
}

std::string Metrics::render() const { return pm::TextSerializer().Serialize(registry_->Collect()); }

}  // namespace sk::daemon
