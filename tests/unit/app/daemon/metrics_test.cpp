// The daemon's metrics: the off-site copy age per destination exists from the start, at zero.
#include "app/daemon/metrics.hpp"

#include <gtest/gtest.h>

namespace sk::daemon {
namespace {

TEST(Metrics, CopyAgeIsDeclaredPerDestinationAtZeroAndThenSet) {
  Metrics m;
  m.declare({"backup", "copy"}, {"cm1"}, {"hd1"}, {"/mnt/offsite", "/mnt/second"});
  const std::string before = m.render();
  EXPECT_NE(before.find("sitekeeper_copy_newest_age_seconds{destination=\"/mnt/offsite\"} 0"), std::string::npos) << before;
  EXPECT_NE(before.find("sitekeeper_copy_newest_age_seconds{destination=\"/mnt/second\"} 0"), std::string::npos) << before;
  EXPECT_NE(before.find("sitekeeper_job_runs_total{outcome=\"failed\",sitekeeper_job=\"copy\"} 0"), std::string::npos) << before;
  m.copy_age("/mnt/offsite", 3600);
  m.copy_age("/mnt/second", -1);
  const std::string after = m.render();
  EXPECT_NE(after.find("sitekeeper_copy_newest_age_seconds{destination=\"/mnt/offsite\"} 3600"), std::string::npos) << after;
  EXPECT_NE(after.find("sitekeeper_copy_newest_age_seconds{destination=\"/mnt/second\"} -1"), std::string::npos) << after;
}

}  // namespace
}  // namespace sk::daemon
