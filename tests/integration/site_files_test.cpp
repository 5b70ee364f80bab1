// The site's files in every generation, on real PostgreSQL 15 with the real binary: backup copies two
// site folders ([archive] files) under the manifest, restore-files writes them back below an empty
// folder with their contents, modes and mtimes, and verify names a copy changed in the archive.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <fstream>

#include "integration_support.hpp"
#include "pg_cluster.hpp"
#include "site_fixture.hpp"
#include "tests/unit/support/files.hpp"

using namespace sk::test;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, const std::string& text, unsigned mode) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
  fs::permissions(p, fs::perms(mode), fs::perm_options::replace);
}

struct stat stat_of(const fs::path& p) {
  struct stat st{};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

void set_mtime(const fs::path& p, time_t sec, long nsec) {
  const struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << p;
}

}  // namespace

TEST(SiteFiles, BackupRestoreFilesAndVerifyOnARealSite) {
  // The site's folders exist before the site, so that its config can name them.
  const TempDir server("/tmp/sk site server é-");
  const fs::path conf = server / "etc" / "site app", reports = server / "srv" / "reports";
  write(conf / "app.ini", "[db]\nname = CM_CEN\n", 0640);
  write(conf / "bin" / "nightly.sh", "#!/bin/sh\nexit 0\n", 0750);
  fs::create_directories(conf / "spool");
  fs::permissions(conf / "spool", fs::perms(01770), fs::perm_options::replace);
  write(reports / "monthly é.rpt", std::string("RPT\0\xff\x01", 6) + std::string(200000, 'r'), 0644);
  set_mtime(conf / "app.ini", 1700000000, 111111111);
  set_mtime(reports / "monthly é.rpt", 1690000000, 999999999);
  set_mtime(conf / "spool", 1680000000, 5);
  const std::vector<fs::path> all = {conf, conf / "app.ini", conf / "bin", conf / "bin" / "nightly.sh",
                                     conf / "spool", reports, reports / "monthly é.rpt"};

  Site site({.replicas = 0, .archive_extra = "files = " + toml_array({conf.string(), reports.string()}) + "\n"});
  auto backup = site.run({"backup"});
  ASSERT_EQ(backup.code, 0) << backup.out << backup.err;
  EXPECT_NE(backup.err.find("site files: 3 file(s), 4 folder(s)"), std::string::npos) << backup.err;
  const std::string id = newest_generation(site.archive());
  const fs::path gen = site.archive() / id;
  const std::string manifest = slurp(gen / "manifest.json");
  EXPECT_NE(manifest.find("\"files.json\""), std::string::npos);
  EXPECT_NE(manifest.find("\"files" + (conf / "app.ini").string() + "\""), std::string::npos) << manifest;
  EXPECT_EQ(stat_of(gen / "files" / (conf / "bin" / "nightly.sh").relative_path()).st_mode & 07777, 0600u);

  // restore-files into a folder that does not exist yet.
  const TempDir out("/tmp/sk restore files é-");
  const fs::path to = out / "new server";
  auto restored = site.run({"restore-files", "--backup", id, "--to", to.string()});
  ASSERT_EQ(restored.code, 0) << restored.out << restored.err;
  EXPECT_NE(restored.out.find("restored 3 site file(s) and 4 folder(s)"), std::string::npos) << restored.out;
  for (const auto& src : all) {
    const fs::path back = to / src.relative_path();
    const auto a = stat_of(src), b = stat_of(back);
    EXPECT_EQ(a.st_mode, b.st_mode) << back;
    EXPECT_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec) << back;
    EXPECT_EQ(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec) << back;
    if (S_ISREG(a.st_mode)) {
      EXPECT_EQ(slurp(src), slurp(back)) << back;
    }
  }
  // The document is what a later `recover` step or a script reads.
  auto doc = site.json({"restore-files", "--to", (out / "json").string()});
  EXPECT_EQ(doc["backup"], id);
  EXPECT_EQ(doc["entries"].size(), all.size());

  // A full target is refused and left alone.
  auto again = site.run({"restore-files", "--backup", id, "--to", to.string()});
  EXPECT_EQ(again.code, 3) << again.out << again.err;
  EXPECT_NE(again.err.find("is not empty"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("HINT:"), std::string::npos) << again.err;

  // A copy changed in the archive: verify names it, and restore-files writes nothing.
  const fs::path copy = gen / "files" / (reports / "monthly é.rpt").relative_path();
  std::string bytes = slurp(copy);
  bytes[100] ^= 1;
  write(copy, bytes, 0600);
  auto verify = site.run({"verify", id});
  EXPECT_EQ(verify.code, 1) << verify.out << verify.err;
  EXPECT_NE(verify.err.find("monthly é.rpt: checksum mismatch"), std::string::npos) << verify.err;
  auto refused = site.run({"restore-files", "--backup", id, "--to", (out / "tampered").string()});
  EXPECT_EQ(refused.code, 1) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("nothing was written"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(out / "tampered"));
  std::size_t beside = 0;
  for (const auto& e : fs::directory_iterator(out.path())) beside += e.path().filename().string()[0] == '.';
  EXPECT_EQ(beside, 0u) << "no private folder left beside the target";
}

// A symlink among the site's files fails the backup by name (it is never followed), and check says so
// before the nightly backup finds out.
TEST(SiteFiles, ASymlinkFailsTheBackupByName) {
  const TempDir server("/tmp/sk site server-");
  write(server / "etc" / "site" / "a.ini", "a", 0644);
  fs::create_symlink("/etc/passwd", server / "etc" / "site" / "link.ini");
  fs::create_symlink(server / "etc" / "site", server / "etc" / "site-link");
  Site site({.replicas = 0,
             .archive_extra = "files = " + toml_array({(server / "etc" / "site").string(),
                                                       (server / "etc" / "site-link").string()}) + "\n"});
  const auto warnings = site.json({"check"})["warnings"].dump();
  EXPECT_NE(warnings.find("site-link"), std::string::npos) << warnings;
  auto backup = site.run({"backup"});
  EXPECT_EQ(backup.code, 1) << backup.out << backup.err;
  EXPECT_NE(backup.err.find("link.ini"), std::string::npos) << backup.err;
  EXPECT_NE(backup.err.find("a symbolic link, which is never followed"), std::string::npos) << backup.err;
  EXPECT_NE(backup.err.find("HINT:"), std::string::npos) << backup.err;
  EXPECT_EQ(newest_generation(site.archive()), "") << "the failed generation is removed";
}
