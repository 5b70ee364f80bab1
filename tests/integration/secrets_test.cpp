// Key material in the archive, on real PostgreSQL 15 with the real binary: backup encrypts the
// [archive.secrets] files into the generation, restore-secrets writes them back below a new folder
// (0600 files, 0700 folders), a wrong passphrase writes nothing, a non-empty folder is refused, and
// verify --deep proves the secrets decrypt, or says it could not check them.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "integration_support.hpp"
#include "pg_cluster.hpp"
#include "site_fixture.hpp"
#include "tests/unit/support/files.hpp"

using namespace sk::test;
namespace fs = std::filesystem;

namespace {

const std::string kPass = "correct horse battery staple";
const char* kEnv = "SITEKEEPER_SECRETS_PASSPHRASE";

void write(const fs::path& p, const std::string& text, fs::perms perms) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
  fs::permissions(p, perms);
}

unsigned mode_of(const fs::path& p) {
  struct stat st{};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

CommandResult run_env(const Site& site, std::vector<std::string> args, std::optional<std::string> pass) {
  return run_capture(site.argv(std::move(args)), {{kEnv, pass}});
}

void expect_no_passphrase(const CommandResult& r) {
  EXPECT_EQ(r.out.find(kPass), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find(kPass), std::string::npos) << r.err;
}

}  // namespace

TEST(Secrets, BackupRestoreAndVerifyOnARealSite) {
  Site site({.replicas = 0});
  // Key material as a site has it: a TLS key readable by a service group, a password file in a folder
  // whose name holds a space and a non-ASCII character, and bytes that are not text.
  const fs::path keys = site.dir() / "etc" / "site keys é";
  const fs::path tls = keys / "tls.key", pw = keys / "db" / "cm1.pw";
  const std::string tls_text = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
  const std::string pw_text = std::string("s3cret\0\xff\n", 9);
  write(tls, tls_text, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  write(pw, pw_text, fs::perms::owner_read | fs::perms::owner_write);
  write(site.dir() / "secrets" / "archive.pass", kPass + "\n", fs::perms::owner_read | fs::perms::owner_write);
  const std::string secrets_config = "[archive.secrets]\nfiles = " + toml_array({tls.string(), pw.string()}) +
                                     "\npassphrase_file = \"secrets/archive.pass\"\n";
  site.write_config(secrets_config);

  auto backup = run_env(site, {"backup"}, std::nullopt);
  ASSERT_EQ(backup.code, 0) << backup.out << backup.err;
  EXPECT_NE(backup.err.find("2 secret file(s) encrypted"), std::string::npos) << backup.err;  // the job's log line
  expect_no_passphrase(backup);
  const std::string id = newest_generation(site.archive());
  const fs::path enc = site.archive() / id / "secrets.enc";
  ASSERT_TRUE(fs::exists(enc));
  EXPECT_EQ(mode_of(enc), 0600u);
  const std::string sealed = slurp(enc);
  EXPECT_EQ(sealed.substr(0, 8), "SKSECR1\n");
  EXPECT_EQ(sealed.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(sealed.find("s3cret"), std::string::npos);
  EXPECT_NE(slurp(site.archive() / id / "manifest.json").find("\"secrets.enc\""), std::string::npos);

  // Restored into a folder that does not exist yet.
  const TempDir out("/tmp/sk restore é-");
  const fs::path to = out / "new site";
  auto restored = run_env(site, {"restore-secrets", "--backup", id, "--to", to.string()}, std::nullopt);
  ASSERT_EQ(restored.code, 0) << restored.out << restored.err;
  expect_no_passphrase(restored);
  EXPECT_NE(restored.out.find("restored 2 secret file(s) of generation " + id), std::string::npos) << restored.out;
  EXPECT_NE(restored.out.find("was 0640"), std::string::npos) << restored.out;
  const fs::path tls_back = to / tls.relative_path(), pw_back = to / pw.relative_path();
  EXPECT_EQ(slurp(tls_back), tls_text);
  EXPECT_EQ(slurp(pw_back), pw_text);
  EXPECT_EQ(mode_of(tls_back), 0600u);
  EXPECT_EQ(mode_of(pw_back), 0600u);
  for (fs::path d = pw_back.parent_path();; d = d.parent_path()) {
    EXPECT_EQ(mode_of(d), 0700u) << d;
    if (d == to) break;
  }
  const fs::path rel = pw.relative_path();
  const auto folders = static_cast<std::size_t>(std::distance(rel.begin(), rel.end())) - 1;
  EXPECT_EQ(listing(to).size(), 2u + folders) << "only the two files and their folders";

  // A folder that holds anything is refused, and stays as it was.
  const auto before = listing(to);
  auto again = run_env(site, {"restore-secrets", "--backup", id, "--to", to.string()}, std::nullopt);
  EXPECT_EQ(again.code, 3) << again.out << again.err;
  EXPECT_NE(again.err.find("is not empty"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("HINT:"), std::string::npos) << again.err;
  EXPECT_EQ(listing(to), before);

  // An empty folder is fine, and the newest complete backup is the default.
  fs::create_directory(out / "empty");
  expect_ok(run_env(site, {"restore-secrets", "--to", (out / "empty").string()}, std::nullopt), "into an empty folder");
  EXPECT_EQ(slurp(out / "empty" / tls.relative_path()), tls_text);

  // verify --deep proves they decrypt.
  auto deep = run_env(site, {"verify", "--deep", id}, std::nullopt);
  ASSERT_EQ(deep.code, 0) << deep.out << deep.err;
  EXPECT_NE(deep.out.find("secrets: 2 file(s) decrypt"), std::string::npos) << deep.out;

  // A new server's config names no secrets and no passphrase: verify says what it could not check...
  site.write_config();
  auto unchecked = run_env(site, {"verify", "--deep", id}, std::nullopt);
  ASSERT_EQ(unchecked.code, 0) << unchecked.out << unchecked.err;
  EXPECT_NE(unchecked.out.find("secrets: not checked, no passphrase"), std::string::npos) << unchecked.out;
  auto no_pass = run_env(site, {"restore-secrets", "--to", (out / "none").string()}, std::nullopt);
  EXPECT_EQ(no_pass.code, 1) << no_pass.err;
  EXPECT_NE(no_pass.err.find("no passphrase for the secrets"), std::string::npos) << no_pass.err;
  EXPECT_FALSE(fs::exists(out / "none"));
  // ...and the passphrase from the environment restores them there.
  expect_ok(run_env(site, {"restore-secrets", "--backup", id, "--to", (out / "from env").string()}, kPass), "from env");
  EXPECT_EQ(slurp(out / "from env" / pw.relative_path()), pw_text);

  // A wrong passphrase is a clear error and writes nothing, not even the parent folders.
  const auto parent_before = listing(out.path());
  auto wrong = run_env(site, {"restore-secrets", "--backup", id, "--to", (out / "a" / "b").string()},
                       "correct horse battery stapler");
  EXPECT_EQ(wrong.code, 1) << wrong.out << wrong.err;
  EXPECT_NE(wrong.err.find("the passphrase is wrong"), std::string::npos) << wrong.err;
  EXPECT_NE(wrong.err.find("nothing was written"), std::string::npos) << wrong.err;
  EXPECT_NE(wrong.err.find("HINT:"), std::string::npos) << wrong.err;
  EXPECT_EQ(listing(out.path()), parent_before);
  auto wrong_deep = run_env(site, {"verify", "--deep", id}, "correct horse battery stapler");
  EXPECT_EQ(wrong_deep.code, 1) << wrong_deep.out << wrong_deep.err;
  EXPECT_NE(wrong_deep.err.find("secrets.enc: does not decrypt"), std::string::npos) << wrong_deep.err;

  // A passphrase shorter than 8 characters is refused with the reason, before anything runs.
  auto short_pass = run_env(site, {"restore-secrets", "--to", (out / "short").string()}, "1234567");
  EXPECT_EQ(short_pass.code, 2) << short_pass.err;
  EXPECT_NE(short_pass.err.find("at least 8 characters"), std::string::npos) << short_pass.err;
  EXPECT_FALSE(fs::exists(out / "short"));
}

// A listed secret that is gone fails the backup by name: a generation never silently lacks a key. The
// alert command that reports it, like every tool sitekeeper starts, never sees the passphrase.
TEST(Secrets, MissingSecretFailsTheBackup) {
  Site site({.replicas = 0});
  const fs::path gone = site.dir() / "etc" / "gone.key", alert_env = site.dir() / "alert.env";
  site.write_config("[archive.secrets]\nfiles = " + toml_array({gone.string()}) + "\n[alerts]\ncommand = " +
                    toml_array({"/bin/sh", "-c", "env > \"$0.tmp\" && mv \"$0.tmp\" \"$0\"", alert_env.string()}) +
                    "\n");
  // check says so before the nightly backup finds out.
  const auto warnings = parse_json(run_env(site, {"--json", "check"}, kPass))["warnings"].dump();
  EXPECT_NE(warnings.find("gone.key"), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("the next backup fails"), std::string::npos) << warnings;
  fs::remove(alert_env);  // a check that is not ready may have alerted too
  auto backup = run_env(site, {"backup"}, kPass);
  EXPECT_EQ(backup.code, 1) << backup.out << backup.err;
  wait_until([&] { return fs::exists(alert_env); }, "the alert command's environment");
  EXPECT_NE(slurp(alert_env).find("PATH="), std::string::npos);
  EXPECT_EQ(slurp(alert_env).find(kPass), std::string::npos);
  EXPECT_EQ(slurp(alert_env).find(kEnv), std::string::npos);
  EXPECT_NE(backup.err.find("cannot read secret"), std::string::npos) << backup.err;
  EXPECT_NE(backup.err.find("gone.key"), std::string::npos) << backup.err;
  EXPECT_EQ(newest_generation(site.archive()), "") << "the failed generation is removed";
}
