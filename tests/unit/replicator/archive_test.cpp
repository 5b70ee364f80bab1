// The archive on disk, in a folder whose path holds spaces and non-ASCII: generation ids, sealing and
// checking, symlinks, and above all retention path safety (nothing outside the archive root is deleted).
#include "replicator/archive.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "support/files.hpp"
#include "core/fsutil.hpp"
#include "core/hash.hpp"
#include "core/process.hpp"
#include "replicator/manifest.hpp"
#include "support/files.hpp"

#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
using sk::replicator::Archive;
using sk::replicator::ArchiveKeys;
using sk::replicator::Manifest;
using sk::replicator::retention_victims;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

sk::Clock::time_point at(const std::string& iso) {
  sk::Clock::time_point t;
  if (!sk::parse_iso_utc(iso, t)) throw std::runtime_error("bad time " + iso);
  return t;
}

using sk::test::slurp;
using sk::test::write;

void flip_byte(const fs::path& p, size_t at = 3) {
  std::string s = slurp(p);
  ASSERT_GT(s.size(), at);
  s[at] ^= 0x01;
  write(p, s);
}

// What someone who can write the archive but not read the manager's key file can do: change a data file,
// rewrite the manifest to match, and seal it with a key of their own (or with an old-format marker).
void forge(const fs::path& d, const std::string& their_key_file, bool old_format) {
  write(d / "snapshot" / "3001.dat", "forged rows");
  auto m = Manifest::from_json(slurp(d / "manifest.json"), "manifest");
  m.files = sk::replicator::scan_files(d, {"manifest.json", "COMPLETE"}, nullptr);
  const std::string text = m.to_json();
  write(d / "manifest.json", text);
  if (old_format) {
    write(d / "COMPLETE", "{\"manifest_sha256\": \"" + sk::sha256_hex(text) + "\"}\n");
    return;
  }
  auto theirs = ArchiveKeys::load_or_create(d.parent_path().parent_path() / "elsewhere" / their_key_file);
  auto j = nlohmann::json::parse(Archive::marker_text(d.filename().string(), text, m.created_at, theirs));
  // Even with the manager's key id copied, their MAC cannot match.
  j["key_id"] = ArchiveKeys::load(d.parent_path().parent_path() / "manager" / "archive.keys").current_id();
  write(d / "COMPLETE", j.dump());
}

// Everything under `dir`: relative path -> content ("<dir>" for folders, "-> target" for symlinks).
std::map<std::string, std::string> tree(const fs::path& dir) {
  std::map<std::string, std::string> t;
  if (!fs::exists(fs::symlink_status(dir))) return t;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    const std::string rel = fs::relative(it->path(), dir).generic_string();
    auto st = it->symlink_status();
    if (fs::is_symlink(st)) t[rel] = "-> " + fs::read_symlink(it->path()).string();
    else if (fs::is_directory(st)) t[rel] = "<dir>";
    else t[rel] = slurp(it->path());
  }
  return t;
}

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = sk::test::test_dir_path("sk archive é");
    fs::remove_all(base_);
    fs::create_directories(base_);
    base_ = fs::canonical(base_);
    root_ = base_ / "site archive 站点";
    keys_ = std::make_shared<const ArchiveKeys>(ArchiveKeys::load_or_create(key_file(base_)));
  }
  // The manager's key file, outside the archive.
  static fs::path key_file(const fs::path& base) { return base / "manager" / "archive.keys"; }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(base_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(base_, ec);
  }

  // A generation with a snapshot, a permission script and a profile; sealed unless told otherwise.
  static std::string make_generation(const Archive& a, sk::Clock::time_point t, bool seal = true) {
    const std::string id = a.create(t);
    const fs::path dir = a.path(id);
    write(dir / "snapshot" / "toc.dat", "table of contents for " + id);
    write(dir / "snapshot" / "3001.dat", std::string(5000, 'r') + id);
    write(dir / "snapshot" / "sub dir é" / "3002.dat", "rows of the second table");
    write(dir / "permissions.sql", "CREATE ROLE \"helpdesk\" LOGIN;\n");
    write(dir / "profile.json", "{\"engine\": \"postgresql\"}\n");
    if (seal) {
      Manifest m;
      m.kind = "backup";
      m.site = "CEN";
      m.database = "CM_CEN";
      m.server = "cm1";
      m.engine = "postgresql";
      m.created_at = sk::iso_utc(t);
      a.seal(id, m, nullptr);
    }
    return id;
  }

  fs::path base_, root_;
  std::shared_ptr<const ArchiveKeys> keys_;
};

// ------------------------------------------------------------------------------------------------
// Ids

TEST_F(ArchiveTest, CreatesRootAndIds) {
  Archive a(root_ / "nested" / "deeper", keys_);
  EXPECT_TRUE(fs::is_directory(root_ / "nested" / "deeper"));
  EXPECT_EQ(a.root(), fs::canonical(root_ / "nested" / "deeper"));
  const auto t = at("2026-11-22T02:00:00Z");
  EXPECT_EQ(a.create(t), "20261122T020000Z");
  EXPECT_EQ(a.create(t), "20261122T020000Z-2");  // same second
  EXPECT_EQ(a.create(t), "20261122T020000Z-3");
  EXPECT_EQ(a.create(at("2026-11-22T02:00:01Z")), "20261122T020001Z");
  EXPECT_THAT(a.list(), ElementsAre("20261122T020000Z", "20261122T020000Z-2", "20261122T020000Z-3",
                                    "20261122T020001Z"));
  for (const auto& id : a.list()) {
    EXPECT_TRUE(fs::is_directory(a.root() / id));
    EXPECT_TRUE(fs::is_empty(a.root() / id));
    EXPECT_FALSE(a.complete(id));
  }
}

TEST_F(ArchiveTest, RootIsCanonical) {
  fs::create_directories(root_);
  Archive a(root_ / "." / "sub" / ".." / "", keys_);
  EXPECT_EQ(a.root(), fs::canonical(root_));
}

TEST(ReplicatorManifest, ASizeThatIsNoWholeNumberIsRefused) {
  for (const char* size : {"1.5", "-1", "1e30", "\"12\"", "18446744073709551616"}) {
    const std::string text = std::string(R"({"format":1,"kind":"backup","database":"CM_CEN","created_at":"2026-11-22T02:00:00Z",)") +
                             R"("files":[{"path":"snapshot/toc.dat","size":)" + size + R"(,"sha256":"00"}]})";
    EXPECT_THROW(Manifest::from_json(text, "manifest.json"), sk::Error) << size;
  }
}

TEST(ArchiveIds, ValidIds) {
  for (const char* id : {"20261122T020000Z", "20261122T020000Z-2", "20261122T020000Z-10", "20261122T020000Z-999",
                         "19700101T000000Z"})
    EXPECT_TRUE(Archive::valid_id(id)) << id;
}

TEST(ArchiveIds, InvalidIds) {
  using namespace std::string_literals;
  const std::string bad[] = {"",
                             "../x",
                             "..",
                             ".",
                             "/",
                             "20261122T020000Z/../..",
                             "20261122T020000Z/..",
                             "20261122T020000Z/",
                             "/20261122T020000Z",
                             "./20261122T020000Z",
                             "../20261122T020000Z",
                             "20261122T020000Z/snapshot",
                             "20261122T020000",
                             "20261122t020000Z",
                             "20261122T020000z",
                             "2026-11-22T02:00:00Z",
                             "20261122T020000Z-",
                             "20261122T020000Z-1000",
                             "20261122T020000Z--2",
                             "20261122T020000Z-2-3",
                             "20261122T020000Z.tmp",
                             " 20261122T020000Z",
                             "20261122T020000Z ",
                             "20261122T020000Z\n",
                             "20261122T020000Z\0/../.."s,
                             "captures",
                             "COMPLETE",
                             "\xef\xbc\x92" "0261122T020000Z",  // full-width digit
                             "220261122T020000Z"};
  for (const auto& id : bad) EXPECT_FALSE(Archive::valid_id(id)) << id;
}

TEST_F(ArchiveTest, PathRefusesHostileIds) {
  Archive a(root_, keys_);
  EXPECT_EQ(a.path("20261122T020000Z"), a.root() / "20261122T020000Z");
  for (const char* id : {"../x", "20261122T020000Z/../..", "", "..", "/etc", "x"}) {
    EXPECT_THROW(a.path(id), sk::Error) << id;
    EXPECT_FALSE(a.complete(id)) << id;  // never throws
    EXPECT_THROW(a.manifest(id), sk::Error) << id;
    EXPECT_THROW(a.check(id, true, nullptr), sk::Error) << id;
  }
}

// ------------------------------------------------------------------------------------------------
// Seal and check

TEST_F(ArchiveTest, SealThenComplete) {
  Archive a(root_, keys_);
  const auto t = at("2026-11-22T02:00:00Z");
  const std::string id = make_generation(a, t);
  EXPECT_TRUE(a.complete(id));
  EXPECT_EQ(a.newest_complete(), id);
  EXPECT_THAT(a.check(id, true, nullptr), IsEmpty());
  EXPECT_THAT(a.check(id, false, nullptr), IsEmpty());

  Manifest m = a.manifest(id);
  EXPECT_EQ(m.id, id);
  EXPECT_EQ(m.database, "CM_CEN");
  EXPECT_EQ(m.created_at, "2026-11-22T02:00:00Z");
  std::vector<std::string> paths;
  for (const auto& f : m.files) paths.push_back(f.path);
  EXPECT_THAT(paths, ElementsAre("permissions.sql", "profile.json", "snapshot/3001.dat", "snapshot/sub dir é/3002.dat",
                                 "snapshot/toc.dat"));
  for (const auto& f : m.files) {
    EXPECT_EQ(f.size, fs::file_size(a.path(id) / f.path)) << f.path;
    EXPECT_EQ(f.sha256, sk::sha256_hex(slurp(a.path(id) / f.path))) << f.path;
  }
  // The marker names the manifest's hash.
  EXPECT_THAT(slurp(a.path(id) / "COMPLETE"), HasSubstr(sk::sha256_hex(slurp(a.path(id) / "manifest.json"))));
}

TEST_F(ArchiveTest, UnsealedGenerationIsNotComplete) {
  Archive a(root_, keys_);
  const std::string good = make_generation(a, at("2026-11-21T02:00:00Z"));
  const std::string id = make_generation(a, at("2026-11-22T02:00:00Z"), /*seal=*/false);
  EXPECT_FALSE(a.complete(id));
  EXPECT_EQ(a.newest_complete(), good);
  EXPECT_THAT(a.check(id, true, nullptr), ElementsAre(HasSubstr("COMPLETE: missing")));
}

struct Damage {
  std::string name;
  std::function<void(const fs::path& dir)> apply;
  std::string problem;       // expected in check(hash = true)
  bool found_by_sizes_only;  // also expected in check(hash = false)
  bool still_complete;       // marker still matches the manifest
};

void PrintTo(const Damage& d, std::ostream* os) { *os << d.name; }

class ArchiveDamage : public ArchiveTest, public ::testing::WithParamInterface<Damage> {};

TEST_P(ArchiveDamage, CheckFindsIt) {
  const auto& d = GetParam();
  Archive a(root_, keys_);
  const std::string older = make_generation(a, at("2026-11-21T02:00:00Z"));
  const std::string id = make_generation(a, at("2026-11-22T02:00:00Z"));
  ASSERT_THAT(a.check(id, true, nullptr), IsEmpty());
  d.apply(a.path(id));
  auto problems = a.check(id, true, nullptr);
  EXPECT_THAT(problems, ElementsAre(HasSubstr(d.problem)));
  if (d.found_by_sizes_only) {
    EXPECT_THAT(a.check(id, false, nullptr), ElementsAre(HasSubstr(d.problem)));
  } else {
    EXPECT_THAT(a.check(id, false, nullptr), IsEmpty());
  }
  EXPECT_EQ(a.complete(id), d.still_complete);
  EXPECT_EQ(a.newest_complete(), d.still_complete ? id : older);
  // The other generation is untouched by the damage and by checking.
  EXPECT_THAT(a.check(older, true, nullptr), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ArchiveDamage,
    ::testing::Values(
        Damage{"FlippedByte", [](const fs::path& d) { flip_byte(d / "snapshot" / "3001.dat", 100); },
               "snapshot/3001.dat: checksum mismatch", false, true},
        Damage{"FlippedByteInNestedFile",
               [](const fs::path& d) { flip_byte(d / "snapshot" / "sub dir é" / "3002.dat", 0); },
               "snapshot/sub dir é/3002.dat: checksum mismatch", false, true},
        Damage{"Truncated", [](const fs::path& d) { fs::resize_file(d / "snapshot" / "3001.dat", 10); },
               "snapshot/3001.dat: size 10", true, true},
        Damage{"Deleted", [](const fs::path& d) { fs::remove(d / "snapshot" / "toc.dat"); },
               "snapshot/toc.dat: missing", true, true},
        Damage{"ReplacedBySymlinkToIdenticalCopy",
               [](const fs::path& d) {
                 const fs::path outside = d.parent_path().parent_path() / "outside copy.dat";
                 fs::copy_file(d / "snapshot" / "toc.dat", outside);
                 fs::remove(d / "snapshot" / "toc.dat");
                 fs::create_symlink(outside, d / "snapshot" / "toc.dat");
               },
               "snapshot/toc.dat: missing", true, true},
        Damage{"ExtraFile", [](const fs::path& d) { write(d / "snapshot" / "extra.dat", "x"); },
               "snapshot/extra.dat: not in the manifest", true, true},
        Damage{"ExtraTopLevelFile", [](const fs::path& d) { write(d / "notes.txt", "x"); },
               "notes.txt: not in the manifest", true, true},
        Damage{"ExtraSymlinkToFolder",
               [](const fs::path& d) {
                 fs::create_directories(d.parent_path().parent_path() / "elsewhere");
                 fs::create_directory_symlink(d.parent_path().parent_path() / "elsewhere", d / "snapshot" / "more");
               },
               "snapshot/more: not in the manifest", true, true},
        Damage{"MarkerMissing", [](const fs::path& d) { fs::remove(d / "COMPLETE"); },
               "COMPLETE: missing", true, false},
        Damage{"MarkerGarbage", [](const fs::path& d) { write(d / "COMPLETE", "not json"); },
               "COMPLETE: does not match manifest.json", true, false},
        Damage{"ManifestModified",
               [](const fs::path& d) {
                 std::string m = slurp(d / "manifest.json");
                 auto pos = m.find("CM_CEN");
                 ASSERT_NE(pos, std::string::npos);
                 m.replace(pos, 6, "CM_XYZ");
                 write(d / "manifest.json", m);
               },
               "COMPLETE: does not match manifest.json", true, false},
        Damage{"ManifestDeleted", [](const fs::path& d) { fs::remove(d / "manifest.json"); },
               "COMPLETE: does not match manifest.json", true, false},
        // A manifest rewritten to list a path outside the generation, with a marker to match.
        Damage{"ManifestWithUnsafePath",
               [](const fs::path& d) {
                 std::string m = slurp(d / "manifest.json");
                 auto pos = m.find("\"permissions.sql\"");
                 ASSERT_NE(pos, std::string::npos);
                 m.replace(pos, 17, "\"../../etc/passwd\"");
                 write(d / "manifest.json", m);
                 // Sealed with the manager's own key: what the manifest reader refuses by itself.
                 auto keys = ArchiveKeys::load(d.parent_path().parent_path() / "manager" / "archive.keys");
                 write(d / "COMPLETE", Archive::marker_text(d.filename().string(), m, "2026-11-22T02:00:00Z", keys));
               },
               "unsafe path", true, true},
        // The attack of the review: data, manifest and marker rewritten by someone without the key.
        Damage{"DataManifestAndMarkerForgedWithoutTheKey",
               [](const fs::path& d) { forge(d, "attacker.keys", /*old_format=*/false); },
               "COMPLETE: MAC does not verify under archive key", true, false},
        Damage{"ForgedWithAnOldFormatMarker", [](const fs::path& d) { forge(d, "attacker.keys", /*old_format=*/true); },
               "COMPLETE: carries no MAC", true, false},
        Damage{"MacRemoved",
               [](const fs::path& d) {
                 auto j = nlohmann::json::parse(slurp(d / "COMPLETE"));
                 j.erase("mac");
                 write(d / "COMPLETE", j.dump());
               },
               "COMPLETE: carries no MAC", true, false},
        Damage{"KeyIdChanged",
               [](const fs::path& d) {
                 auto j = nlohmann::json::parse(slurp(d / "COMPLETE"));
                 j["key_id"] = "k00000000";
                 write(d / "COMPLETE", j.dump());
               },
               "which the key file does not hold", true, false},
        Damage{"CompletedAtChanged",
               [](const fs::path& d) {
                 auto j = nlohmann::json::parse(slurp(d / "COMPLETE"));
                 j["completed_at"] = "2027-01-01T00:00:00Z";
                 write(d / "COMPLETE", j.dump());
               },
               "COMPLETE: MAC does not verify", true, false}),
    [](const auto& info) { return info.param.name; });

// An old generation copied (or renamed) to a newer id, to be served as the newest: its marker was
// sealed for the old id, so it is not complete under the new one.
TEST_F(ArchiveTest, AGenerationCopiedToANewerIdIsNotComplete) {
  Archive a(root_, keys_);
  const std::string id = make_generation(a, at("2026-11-22T02:00:00Z"));
  fs::copy(a.path(id), a.root() / "20261123T020000Z", fs::copy_options::recursive);
  EXPECT_FALSE(a.complete("20261123T020000Z"));
  EXPECT_THAT(a.check("20261123T020000Z", true, nullptr),
              ElementsAre(HasSubstr("sealed for generation " + id + ", not 20261123T020000Z")));
  EXPECT_EQ(a.newest_complete(), id);
}

// A rotated key seals new generations; the old key, kept in the file, still verifies old ones.
TEST_F(ArchiveTest, RotationKeepsOldGenerationsVerifiable) {
  Archive before(root_, keys_);
  const std::string old_id = make_generation(before, at("2026-11-22T02:00:00Z"));
  const std::string old_key = keys_->current_id();
  const std::string new_key = ArchiveKeys::rotate(key_file(base_));
  EXPECT_NE(new_key, old_key);
  auto rotated = std::make_shared<const ArchiveKeys>(ArchiveKeys::load(key_file(base_)));
  EXPECT_EQ(rotated->size(), 2u);
  Archive after(root_, rotated);
  const std::string new_id = make_generation(after, at("2026-11-23T02:00:00Z"));
  EXPECT_THAT(after.check(old_id, true, nullptr), IsEmpty());
  EXPECT_THAT(after.check(new_id, true, nullptr), IsEmpty());
  EXPECT_THAT(slurp(after.path(new_id) / "COMPLETE"), HasSubstr("\"key_id\":\"" + new_key + "\""));
  EXPECT_THAT(slurp(after.path(old_id) / "COMPLETE"), HasSubstr("\"key_id\":\"" + old_key + "\""));
  // Keys that lack the new key cannot prove the new generation intact.
  Archive only_old(root_, keys_);
  EXPECT_FALSE(only_old.complete(new_id));
  EXPECT_THAT(only_old.check(new_id, true, nullptr), ElementsAre(HasSubstr("which the key file does not hold")));
}

TEST_F(ArchiveTest, WithoutTheKeyFileNothingIsCompleteAndCheckSaysWhy) {
  Archive a(root_, keys_);
  const std::string id = make_generation(a, at("2026-11-22T02:00:00Z"));
  Archive keyless(root_, nullptr, "no archive key file /x/archive.keys");
  EXPECT_FALSE(keyless.complete(id));
  EXPECT_EQ(keyless.newest_complete(), std::nullopt);
  EXPECT_THAT(keyless.check(id, true, nullptr), ElementsAre(HasSubstr("its MAC cannot be checked: no archive key file")));
  Manifest m;
  m.database = "CM_CEN";
  const std::string unsealed = keyless.create(at("2026-11-24T02:00:00Z"));
  EXPECT_THROW(keyless.seal(unsealed, m, nullptr), sk::Error);
  EXPECT_FALSE(fs::exists(keyless.path(unsealed) / "COMPLETE"));
}

TEST_F(ArchiveTest, KeyFileIsPrivateAndRefusedWhenOthersCanRead) {
  EXPECT_EQ(fs::status(key_file(base_)).permissions() & fs::perms::mask,
            fs::perms::owner_read | fs::perms::owner_write);
  fs::permissions(key_file(base_), fs::perms::group_read, fs::perm_options::add);
  try {
    ArchiveKeys::load(key_file(base_));
    ADD_FAILURE() << "a key file others can read was accepted";
  } catch (const sk::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("readable by group or others"));
  }
}

TEST_F(ArchiveTest, MalformedKeyFilesAreRefused) {
  const fs::path f = base_ / "bad.keys";
  for (const std::string& text : std::vector<std::string>{"", "not a key file\n", "sitekeeper-archive-keys 1\n",
                                 "sitekeeper-archive-keys 1\nk1 abcd\n",
                                 "sitekeeper-archive-keys 1\nk1 " + std::string(64, 'g') + "\n",
                                 "sitekeeper-archive-keys 1\nk1 " + std::string(64, 'a') + " extra\n"}) {
    write(f, text);
    fs::permissions(f, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    EXPECT_THROW(ArchiveKeys::load(f), sk::Error) << text;
  }
}

// Everything a seal writes is private, whatever the tool that wrote the snapshot chose.
TEST_F(ArchiveTest, SealMakesTheGenerationPrivate) {
  Archive a(root_, keys_);
  const std::string id = make_generation(a, at("2026-11-22T02:00:00Z"));
  EXPECT_THAT(sk::readable_by_others_under(a.root()), IsEmpty());
  for (auto it = fs::recursive_directory_iterator(a.path(id)); it != fs::recursive_directory_iterator(); ++it) {
    const auto perms = it->status().permissions() & fs::perms::mask;
    EXPECT_EQ(perms, it->is_directory() ? fs::perms::owner_all : (fs::perms::owner_read | fs::perms::owner_write))
        << it->path();
  }
}

TEST_F(ArchiveTest, OnlyLimitsHashingToAPrefix) {
  Archive a(root_, keys_);
  const std::string id = make_generation(a, at("2026-11-22T02:00:00Z"));
  flip_byte(a.path(id) / "permissions.sql", 2);
  EXPECT_THAT(a.check(id, true, nullptr, "snapshot/"), IsEmpty());
  EXPECT_THAT(a.check(id, true, nullptr, "permissions.sql"), ElementsAre("permissions.sql: checksum mismatch"));
  EXPECT_THAT(a.check(id, true, nullptr), ElementsAre("permissions.sql: checksum mismatch"));

  const std::string id2 = make_generation(a, at("2026-11-23T02:00:00Z"));
  flip_byte(a.path(id2) / "snapshot" / "3001.dat", 7);
  EXPECT_THAT(a.check(id2, true, nullptr, "permissions.sql"), IsEmpty());
  EXPECT_THAT(a.check(id2, true, nullptr, "profile.json"), IsEmpty());
  EXPECT_THAT(a.check(id2, true, nullptr, "snapshot/"), ElementsAre("snapshot/3001.dat: checksum mismatch"));
  // Sizes are checked everywhere even when hashing is limited.
  fs::resize_file(a.path(id2) / "profile.json", 1);
  EXPECT_THAT(a.check(id2, true, nullptr, "snapshot/"), ElementsAre(HasSubstr("profile.json: size 1")));
  // hash = false with a prefix: sizes only.
  EXPECT_THAT(a.check(id2, false, nullptr, "snapshot/"), ElementsAre(HasSubstr("profile.json: size 1")));
}

TEST_F(ArchiveTest, CheckHonoursCancellation) {
  Archive a(root_, keys_);
  const std::string id = make_generation(a, at("2026-11-22T02:00:00Z"));
  sk::CancelToken cancel;
  cancel.cancel();
  EXPECT_THROW(a.check(id, true, &cancel), sk::Cancelled);
}

TEST_F(ArchiveTest, SymlinkInsideGenerationIsRefused) {
  Archive a(root_, keys_);
  write(base_ / "outside" / "secret.txt", "not archive data");
  struct {
    const char* name;
    std::function<void(const fs::path&)> plant;
  } cases[] = {
      {"file symlink", [&](const fs::path& d) { fs::create_symlink(base_ / "outside" / "secret.txt", d / "snapshot" / "link.dat"); }},
      {"folder symlink", [&](const fs::path& d) { fs::create_directory_symlink(base_ / "outside", d / "snapshot" / "linkdir"); }},
      {"top-level symlink", [&](const fs::path& d) { fs::create_symlink(base_ / "outside" / "secret.txt", d / "profile2.json"); }},
      {"dangling symlink", [&](const fs::path& d) { fs::create_symlink(base_ / "nowhere", d / "snapshot" / "gone.dat"); }},
  };
  int second = 0;
  for (const auto& c : cases) {
    const auto t = at("2026-11-22T02:00:00Z") + std::chrono::seconds(second++);
    const std::string id = make_generation(a, t, /*seal=*/false);
    c.plant(a.path(id));
    EXPECT_THROW(sk::replicator::scan_files(a.path(id), {}, nullptr), sk::Error) << c.name;
    Manifest m;
    m.database = "CM_CEN";
    m.created_at = sk::iso_utc(t);
    EXPECT_THROW(a.seal(id, m, nullptr), sk::Error) << c.name;
    EXPECT_FALSE(fs::exists(a.path(id) / "COMPLETE")) << c.name;
    EXPECT_FALSE(a.complete(id)) << c.name;
  }
  EXPECT_EQ(slurp(base_ / "outside" / "secret.txt"), "not archive data");
  EXPECT_EQ(a.newest_complete(), std::nullopt);
}

// ------------------------------------------------------------------------------------------------
// Retention

struct RetentionCase {
  std::string name;
  std::vector<bool> complete;  // for ids A..; oldest first
  int keep;
  std::optional<std::string> protect;
  std::vector<std::string> victims;
};

void PrintTo(const RetentionCase& c, std::ostream* os) { *os << c.name; }

class Retention : public ::testing::TestWithParam<RetentionCase> {};

TEST_P(Retention, Victims) {
  const auto& c = GetParam();
  std::vector<std::string> ids;
  for (size_t i = 0; i < c.complete.size(); ++i) ids.push_back(std::string(1, static_cast<char>('A' + i)));
  auto v = retention_victims(ids, c.complete, c.keep, c.protect);
  EXPECT_THAT(v, UnorderedElementsAreArray(c.victims));
  // Never the protected one, and never an incomplete generation newer than the newest complete one.
  if (c.protect) {
    EXPECT_THAT(v, ::testing::Not(::testing::Contains(*c.protect)));
  }
  for (size_t i = ids.size(); i-- > 0 && !c.complete[i];)
    EXPECT_THAT(v, ::testing::Not(::testing::Contains(ids[i])));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Retention,
    ::testing::Values(
        RetentionCase{"Empty", {}, 2, std::nullopt, {}},
        RetentionCase{"FewerThanKeep", {true, true}, 3, std::nullopt, {}},
        RetentionCase{"ExactlyKeep", {true, true, true}, 3, std::nullopt, {}},
        RetentionCase{"KeepNewest", {true, true, true, true, true}, 2, std::nullopt, {"A", "B", "C"}},
        RetentionCase{"KeepOne", {true, true, true}, 1, std::nullopt, {"A", "B"}},
        RetentionCase{"ProtectOlderThanKeep", {true, true, true, true, true}, 2, "A", {"B", "C"}},
        RetentionCase{"ProtectWithinKeep", {true, true, true, true, true}, 2, "E", {"A", "B", "C"}},
        RetentionCase{"ProtectUnknownId", {true, true, true}, 1, "Z", {"A", "B"}},
        RetentionCase{"KeepZeroStillProtects", {true, true, true}, 0, "B", {"A", "C"}},
        RetentionCase{"IncompleteOlderAreVictims", {true, false, true, false, true}, 5, std::nullopt, {"B", "D"}},
        RetentionCase{"IncompleteNewerAreKept", {true, true, false, false}, 5, std::nullopt, {}},
        RetentionCase{"IncompleteNewerKeptWhileOlderCompleteTrimmed", {true, true, true, false}, 1, std::nullopt,
                      {"A", "B"}},
        RetentionCase{"NothingComplete", {false, false, false}, 1, std::nullopt, {}},
        RetentionCase{"IncompleteDoNotCountTowardsKeep", {true, true, false, false, true}, 2, std::nullopt,
                      {"C", "D", "A"}},
        RetentionCase{"ProtectedOldOnlyVerified", {true, false, true, true}, 1, "A", {"B", "C"}}),
    [](const auto& info) { return info.param.name; });

// ------------------------------------------------------------------------------------------------
// Remove: path safety

TEST_F(ArchiveTest, RemoveDeletesOnlyTheGeneration) {
  Archive a(root_, keys_);
  const std::string keep = make_generation(a, at("2026-11-21T02:00:00Z"));
  const std::string gone = make_generation(a, at("2026-11-22T02:00:00Z"));
  a.remove(gone);
  EXPECT_FALSE(fs::exists(a.root() / gone));
  EXPECT_THAT(a.list(), ElementsAre(keep));
  EXPECT_THAT(a.check(keep, true, nullptr), IsEmpty());
  EXPECT_THROW(a.remove(gone), sk::Error);  // already gone
}

TEST_F(ArchiveTest, RemoveRefusesSymlinkPointingOutside) {
  Archive a(root_, keys_);
  write(base_ / "site" / "live data.db", "the live site");
  write(base_ / "site" / "20261122T020000Z" / "x", "nested");
  const auto before = tree(base_ / "site");
  fs::create_directory_symlink(base_ / "site", a.root() / "20261122T020000Z");
  fs::create_directory_symlink(base_ / "site" / "20261122T020000Z", a.root() / "20261123T020000Z");
  EXPECT_THROW(a.remove("20261122T020000Z"), sk::Error);
  EXPECT_THROW(a.remove("20261123T020000Z"), sk::Error);
  EXPECT_EQ(tree(base_ / "site"), before);
  EXPECT_TRUE(fs::is_symlink(a.root() / "20261122T020000Z"));
  EXPECT_THAT(a.list(), IsEmpty());
}

TEST_F(ArchiveTest, RemoveRefusesSymlinkToAnotherGeneration) {
  Archive a(root_, keys_);
  const std::string real = make_generation(a, at("2026-11-22T02:00:00Z"));
  fs::create_directory_symlink(a.root() / real, a.root() / "20261123T020000Z");
  EXPECT_THROW(a.remove("20261123T020000Z"), sk::Error);
  EXPECT_TRUE(a.complete(real));
  EXPECT_THAT(a.check(real, true, nullptr), IsEmpty());
}

TEST_F(ArchiveTest, RemoveRefusesWhatIsNotAGenerationFolder) {
  Archive a(root_, keys_);
  const std::string real = make_generation(a, at("2026-11-22T02:00:00Z"));
  write(a.root() / "20261124T000000Z", "a file named like a generation");
  write(base_ / "x" / "keep.txt", "outside");
  const auto before = tree(base_);
  for (const char* id : {"../x", "20261122T020000Z/../..", "20261122T020000Z/snapshot", "", ".", "..", "/",
                         "20261124T000000Z", "20261125T000000Z" /* missing */}) {
    EXPECT_THROW(a.remove(id), sk::Error) << id;
  }
  EXPECT_EQ(tree(base_), before);
  EXPECT_TRUE(a.complete(real));
}

// The failure this guards against: an older product's cleanup, given a backup folder whose name held a
// space, deleted the whole site folder. Siblings sharing the archive's name as a prefix, each holding
// generation-named folders, must come through byte for byte.
TEST_F(ArchiveTest, RemovingEveryGenerationLeavesPrefixSiblingsAlone) {
  const fs::path parent = base_ / "Program Files" / "SMS site";
  const fs::path archive_dir = parent / "site archive";
  for (const char* sibling : {"site archive-old", "site", "site archive 2", "site archiv"}) {
    for (const char* id : {"20261121T020000Z", "20261122T020000Z", "20261122T020000Z-2"}) {
      write(parent / sibling / id / "snapshot" / "toc.dat", std::string("sibling ") + sibling + " " + id);
      write(parent / sibling / id / "COMPLETE", "{}");
    }
    write(parent / sibling / "site.db", "live data of " + std::string(sibling));
  }
  write(parent / "site.db", "the live site database");
  const auto before = tree(parent);

  Archive a(archive_dir, keys_);
  std::vector<std::string> made;
  for (const char* t : {"2026-11-21T02:00:00Z", "2026-11-22T02:00:00Z", "2026-11-22T02:00:00Z"})
    made.push_back(make_generation(a, at(t)));
  make_generation(a, at("2026-11-23T02:00:00Z"), /*seal=*/false);  // a killed backup's leftovers
  ASSERT_THAT(made, ElementsAre("20261121T020000Z", "20261122T020000Z", "20261122T020000Z-2"));

  // Retention first (as a backup would run it), then every remaining generation.
  auto ids = a.list();
  std::vector<bool> complete;
  for (const auto& id : ids) complete.push_back(a.complete(id));
  for (const auto& v : retention_victims(ids, complete, 1, std::nullopt)) a.remove(v);
  EXPECT_THAT(a.list(), ElementsAre("20261122T020000Z-2", "20261123T020000Z"));
  for (const auto& id : a.list()) a.remove(id);
  EXPECT_THAT(a.list(), IsEmpty());
  EXPECT_TRUE(fs::is_directory(archive_dir));

  auto after = tree(parent);
  // Only the archive's own content changed.
  for (auto it = after.begin(); it != after.end();)
    it = it->first.rfind("site archive/", 0) == 0 ? after.erase(it) : std::next(it);
  auto expected = before;
  expected["site archive"] = "<dir>";
  EXPECT_EQ(after, expected);
}

// ------------------------------------------------------------------------------------------------
// list

TEST_F(ArchiveTest, ListIgnoresNonIdsAndSymlinksAndSortsCountersNumerically) {
  Archive a(root_, keys_);
  for (const char* id : {"20261122T020000Z-10", "20261122T020000Z", "20261122T020000Z-3", "20261122T020000Z-2",
                         "20261121T235959Z", "20261122T020001Z"})
    fs::create_directory(a.root() / id);
  fs::create_directory(a.root() / "captures");
  fs::create_directory(a.root() / "20261122T020000Z.tmp");
  fs::create_directory(a.root() / "20261122T020000Z-1000");
  fs::create_directory(a.root() / "site archive-old");
  write(a.root() / "notes.txt", "x");
  write(a.root() / "20261124T000000Z", "a file, not a folder");
  fs::create_directory_symlink(a.root() / "20261122T020000Z", a.root() / "20261123T000000Z");
  fs::create_directory_symlink(base_, a.root() / "20261125T000000Z");
  { auto lock = a.lock(); }
  EXPECT_TRUE(fs::exists(a.root() / ".sitekeeper.lock"));
  EXPECT_THAT(a.list(), ElementsAre("20261121T235959Z", "20261122T020000Z", "20261122T020000Z-2",
                                    "20261122T020000Z-3", "20261122T020000Z-10", "20261122T020001Z"));
}

TEST_F(ArchiveTest, NewestCompleteUsesNumericCounterOrder) {
  Archive a(root_, keys_);
  const auto t = at("2026-11-22T02:00:00Z");
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(make_generation(a, t));
  EXPECT_EQ(ids.back(), "20261122T020000Z-10");
  EXPECT_EQ(a.newest_complete(), "20261122T020000Z-10");
  EXPECT_EQ(a.list().back(), "20261122T020000Z-10");
}

}  // namespace
