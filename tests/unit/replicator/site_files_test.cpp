// The site's files in a generation without a database: copied with their modes, refused when a symlink or
// still changing (through the before-copy seam, no timing), sealed under the manifest, and restored only
// whole, into a missing or empty folder, and never from a generation that was changed.
#include "replicator/site_files.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "core/error.hpp"
#include "replicator/archive.hpp"
#include "support/files.hpp"
#include "support/sealed_generation.hpp"

namespace sk::replicator {
namespace {

using ::testing::HasSubstr;

using sk::test::append;
using sk::test::listing;
using sk::test::slurp;
using sk::test::write;

struct stat stat_of(const fs::path& p) {
  struct stat st{};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

std::int64_t mtime_ns_of(const fs::path& p) {
  const auto st = stat_of(p);
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

void set_mtime(const fs::path& p, std::int64_t sec, long nsec) {
  const struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
}

class SiteFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("sk site files é " + std::to_string(::getpid()) + " " +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    fs::create_directories(base_ / "out");
    cfg_.archive.path = base_ / "archive";
    cfg_.archive.key_file = base_ / "manager" / "archive.keys";
    reports_ = base_ / "site" / "reports";
    conf_ = base_ / "site" / "app.conf";
    write(reports_ / "daily.rpt", "DAILY");
    write(reports_ / "custom" / "x.rpt", "CUSTOM");
    fs::create_directories(reports_ / "empty");
    write(conf_, "port = 1\n");
    fs::permissions(reports_ / "daily.rpt", fs::perms(0640), fs::perm_options::replace);
    fs::permissions(conf_, fs::perms(0604), fs::perm_options::replace);
    fs::permissions(reports_ / "custom", fs::perms(0750), fs::perm_options::replace);
    set_mtime(reports_ / "daily.rpt", 1700000000, 123456789);
    set_mtime(reports_ / "custom", 1600000000, 987654321);
    set_mtime(reports_ / "custom" / "x.rpt", -86400, 250000000);  // 1969: a negative second
    cfg_.archive.files = {reports_, conf_};
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  // A sealed generation; `fill` writes its files (the default: the configured site files).
  std::string generation(const std::function<void(const fs::path&)>& fill = {}) {
    return sk::test::sealed_generation(cfg_, n_, fill ? fill : [this](const fs::path& dir) {
      copy_site_files(cfg_.archive.files, dir, nullptr);
    });
  }

  fs::path base_, reports_, conf_;
  Config cfg_;
  int n_ = 0;
};

TEST_F(SiteFilesTest, CopiesEachPathBelowFilesWithAnIndexOfModes) {
  Archive a = open_archive(cfg_, false, true);
  const std::string id = a.create(Clock::time_point{});
  auto c = copy_site_files(cfg_.archive.files, a.path(id), nullptr);
  EXPECT_TRUE(c.retried.empty());
  EXPECT_EQ(c.bytes, 5u + 6u + 9u);
  const fs::path files = a.path(id) / kSiteFilesDir;
  EXPECT_EQ(slurp(files / (reports_ / "custom" / "x.rpt").relative_path()), "CUSTOM");
  EXPECT_EQ(slurp(files / conf_.relative_path()), "port = 1\n");
  EXPECT_TRUE(fs::is_directory(files / (reports_ / "empty").relative_path()));
  auto entries = site_files_from_index(slurp(a.path(id) / kSiteFilesIndex), "files.json");
  ASSERT_EQ(entries.size(), 6u);  // reports, custom, x.rpt, daily.rpt, empty, app.conf
  std::map<std::string, SiteFileEntry> by;
  for (const auto& e : entries) by[e.path] = e;
  EXPECT_EQ(by.at((reports_ / "daily.rpt").string()).mode, 0640u);
  EXPECT_EQ(by.at((reports_ / "daily.rpt").string()).mtime_ns, 1700000000123456789);
  EXPECT_EQ(by.at((reports_ / "daily.rpt").string()).size, 5u);
  EXPECT_TRUE(by.at((reports_ / "custom").string()).folder);
  EXPECT_EQ(by.at((reports_ / "custom").string()).mode, 0750u);
  EXPECT_EQ(by.at(conf_.string()).mode, 0604u);
  // Sealed, the copies are as private as the rest of the archive: the index holds the real modes.
  Manifest m;
  m.kind = "backup";
  a.seal(id, m, nullptr);
  EXPECT_EQ(stat_of(files / (reports_ / "daily.rpt").relative_path()).st_mode & 07777, 0600u);
  EXPECT_EQ(stat_of(files / (reports_ / "custom").relative_path()).st_mode & 07777, 0700u);
  EXPECT_TRUE(a.check(id, true, nullptr).empty());
  EXPECT_EQ(site_files_summary(c), "site files: 3 file(s), 3 folder(s) (20 B)");
}

TEST_F(SiteFilesTest, NothingConfiguredWritesNothing) {
  Archive a = open_archive(cfg_, false, true);
  const std::string id = a.create(Clock::time_point{});
  EXPECT_TRUE(copy_site_files({}, a.path(id), nullptr).entries.empty());
  EXPECT_TRUE(fs::is_empty(a.path(id)));
}

TEST_F(SiteFilesTest, SymlinksAndSpecialFilesAreRefusedByName) {
  Archive a = open_archive(cfg_, false, true);
  const std::string id = a.create(Clock::time_point{});
  fs::create_symlink("/etc/shadow", reports_ / "custom" / "evil.rpt");
  try {
    copy_site_files(cfg_.archive.files, a.path(id), nullptr);
    FAIL() << "followed or copied a symlink";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("evil.rpt"));
    EXPECT_THAT(e.what(), HasSubstr("a symbolic link, which is never followed"));
    EXPECT_FALSE(e.hint().empty());
  }
  fs::remove(reports_ / "custom" / "evil.rpt");
  ASSERT_EQ(::mkfifo((reports_ / "pipe").c_str(), 0600), 0);
  try {
    copy_site_files(cfg_.archive.files, a.path(id), nullptr);
    FAIL() << "copied a named pipe";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("pipe"));
    EXPECT_THAT(e.what(), HasSubstr("not a regular file or folder"));
  }
  fs::remove(reports_ / "pipe");
  EXPECT_THAT([&] { copy_site_files({base_ / "gone"}, a.path(id), nullptr); },
              ::testing::ThrowsMessage<Error>(HasSubstr("gone")));
}

// The seam runs between the stat before a copy and the copy: an append there is exactly a writer
// that was busy during the copy.
TEST_F(SiteFilesTest, AFileChangedDuringTheCopyIsCopiedAgain) {
  Archive a = open_archive(cfg_, false, true);
  const std::string id = a.create(Clock::time_point{});
  const fs::path busy = reports_ / "daily.rpt";
  std::vector<int> attempts;
  auto c = copy_site_files(cfg_.archive.files, a.path(id), nullptr, [&](const fs::path& src, int attempt) {
    if (src != busy) return;
    attempts.push_back(attempt);
    if (attempt < kSiteFileAttempts) append(busy, "+");
  });
  EXPECT_EQ(attempts, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(c.retried, std::vector<std::string>{busy.string()});
  EXPECT_EQ(slurp(a.path(id) / kSiteFilesDir / busy.relative_path()), "DAILY++");
  EXPECT_THAT(site_files_summary(c), HasSubstr("copied again after a change: " + busy.string()));
  auto entries = site_files_from_index(slurp(a.path(id) / kSiteFilesIndex), "files.json");
  for (const auto& e : entries)
    if (e.path == busy.string()) {
      EXPECT_EQ(e.size, 7u);
      EXPECT_EQ(e.mtime_ns, mtime_ns_of(busy));
    }
}

TEST_F(SiteFilesTest, AFileThatKeepsChangingFailsTheBackupByName) {
  Archive a = open_archive(cfg_, false, true);
  const std::string id = a.create(Clock::time_point{});
  const fs::path busy = conf_;
  int calls = 0;
  try {
    copy_site_files(cfg_.archive.files, a.path(id), nullptr, [&](const fs::path& src, int) {
      if (src == busy) append(busy, "x = " + std::to_string(++calls) + "\n");
    });
    FAIL() << "kept a torn copy";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(busy.string()));
    EXPECT_THAT(e.what(), HasSubstr("changed while it was copied, 3 times"));
    EXPECT_THAT(e.hint(), HasSubstr("[archive] files"));
  }
  EXPECT_EQ(calls, kSiteFileAttempts);
  EXPECT_FALSE(fs::exists(a.path(id) / kSiteFilesIndex));
}

TEST_F(SiteFilesTest, RestoresIntoAnEmptyFolderWithModesAndMtimes) {
  const std::string id = generation();
  fs::create_directories(base_ / "out" / "empty");
  const fs::path to = base_ / "out" / "empty";
  auto r = restore_site_files(cfg_, id, to);
  EXPECT_EQ(r.id, id);
  EXPECT_EQ(r.entries.size(), 6u);
  EXPECT_EQ(r.bytes, 20u);
  EXPECT_THAT(r.summary, HasSubstr("restored 3 site file(s) and 3 folder(s)"));
  for (const auto& src : {reports_ / "daily.rpt", reports_ / "custom", reports_ / "custom" / "x.rpt",
                          reports_ / "empty", reports_, conf_}) {
    const fs::path back = to / src.relative_path();
    const auto a = stat_of(src), b = stat_of(back);
    EXPECT_EQ(a.st_mode, b.st_mode) << back;  // type and permission bits
    EXPECT_EQ(mtime_ns_of(src), mtime_ns_of(back)) << back;
    if (S_ISREG(a.st_mode)) {
      EXPECT_EQ(slurp(src), slurp(back)) << back;
    }
  }
  EXPECT_EQ(stat_of(to).st_mode & 07777, 0700u);
  EXPECT_EQ(listing(base_ / "out").front(), to.string());  // nothing left beside it
  // A second restore into the now full folder is refused and changes nothing.
  const auto before = listing(base_ / "out");
  EXPECT_THROW(restore_site_files(cfg_, id, to), SafetyError);
  EXPECT_EQ(listing(base_ / "out"), before);
}

TEST_F(SiteFilesTest, NewestGenerationByDefaultAndNoneWithoutSiteFiles) {
  generation();
  const std::string none = generation([](const fs::path&) {});
  EXPECT_THAT([&] { restore_site_files(cfg_, "", base_ / "out" / "x"); },
              ::testing::ThrowsMessage<Error>(HasSubstr("generation " + none + " holds no site files")));
  EXPECT_FALSE(fs::exists(base_ / "out" / "x"));
}

TEST_F(SiteFilesTest, ATamperedGenerationWritesNothing) {
  // A changed byte in a copy: the manifest refuses it before anything is written.
  const std::string id = generation();
  const fs::path copy = open_archive(cfg_).path(id) / kSiteFilesDir / (reports_ / "custom" / "x.rpt").relative_path();
  write(copy, "CUSTOX");
  const auto before = listing(base_);
  try {
    restore_site_files(cfg_, id, base_ / "out" / "new");
    FAIL() << "restored a changed file";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("x.rpt: checksum mismatch"));
    EXPECT_THAT(e.what(), HasSubstr("nothing was written"));
  }
  EXPECT_EQ(listing(base_), before);
  EXPECT_THAT(open_archive(cfg_).check(id, true, nullptr), ::testing::Contains(HasSubstr("x.rpt: checksum mismatch")));
}

// A generation sealed with a valid MAC but a hostile index (a bug, or someone holding the archive key).
TEST_F(SiteFilesTest, PathTraversalInTheIndexIsRefused) {
  for (const std::string bad : {"/etc/../../root/x", "etc/x", "/etc//x", "/etc/./x"}) {
    const std::string id = generation([&](const fs::path& dir) {
      SiteFileEntry e{bad, false, 0644, 0, 1};
      write(dir / kSiteFilesIndex, site_files_index({e}));
      write(dir / kSiteFilesDir / "etc" / "x", "1");
    });
    const auto before = listing(base_);
    EXPECT_THAT([&] { restore_site_files(cfg_, id, base_ / "out" / "x"); },
                ::testing::ThrowsMessage<Error>(HasSubstr("could escape the restore folder")))
        << bad;
    EXPECT_EQ(listing(base_), before) << bad;
  }
  EXPECT_THROW(site_files_from_index(R"({"format":"sitekeeper-files-1","entries":[
      {"path":"/a","type":"file","mode":"0600","mtime_ns":0,"size":0},
      {"path":"/a/b","type":"file","mode":"0600","mtime_ns":0,"size":0}]})", "x"), Error);
  EXPECT_THROW(site_files_from_index(R"({"format":"sitekeeper-files-1","entries":[
      {"path":"/a","type":"file","mode":"0600","mtime_ns":0,"size":0},
      {"path":"/a","type":"file","mode":"0600","mtime_ns":0,"size":0}]})", "x"), Error);
  EXPECT_THROW(site_files_from_index(R"({"format":"sitekeeper-files-1","entries":[
      {"path":"/a","type":"fifo","mode":"0600","mtime_ns":0,"size":0}]})", "x"), Error);
  // Numbers that are no whole numbers of the right range (a fuzzer found the first one).
  for (const char* numbers : {R"("mtime_ns":17000000003333123456789,"size":0)", R"("mtime_ns":1.5,"size":0)",
                              R"("mtime_ns":0,"size":-1)", R"("mtime_ns":0,"size":1e30)", R"("mtime_ns":"1","size":0)",
                              R"("mtime_ns":18446744073709551615,"size":0)"})
    EXPECT_THAT([&] {
      site_files_from_index(std::string(R"({"format":"sitekeeper-files-1","entries":[{"path":"/a","type":"file","mode":"0600",)") +
                                numbers + "}]}",
                            "files.json");
    }, ::testing::ThrowsMessage<Error>(HasSubstr("files.json"))) << numbers;
}

TEST_F(SiteFilesTest, AFileTheIndexDoesNotListIsRefused) {
  const std::string id = generation([&](const fs::path& dir) {
    copy_site_files(cfg_.archive.files, dir, nullptr);
    write(dir / kSiteFilesDir / "etc" / "planted", "x");
  });
  EXPECT_THAT([&] { restore_site_files(cfg_, id, base_ / "out" / "x"); },
              ::testing::ThrowsMessage<Error>(HasSubstr("files/etc/planted, which files.json does not list")));
  EXPECT_FALSE(fs::exists(base_ / "out" / "x"));
}

}  // namespace
}  // namespace sk::replicator
