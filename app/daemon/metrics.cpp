#include "app/daemon/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace sk::daemon {

namespace pm = prometheus;

namespace {
const pm::Histogram::BucketBoundaries kDurationBuckets = {1, 5, 15, 60, 300, 900, 1800, 3600, 7200};
const pm::Histogram::BucketBoundaries kLatenessBuckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5};
}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<pm::Registry>()),
      runs_(pm::BuildCounter().Name("sitekeeper_job_runs_total").Help("Job runs by job and outcome").Register(*registry_)),
      duration_(pm::BuildHistogram().Name("sitekeeper_job_duration_seconds").Help("Job run durations").Register(*registry_)),
      lateness_(pm::BuildHistogram().Name("sitekeeper_job_start_lateness_seconds").Help("How late scheduled jobs started").Register(*registry_)),
      alerts_(pm::BuildCounter().Name("sitekeeper_alerts_total").Help("Alerts raised by failing jobs").Register(*registry_)),
      backup_age_(pm::BuildGauge().Name("sitekeeper_backup_age_seconds").Help("Age of the newest verified backup (-1: none)").Register(*registry_)),
      replica_age_(pm::BuildGauge().Name("sitekeeper_replica_age_seconds").Help("Age of the backup each replica serves (-1: none)").Register(*registry_)),
      replica_healthy_(pm::BuildGauge().Name("sitekeeper_replica_healthy").Help("1 when the replica answered its last probe").Register(*registry_)),
      active_up_(pm::BuildGauge().Name("sitekeeper_active_up").Help("1 when the active server answered its last probe").Register(*registry_)),
      probe_failures_(pm::BuildCounter().Name("sitekeeper_probe_failures_total").Help("Failed probes by server").Register(*registry_)),
      lag_bytes_(pm::BuildGauge().Name("sitekeeper_standby_lag_bytes").Help("Standby replay lag in bytes").Register(*registry_)),
      lag_seconds_(pm::BuildGauge().Name("sitekeeper_standby_lag_seconds").Help("Standby replay lag in seconds").Register(*registry_)),
      decision_(pm::BuildGauge().Name("sitekeeper_ha_decision").Help("1 for the HA loop's decision of the last tick").Register(*registry_)) {
  for (const char* a : {"none", "wait", "ask-witness", "failover", "resume", "refence", "refuse"}) decision_.Add({{"action", a}}).Set(0);
}

Metrics::~Metrics() = default;

void Metrics::job_finished(const std::string& job, const std::string& outcome, double seconds) {
  runs_.Add({{"job", job}, {"outcome", outcome}}).Increment();
  duration_.Add({{"job", job}, {"outcome", outcome}}, kDurationBuckets).Observe(seconds);
}
void Metrics::job_started(const std::string& job, double lateness) {
  lateness_.Add({{"job", job}}, kLatenessBuckets).Observe(lateness);
}
void Metrics::alert_raised(const std::string& job) { alerts_.Add({{"job", job}}).Increment(); }
void Metrics::backup_age(double s) { backup_age_.Add({}).Set(s); }
void Metrics::replica_age(const std::string& r, double s) { replica_age_.Add({{"replica", r}}).Set(s); }
void Metrics::replica_healthy(const std::string& r, bool h) { replica_healthy_.Add({{"replica", r}}).Set(h ? 1 : 0); }
void Metrics::active_up(bool up) { active_up_.Add({}).Set(up ? 1 : 0); }
void Metrics::probe_failed(const std::string& server) { probe_failures_.Add({{"server", server}}).Increment(); }
void Metrics::standby_lag(double bytes, double seconds) {
  lag_bytes_.Add({}).Set(bytes);
  lag_seconds_.Add({}).Set(seconds);
}

void Metrics::decision(const std::string& action) {
  for (const char* a : {"none", "wait", "ask-witness", "failover", "resume", "refence", "refuse"})
    decision_.Add({{"action", a}}).Set(action == a ? 1 : 0);
}

std::string Metrics::render() const { return pm::TextSerializer().Serialize(registry_->Collect()); }

}  // namespace sk::daemon
