// The archive's secrets without a database: written into a generation and sealed under its manifest,
// checked for verify --deep, and restored only into a missing or empty folder, all or nothing.
#include "replicator/archive_secrets.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "core/error.hpp"
#include "core/secrets.hpp"
#include "support/files.hpp"
#include "support/sealed_generation.hpp"

namespace sk::replicator {
namespace {

using ::testing::HasSubstr;

const std::string kPass = "correct horse battery";

using sk::test::listing;
using sk::test::slurp;
using sk::test::write;

class ArchiveSecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = sk::test::test_dir_path("sk secrets é");
    fs::remove_all(base_);
    fs::create_directories(base_ / "out");
    cfg_.archive.path = base_ / "archive";
    cfg_.archive.key_file = base_ / "manager" / "archive.keys";
    cfg_.archive.secrets.files = {base_ / "etc" / "tls.key", base_ / "etc" / "db pw" / "cm1.pw"};
    cfg_.archive.secrets.passphrase = kPass;
    cfg_.archive.secrets.passphrase_source = "environment";
    write(cfg_.archive.secrets.files[0], "KEY");
    write(cfg_.archive.secrets.files[1], "PASSWORD");
    fs::permissions(cfg_.archive.secrets.files[0], fs::perms(0640), fs::perm_options::replace);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  // A sealed generation; `fill` writes its files (the default: the configured secrets).
  std::string generation(const std::function<void(const fs::path&)>& fill = {}) {
    return sk::test::sealed_generation(cfg_, n_, fill ? fill : [this](const fs::path& dir) { write_secrets(cfg_, dir); });
  }

  fs::path base_;
  Config cfg_;
  int n_ = 0;
};

TEST_F(ArchiveSecretsTest, RestoresEachFileBelowTheTarget) {
  const std::string id = generation();
  Archive a = open_archive(cfg_);
  EXPECT_TRUE(a.complete(id));
  std::vector<std::string> problems;
  EXPECT_EQ(check_secrets(cfg_, a.path(id), problems), "secrets: 2 file(s) decrypt");
  EXPECT_TRUE(problems.empty());

  const fs::path to = base_ / "out" / "restored";
  auto r = restore_secrets(cfg_, id, to);
  ASSERT_EQ(r.files.size(), 2u);
  EXPECT_EQ(r.files[0].path, to / cfg_.archive.secrets.files[0].relative_path());
  EXPECT_EQ(r.files[0].mode, 0640u);
  EXPECT_EQ(slurp(to / cfg_.archive.secrets.files[1].relative_path()), "PASSWORD");
  struct stat st{};
  ASSERT_EQ(::stat(r.files[0].path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(to.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  // Nothing left beside the target: the private folder was renamed into place.
  EXPECT_EQ(listing(base_ / "out").front(), to.string());
}

TEST_F(ArchiveSecretsTest, TargetMustBeMissingOrEmpty) {
  const std::string id = generation();
  write(base_ / "out" / "full" / "x", "x");
  write(base_ / "out" / "a file", "x");
  fs::create_directory_symlink(base_ / "out" / "empty", base_ / "out" / "link");
  fs::create_directory(base_ / "out" / "empty");
  const auto before = listing(base_ / "out");
  for (const char* name : {"full", "a file", "link"}) {
    try {
      restore_secrets(cfg_, id, base_ / "out" / name);
      ADD_FAILURE() << name << " accepted";
    } catch (const SafetyError& e) {
      EXPECT_THAT(e.what(), HasSubstr("refusing to restore secrets into")) << name;
    }
  }
  EXPECT_EQ(listing(base_ / "out"), before);
  EXPECT_NO_THROW(restore_secrets(cfg_, id, base_ / "out" / "empty"));
  EXPECT_THROW(restore_secrets(cfg_, id, "/"), SafetyError);
}

TEST_F(ArchiveSecretsTest, WrongPassphraseWritesNothing) {
  const std::string id = generation();
  cfg_.archive.secrets.passphrase = "another passphrase";
  const auto before = listing(base_);
  try {
    restore_secrets(cfg_, id, base_ / "out" / "new" / "deeper");
    FAIL() << "restored with a wrong passphrase";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("the passphrase is wrong"));
    EXPECT_THAT(e.what(), HasSubstr("nothing was written"));
    EXPECT_THAT(e.hint(), HasSubstr("SITEKEEPER_SECRETS_PASSPHRASE"));
  }
  EXPECT_EQ(listing(base_), before);
  std::vector<std::string> problems;
  check_secrets(cfg_, open_archive(cfg_).path(id), problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0], HasSubstr("secrets.enc: does not decrypt"));
}

TEST_F(ArchiveSecretsTest, AFailureHalfwayLeavesNoPartialTarget) {
  // "/a" as a file and "/a/b" below it: the second cannot be written, after the first was.
  const std::string id = generation([](const fs::path& dir) {
    write(dir / kSecretsFile, secrets::seal({{"/a", 0600, "1"}, {"/a/b", 0600, "2"}}, kPass));
  });
  const auto before = listing(base_);
  EXPECT_ANY_THROW(restore_secrets(cfg_, id, base_ / "out" / "half"));
  EXPECT_EQ(listing(base_), before);
}

TEST_F(ArchiveSecretsTest, ChangedContainerIsRefusedByTheManifest) {
  const std::string id = generation();
  const fs::path enc = open_archive(cfg_).path(id) / kSecretsFile;
  std::string bytes = slurp(enc);
  bytes[bytes.size() / 2] ^= 0x20;
  write(enc, bytes);
  try {
    restore_secrets(cfg_, id, base_ / "out" / "x");
    FAIL() << "restored a changed container";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("does not match its manifest"));
  }
  EXPECT_FALSE(fs::exists(base_ / "out" / "x"));
}

TEST_F(ArchiveSecretsTest, WithoutSecretsOrPassphrase) {
  const std::string none = generation([](const fs::path&) {});
  std::vector<std::string> problems;
  EXPECT_EQ(check_secrets(cfg_, open_archive(cfg_).path(none), problems), "secrets: none in this generation");
  EXPECT_THAT([&] { restore_secrets(cfg_, none, base_ / "out" / "x"); },
              ::testing::ThrowsMessage<Error>(HasSubstr("holds no secrets")));
  const std::string id = generation();
  cfg_.archive.secrets.passphrase.clear();
  EXPECT_EQ(check_secrets(cfg_, open_archive(cfg_).path(id), problems), "secrets: not checked, no passphrase");
  EXPECT_TRUE(problems.empty());
  EXPECT_THAT([&] { restore_secrets(cfg_, id, base_ / "out" / "x"); },
              ::testing::ThrowsMessage<Error>(HasSubstr("no passphrase for the secrets")));
  EXPECT_FALSE(fs::exists(base_ / "out" / "x"));
}

TEST_F(ArchiveSecretsTest, AListedFolderOrMissingFileFailsByName) {
  Archive a = open_archive(cfg_, false, true);
  const std::string id = a.create(Clock::time_point{});
  cfg_.archive.secrets.files = {base_ / "etc"};
  EXPECT_THAT([&] { write_secrets(cfg_, a.path(id)); }, ::testing::ThrowsMessage<Error>(HasSubstr("not a regular file")));
  cfg_.archive.secrets.files = {base_ / "etc" / "gone"};
  EXPECT_THAT([&] { write_secrets(cfg_, a.path(id)); }, ::testing::ThrowsMessage<Error>(HasSubstr("gone")));
  EXPECT_FALSE(fs::exists(a.path(id) / kSecretsFile));
  cfg_.archive.secrets.files.clear();
  EXPECT_EQ(write_secrets(cfg_, a.path(id)), 0u);
  EXPECT_FALSE(fs::exists(a.path(id) / kSecretsFile));
}

}  // namespace
}  // namespace sk::replicator
