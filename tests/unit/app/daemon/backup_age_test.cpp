// The daemon's own backup-age alert on a fake clock: raised once when the newest verified backup
// grows older than max_age, cleared once by a fresh one, and never before a new site had its chance.
#include "app/daemon/backup_age.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "support/fake_clock.hpp"
#include "support/files.hpp"

namespace {

using namespace sk;
using namespace std::chrono_literals;

TEST(BackupAgeWatch, RaisesOnceWhenTheNewestBackupAgesPastMaxAgeAndClearsOnce) {
  auto clock = std::make_shared<test::FakeClock>(test::at("2026-12-01T02:00:00Z"));
  std::optional<Clock::time_point> newest = clock->now();
  daemon::BackupAgeWatch w(clock, [&] { return newest; });
  EXPECT_EQ(w.tick(26h).alert, "");
  clock->advance(25h);
  EXPECT_EQ(w.tick(26h).alert, "");
  clock->advance(2h);  // the 02:00 backup of the next night did not happen
  auto t = w.tick(26h);
  EXPECT_EQ(t.alert, "the newest verified backup is 1d 3h old, older than max_age 1d 2h");
  clock->advance(1h);
  EXPECT_EQ(w.tick(26h).alert, "") << "one alert per episode, not one per look";
  EXPECT_TRUE(w.raised());
  newest = clock->now() - 5min;
  t = w.tick(26h);
  EXPECT_EQ(t.alert, "");
  EXPECT_EQ(t.cleared, "backups are fresh again: the newest verified one is 5m 0s old");
  EXPECT_EQ(w.tick(26h).cleared, "");
  EXPECT_FALSE(w.raised());
}

TEST(BackupAgeWatch, ANewSiteWithoutBackupsIsAlertedOnlyAfterMaxAge) {
  auto clock = std::make_shared<test::FakeClock>(test::at("2026-12-01T12:00:00Z"));
  daemon::BackupAgeWatch w(clock, [] { return std::optional<Clock::time_point>{}; });
  EXPECT_EQ(w.tick(26h).alert, "");
  clock->advance(25h);
  EXPECT_EQ(w.tick(26h).alert, "");
  clock->advance(1h);
  EXPECT_EQ(w.tick(26h).alert, "no verified backup in the archive, max_age 1d 2h");
}

TEST(BackupAgeWatch, AnUnreadableArchiveIsAnAlertNotACrash) {
  auto clock = std::make_shared<test::FakeClock>(test::at("2026-12-01T12:00:00Z"));
  bool broken = true;
  daemon::BackupAgeWatch w(clock, [&]() -> std::optional<Clock::time_point> {
    if (broken) throw std::runtime_error("permission denied");
    return std::nullopt;
  });
  EXPECT_EQ(w.tick(26h).alert, "cannot read the archive to judge the backups' age: permission denied");
  broken = false;
  EXPECT_EQ(w.tick(26h).cleared, "the archive is readable again");
}

}  // namespace
