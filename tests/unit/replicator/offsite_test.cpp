// Off-site copies: the rate limiter on a fake clock, a copy verified at the destination, a resume that
// copies only what is missing or bad, and retention at the destination that leaves foreign entries alone.
#include "replicator/offsite.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "support/files.hpp"

namespace {

namespace fs = std::filesystem;
using sk::replicator::Archive;
using sk::replicator::ArchiveKeys;
using sk::replicator::copy_generation;
using sk::replicator::Manifest;
using sk::replicator::PaceClock;
using sk::replicator::TokenBucket;
using sk::test::at;
using sk::test::slurp;
using sk::test::write;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Time moves only when the limiter sleeps.
class FakePace : public PaceClock {
 public:
  std::chrono::steady_clock::time_point now() const override { return t_; }
  void sleep_for(std::chrono::nanoseconds d) override {
    t_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(d);
    slept_ += d;
  }
  double seconds() const { return std::chrono::duration<double>(t_ - start_).count(); }
  std::chrono::nanoseconds slept_{0};

 private:
  std::chrono::steady_clock::time_point start_{std::chrono::hours(1)};
  std::chrono::steady_clock::time_point t_{start_};
};

TEST(ReplicatorTokenBucket, HoldsTheRateOverALongCopy) {
  auto clock = std::make_shared<FakePace>();
  const std::uint64_t rate = 1 << 20;  // 1 MB/s
  TokenBucket b(rate, clock);
  const std::uint64_t chunk = 64 << 10;
  std::uint64_t sent = 0;
  while (sent < 50ull << 20) {
    b.take(chunk);
    sent += chunk;
  }
  // 50 MB at 1 MB/s: 50 s, less the one burst the bucket starts with.
  const double expected = static_cast<double>(sent - b.burst()) / static_cast<double>(rate);
  EXPECT_NEAR(clock->seconds(), expected, 0.01);
  EXPECT_NEAR(static_cast<double>(sent) / clock->seconds(), static_cast<double>(rate), 0.03 * rate);
}

TEST(ReplicatorTokenBucket, BurstsAreBoundedEvenAfterIdling) {
  auto clock = std::make_shared<FakePace>();
  const std::uint64_t rate = 10 << 20;
  TokenBucket b(rate, clock);
  EXPECT_EQ(b.burst(), 1u << 20);  // an eighth of a second, capped at 1 MB
  // A long idle spell does not save up tokens beyond one burst.
  clock->sleep_for(std::chrono::seconds(3600));
  const double idle_end = clock->seconds();
  std::uint64_t sent = 0;
  const std::uint64_t chunk = 4096;
  // Over every span after the idle time, at most rate*t + burst bytes pass.
  for (int i = 0; i < 20000; ++i) {
    b.take(chunk);
    sent += chunk;
    const double t = clock->seconds() - idle_end;
    ASSERT_LE(static_cast<double>(sent), rate * t + static_cast<double>(b.burst()) + 1) << "after " << sent << " bytes";
  }
  EXPECT_GT(clock->seconds() - idle_end, 0.0);
}

TEST(ReplicatorTokenBucket, SlowRatesGetASmallBurstAndStillPace) {
  auto clock = std::make_shared<FakePace>();
  TokenBucket b(1000, clock);  // 1000 B/s
  EXPECT_EQ(b.burst(), 4096u);
  for (int i = 0; i < 10; ++i) b.take(1000);
  // 10000 bytes, 4096 of them free: 5.9 s.
  EXPECT_NEAR(clock->seconds(), 5.904, 0.01);
  EXPECT_THROW(b.take(5000), sk::Error);  // more than one burst at once is a caller's bug
}

TEST(ReplicatorTokenBucket, ACancelledCopyStopsWhileWaiting) {
  auto clock = std::make_shared<FakePace>();
  TokenBucket b(1000, clock);
  sk::CancelToken cancel;
  b.take(4096, &cancel);
  cancel.cancel();
  EXPECT_THROW(b.take(4096, &cancel), sk::Cancelled);
}

class ReplicatorOffsite : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("sk offsite " + std::to_string(::getpid()) + " " +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    fs::create_directories(base_ / "offsite");
    base_ = fs::canonical(base_);
    dest_ = base_ / "offsite";
    keys_ = std::make_shared<const ArchiveKeys>(ArchiveKeys::load_or_create(base_ / "manager" / "archive.keys"));
    archive_ = std::make_unique<Archive>(base_ / "archive", keys_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  std::string make_generation(const std::string& iso) {
    const std::string id = archive_->create(at(iso));
    const fs::path dir = archive_->path(id);
    write(dir / "snapshot" / "toc.dat", "table of contents for " + id);
    write(dir / "snapshot" / "3001.dat", std::string(200000, 'r') + id);
    write(dir / "snapshot" / "3002.dat", std::string(100000, 's') + id);
    write(dir / "permissions.sql", "CREATE ROLE \"helpdesk\" LOGIN;\n");
    write(dir / "profile.json", "{\"engine\": \"postgresql\"}\n");
    Manifest m;
    m.kind = "backup";
    m.database = "CM_CEN";
    m.created_at = iso;
    archive_->seal(id, m, nullptr);
    return id;
  }

  sk::replicator::CopyResult copy(const std::string& id, int keep = 7) {
    return copy_generation(*archive_, id, dest_, keys_, keep, nullptr, nullptr);
  }

  Archive dest_archive() const { return Archive(dest_, keys_); }

  fs::path base_, dest_;
  std::shared_ptr<const ArchiveKeys> keys_;
  std::unique_ptr<Archive> archive_;
};

TEST_F(ReplicatorOffsite, CopyIsVerifiedAndCompleteAtTheDestination) {
  const std::string id = make_generation("2026-11-22T02:00:00Z");
  auto clock = std::make_shared<FakePace>();
  TokenBucket bucket(100 << 10, clock);  // 100 kB/s on the fake clock
  auto r = copy_generation(*archive_, id, dest_, keys_, 7, &bucket, nullptr);
  EXPECT_EQ(r.files_copied, 5u);
  EXPECT_EQ(r.files_kept, 0u);
  EXPECT_EQ(r.bytes_copied, r.bytes_total);
  EXPECT_FALSE(fs::exists(dest_ / (id + ".partial")));
  EXPECT_TRUE(dest_archive().complete(id));
  EXPECT_TRUE(dest_archive().check(id, true, nullptr).empty());
  EXPECT_EQ(slurp(dest_ / id / "COMPLETE"), slurp(archive_->path(id) / "COMPLETE"));
  // Paced: about bytes / rate of fake time, less the first burst.
  const double expected = static_cast<double>(r.bytes_total - bucket.burst()) / (100 << 10);
  EXPECT_NEAR(clock->seconds(), expected, 0.05);
  // Once there and verified, nothing is sent again.
  auto again = copy(id);
  EXPECT_TRUE(again.already_there);
  EXPECT_EQ(again.files_copied, 0u);
}

TEST_F(ReplicatorOffsite, ResumeCopiesOnlyTheMissingAndTheCorruptedFiles) {
  const std::string id = make_generation("2026-11-22T02:00:00Z");
  const fs::path src = archive_->path(id);
  const fs::path partial = dest_ / (id + ".partial");
  // What a killed copy leaves: two good files, one cut short, one corrupted at the same size, no marker.
  write(partial / "permissions.sql", slurp(src / "permissions.sql"));
  write(partial / "snapshot" / "toc.dat", slurp(src / "snapshot" / "toc.dat"));
  write(partial / "snapshot" / "3001.dat", slurp(src / "snapshot" / "3001.dat").substr(0, 1000));
  std::string bad = slurp(src / "snapshot" / "3002.dat");
  bad[500] ^= 1;
  write(partial / "snapshot" / "3002.dat", bad);
  const auto good_mtime = fs::last_write_time(partial / "permissions.sql");

  auto r = copy(id);
  EXPECT_EQ(r.files_kept, 2u);
  EXPECT_EQ(r.files_copied, 3u);  // 3001.dat, 3002.dat, profile.json
  EXPECT_EQ(r.bytes_copied, fs::file_size(src / "snapshot" / "3001.dat") + fs::file_size(src / "snapshot" / "3002.dat") +
                                fs::file_size(src / "profile.json"));
  EXPECT_EQ(fs::last_write_time(dest_ / id / "permissions.sql"), good_mtime);
  EXPECT_TRUE(dest_archive().check(id, true, nullptr).empty());
  EXPECT_THAT(r.summary, HasSubstr("2 already there and verified"));
}

TEST_F(ReplicatorOffsite, ADamagedFinishedCopyIsRepairedNotTrusted) {
  const std::string id = make_generation("2026-11-22T02:00:00Z");
  copy(id);
  std::string s = slurp(dest_ / id / "snapshot" / "3001.dat");
  s[10] ^= 1;
  write(dest_ / id / "snapshot" / "3001.dat", s);
  auto r = copy(id);
  EXPECT_FALSE(r.already_there);
  EXPECT_EQ(r.files_copied, 1u);
  EXPECT_EQ(r.files_kept, 4u);
  EXPECT_TRUE(dest_archive().check(id, true, nullptr).empty());
}

TEST_F(ReplicatorOffsite, AMissingDestinationFailsAndCreatesNothing) {
  const std::string id = make_generation("2026-11-22T02:00:00Z");
  fs::remove_all(dest_);
  try {
    copy(id);
    FAIL() << "expected an error";
  } catch (const sk::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("is not a folder"));
    EXPECT_THAT(e.hint(), HasSubstr("mounted"));
  }
  EXPECT_FALSE(fs::exists(dest_));
}

TEST_F(ReplicatorOffsite, ASymlinkPlantedInThePartialCopyIsNeverWrittenThrough) {
  const std::string id = make_generation("2026-11-22T02:00:00Z");
  const fs::path outside = base_ / "outside";
  fs::create_directories(outside);
  fs::create_directories(dest_ / (id + ".partial"));
  fs::create_directory_symlink(outside, dest_ / (id + ".partial") / "snapshot");
  EXPECT_THROW(copy(id), sk::Error);
  EXPECT_TRUE(fs::is_empty(outside));
}

TEST_F(ReplicatorOffsite, RetentionAtTheDestinationLeavesForeignEntriesAlone) {
  std::vector<std::string> ids;
  for (const char* t : {"2026-11-20T02:00:00Z", "2026-11-21T02:00:00Z", "2026-11-22T02:00:00Z"})
    ids.push_back(make_generation(t));
  // Hostile or foreign entries: a symlink with a generation's name pointing at a generation elsewhere, a
  // folder that is not a generation, a file, and a symlink named like an unfinished copy.
  const fs::path elsewhere = base_ / "elsewhere";
  fs::create_directories(elsewhere / "20261101T020000Z");
  write(elsewhere / "20261101T020000Z" / "data", "not yours");
  fs::create_directory_symlink(elsewhere / "20261101T020000Z", dest_ / "20261101T020000Z");
  write(dest_ / "photos" / "cat.jpg", "meow");
  write(dest_ / "README", "off-site copies of CEN");
  fs::create_directory_symlink(elsewhere, dest_ / "20261102T020000Z.partial");

  copy(ids[0], 2);
  copy(ids[1], 2);
  auto r = copy(ids[2], 2);
  EXPECT_THAT(r.deleted, ElementsAre(ids[0]));
  EXPECT_FALSE(fs::exists(dest_ / ids[0]));
  EXPECT_TRUE(fs::exists(dest_ / ids[1] / "COMPLETE"));
  EXPECT_TRUE(fs::exists(dest_ / ids[2] / "COMPLETE"));
  EXPECT_TRUE(fs::is_symlink(dest_ / "20261101T020000Z"));
  EXPECT_EQ(slurp(elsewhere / "20261101T020000Z" / "data"), "not yours");
  EXPECT_EQ(slurp(dest_ / "photos" / "cat.jpg"), "meow");
  EXPECT_EQ(slurp(dest_ / "README"), "off-site copies of CEN");
  EXPECT_TRUE(fs::is_symlink(dest_ / "20261102T020000Z.partial"));
}

TEST_F(ReplicatorOffsite, AStalePartialCopyOfAnOlderGenerationIsRemovedANewerOneKept) {
  std::vector<std::string> ids;
  for (const char* t : {"2026-11-20T02:00:00Z", "2026-11-21T02:00:00Z"}) ids.push_back(make_generation(t));
  // An interrupted copy of an older backup, one of a newer backup (still to be resumed), and a name that
  // is no generation's.
  write(dest_ / "20261119T020000Z.partial" / "snapshot" / "toc.dat", "half");
  write(dest_ / "20261125T020000Z.partial" / "snapshot" / "toc.dat", "resume me");
  write(dest_ / "notes.partial" / "x", "mine");
  auto r = copy(ids[1]);
  EXPECT_THAT(r.deleted, ElementsAre("20261119T020000Z.partial"));
  EXPECT_FALSE(fs::exists(dest_ / "20261119T020000Z.partial"));
  EXPECT_EQ(slurp(dest_ / "20261125T020000Z.partial" / "snapshot" / "toc.dat"), "resume me");
  EXPECT_EQ(slurp(dest_ / "notes.partial" / "x"), "mine");
  EXPECT_TRUE(fs::exists(dest_ / ids[1] / "COMPLETE"));
}

TEST_F(ReplicatorOffsite, RetentionKeepsTheCopyJustMadeEvenWhenOlder) {
  std::vector<std::string> ids;
  for (const char* t : {"2026-11-20T02:00:00Z", "2026-11-21T02:00:00Z", "2026-11-22T02:00:00Z"})
    ids.push_back(make_generation(t));
  copy(ids[1], 1);
  EXPECT_THAT(copy(ids[2], 1).deleted, ElementsAre(ids[1]));
  auto r = copy(ids[0], 1);  // an operator copying an old backup on purpose
  EXPECT_TRUE(r.deleted.empty());
  EXPECT_TRUE(fs::exists(dest_ / ids[0] / "COMPLETE"));
  EXPECT_TRUE(fs::exists(dest_ / ids[2] / "COMPLETE"));
}

TEST_F(ReplicatorOffsite, AnIncompleteSourceIsRefused) {
  const std::string id = archive_->create(at("2026-11-23T02:00:00Z"));
  write(archive_->path(id) / "permissions.sql", "half");
  EXPECT_THROW(copy(id), sk::Error);
  EXPECT_THROW(copy("../etc"), sk::Error);
  EXPECT_FALSE(fs::exists(dest_ / (id + ".partial")));
}

}  // namespace
