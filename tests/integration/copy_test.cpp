// Off-site copies ([[archive.copy]]) on real PostgreSQL 15 with the real binary: a backup copied and
// verified at the destination, a failed copy that does not fail the backup, a copy killed with SIGKILL
// and resumed without recopying what was verified, and the measured rate against the limit.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "integration_support.hpp"
#include "pg_cluster.hpp"
#include "site_fixture.hpp"
#include "tests/unit/support/files.hpp"

using namespace sk::test;
namespace fs = std::filesystem;

namespace {

std::string copy_table(const fs::path& dest, const std::string& rate) {
  return "[[archive.copy]]\npath = " + toml_string(dest.string()) + "\nrate = \"" + rate + "\"\n";
}

// Every regular file under `dir` by relative path, with its content.
std::map<std::string, std::string> files_under(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it)
    if (it->is_regular_file() && !it->is_symlink()) out[fs::relative(it->path(), dir).generic_string()] = slurp(it->path());
  return out;
}

std::uint64_t bytes_under(const fs::path& dir) {
  std::uint64_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file(ec)) n += it->file_size(ec);
  return n;
}

const nlohmann::json* run_of(const nlohmann::json& history, const std::string& job, const std::string& target) {
  for (const auto& r : history)
    if (r.value("job", "") == job && r.value("target", "") == target) return &r;
  return nullptr;
}

}  // namespace

TEST(OffsiteCopy, BackupIsCopiedAndVerifiedThereAndAFailedCopyDoesNotFailTheBackup) {
  Site site({.replicas = 0});
  const fs::path dest = site.dir() / "off site é";
  fs::create_directories(dest);
  site.write_config(copy_table(dest, "50MB/s"));

  auto b = site.json({"backup"});
  ASSERT_TRUE(b.value("ok", false)) << b.dump(2);
  const std::string id = b["id"];
  ASSERT_EQ(b["copies"].size(), 1u) << b.dump(2);
  EXPECT_NE(b["copies"][0].get<std::string>().find("verified"), std::string::npos) << b.dump(2);
  // The same files, byte for byte, the marker included; no partial copy left behind.
  EXPECT_EQ(files_under(dest / id), files_under(site.archive() / id));
  EXPECT_FALSE(fs::exists(dest / (id + ".partial")));

  auto st = site.json({"status"});
  ASSERT_EQ(st["copies"].size(), 1u) << st.dump(2);
  EXPECT_EQ(st["copies"][0]["newest_copy"], id);
  EXPECT_EQ(st["copies"][0]["last_outcome"], "ok");
  EXPECT_GE(st["copies"][0]["age_seconds"].get<long long>(), 0);
  auto text = site.run({"status"});
  EXPECT_NE(text.out.find("off-site copy at " + dest.string() + " (50.0 MB/s): " + id), std::string::npos) << text.out;

  // The share goes away: the backup is still a success, the copy is a failed job of its own, alerted.
  fs::rename(dest, site.dir() / "unmounted");
  auto b2 = site.run({"--json", "backup"});
  EXPECT_EQ(b2.code, 0) << b2.out << b2.err;
  auto hist = site.json({"history", "--limit", "10"});
  const auto* copy = run_of(hist, "copy", dest.string());
  ASSERT_NE(copy, nullptr) << hist.dump(2);
  EXPECT_EQ((*copy)["outcome"], "failed") << hist.dump(2);
  EXPECT_NE((*copy)["message"].get<std::string>().find("is not a folder"), std::string::npos) << hist.dump(2);
  ASSERT_NE(run_of(hist, "backup", "cm1"), nullptr);
  EXPECT_EQ((*run_of(hist, "backup", "cm1"))["outcome"], "ok");
  auto st2 = site.json({"status"});
  EXPECT_EQ(st2["copies"][0]["last_outcome"], "failed");
  EXPECT_EQ(st2["copies"][0]["newest_copy"], id);  // still the last good one
  bool alerted = false;
  for (const auto& a : st2["alerts"]) alerted = alerted || a.value("job", "") == "copy";
  EXPECT_TRUE(alerted) << st2.dump(2);
  EXPECT_FALSE(fs::exists(dest));  // nothing was created where the share should be
}

// A generation of a few MB: a copy at 1 MB/s killed with SIGKILL in the middle, then `sitekeeper copy`
// resumes it; then a second destination at 2 MB/s shows the rate the link sees.
TEST(OffsiteCopy, KilledCopyResumesAndTheRateHoldsTheLimit) {
  Site site({.replicas = 0});
  // Hex of random bytes: pg_dump's compression leaves about half, a few MB on disk.
  site.active().psql("CREATE TABLE bulk AS SELECT i, md5(random()::text) || md5(random()::text) AS a, "
                     "md5(random()::text) AS b FROM generate_series(1, 80000) i", site.db());
  const fs::path slow = site.dir() / "slow share";
  const fs::path fast = site.dir() / "fast share";
  site.write_config(copy_table(slow, "1MB/s") + copy_table(fast, "2MB/s"));
  // Neither share is there yet: the backup's copies fail at once, the backup does not.
  auto b = site.json({"backup"});
  ASSERT_TRUE(b.value("ok", false)) << b.dump(2);
  const std::string id = b["id"];
  const std::uint64_t total = b["bytes"];
  ASSERT_GE(total, 3u << 20) << "the generation is too small to interrupt";
  ASSERT_LE(total, 12u << 20) << "the generation is too large for the time budget";
  fs::create_directories(slow);
  fs::create_directories(fast);

  const fs::path partial = slow / (id + ".partial");
  {
    BackgroundProcess copy(site.argv({"copy"}), site.dir() / "copy.log");
    wait_until([&] { return bytes_under(partial) >= (1u << 20); }, std::chrono::seconds(60), "1 MB copied");
    copy.signal(SIGKILL);
    ASSERT_EQ(copy.wait(std::chrono::seconds(30)), 128 + SIGKILL);
  }
  ASSERT_TRUE(fs::exists(partial));
  ASSERT_FALSE(fs::exists(slow / id));
  ASSERT_FALSE(fs::exists(partial / "COMPLETE"));
  // The files the killed copy finished: whole and equal to the archive's. Their mtimes must not move.
  std::map<std::string, fs::file_time_type> done;
  for (const auto& [rel, data] : files_under(partial))
    if (data == slurp(site.archive() / id / rel)) done[rel] = fs::last_write_time(partial / rel);
  ASSERT_GE(done.size(), 2u) << "expected the small files to be finished";

  const auto t0 = std::chrono::steady_clock::now();
  auto r = site.json({"copy"});
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r.value("ok", false)) << r.dump(2);
  ASSERT_EQ(r["copies"].size(), 2u);
  const auto& resumed = r["copies"][0];
  const auto& full = r["copies"][1];
  EXPECT_EQ(resumed["destination"], slow.string());
  EXPECT_EQ(resumed["files_kept"].get<std::size_t>(), done.size()) << resumed.dump(2);
  EXPECT_LT(resumed["bytes_copied"].get<std::uint64_t>(), total);
  for (const auto& [rel, mtime] : done) EXPECT_EQ(fs::last_write_time(slow / id / rel), mtime) << rel << " was copied again";
  EXPECT_EQ(files_under(slow / id), files_under(site.archive() / id));
  EXPECT_FALSE(fs::exists(partial));

  // The full copy at 2 MB/s: bytes over real elapsed time, within 15 % of the limit.
  EXPECT_EQ(full["files_kept"], 0);
  EXPECT_EQ(full["bytes_copied"].get<std::uint64_t>(), total);
  const double rate = static_cast<double>(total) / full["seconds"].get<double>();
  const double limit = 2.0 * (1 << 20);
  std::printf("off-site copy: %llu bytes at %.0f B/s against a limit of %.0f B/s (ratio %.3f), whole command %.2f s\n",
              static_cast<unsigned long long>(total), rate, limit, rate / limit, wall);
  EXPECT_GT(rate, 0.85 * limit);
  EXPECT_LT(rate, 1.15 * limit);
  EXPECT_EQ(files_under(fast / id), files_under(site.archive() / id));
  // And once more: both are there and verified, nothing is sent.
  auto again = site.json({"copy", "--backup", id});
  EXPECT_TRUE(again["copies"][0]["already_there"].get<bool>());
  EXPECT_TRUE(again["copies"][1]["already_there"].get<bool>());
}
