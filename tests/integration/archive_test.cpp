// The archive against someone who can write it: a forged generation is never served, and nothing in the
// archive or the state store is readable by other local users. Real PostgreSQL 15, the real binary.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "core/hash.hpp"
#include "core/error.hpp"
#include "core/process.hpp"
#include "sql/engine.hpp"
#include "integration_support.hpp"
#include "pg_cluster.hpp"
#include "core/config.hpp"
#include "replicator/archive.hpp"
#include "replicator/manifest.hpp"
#include "site_fixture.hpp"
#include "tests/unit/support/files.hpp"

using namespace sk::test;
namespace fs = std::filesystem;

namespace {

unsigned mode_of(const fs::path& p) {
  struct stat st{};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

}  // namespace

// The attack of the security review: the newest generation's snapshot is replaced by a dump holding
// forged rows, its manifest rewritten to match, and its marker rewritten with a MAC made without the
// manager's key (and, second try, in the old format without a MAC). verify names the generation,
// refresh refuses it, and the replica keeps serving the genuine rows.
TEST(Archive, ForgedGenerationIsNeverServed) {
  Site site({.replicas = 1});
  expect_ok(site.run({"backup"}), "backup 1");
  expect_ok(site.run({"refresh"}), "refresh 1");
  const std::string genuine = site.count_on_replica(0);
  expect_ok(site.run({"backup"}), "backup 2");
  const std::string id = newest_generation(site.archive());
  const fs::path gen = site.archive() / id;

  // The forger's dump: a copy of the site database with forged rows, dumped by pg_dump.
  auto& a = site.active();
  a.psql("CREATE DATABASE forged TEMPLATE " + qi(site.db()));
  a.psql("INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, message) "
         "SELECT 'CEN', 'forger', 1, 'error', 'EVILPC', 'FORGED ROW' FROM generate_series(1, 77)", "forged");
  fs::remove_all(gen / "snapshot");
  std::string err;
  ASSERT_EQ(run_command({(a.bin_dir() / "pg_dump").string(), "--format=directory", "--file=" + (gen / "snapshot").string(),
                         "--dbname=" + a.conninfo("forged")}, {{"PGPASSWORD", a.password()}}, nullptr, &err), 0)
      << err;
  auto m = sk::replicator::Manifest::from_json(slurp(gen / "manifest.json"), "manifest");
  m.files = sk::replicator::scan_files(gen, {"manifest.json", "COMPLETE"}, nullptr);
  const std::string manifest = m.to_json();
  std::ofstream(gen / "manifest.json", std::ios::trunc) << manifest;
  auto marker = nlohmann::json::parse(slurp(gen / "COMPLETE"));
  marker["manifest_sha256"] = sk::sha256_hex(manifest);
  marker["mac"] = sk::hmac_sha256_hex("the forger's own key", "anything");
  std::ofstream(gen / "COMPLETE", std::ios::trunc) << marker.dump();

  auto verify = site.run({"verify", id});
  EXPECT_EQ(verify.code, 1) << verify.out << verify.err;
  EXPECT_NE(verify.err.find(id), std::string::npos) << verify.err;
  EXPECT_NE(verify.err.find("MAC does not verify"), std::string::npos) << verify.err;
  auto refresh = site.run({"refresh", "--force"});
  EXPECT_EQ(site.count_on_replica(0), genuine);
  EXPECT_EQ(site.count_on_replica(0, "message = 'FORGED ROW'"), "0");

  // The old marker format, which carried no MAC, is no way in either.
  std::ofstream(gen / "COMPLETE", std::ios::trunc)
      << nlohmann::json{{"manifest_sha256", sk::sha256_hex(manifest)}, {"completed_at", m.created_at}}.dump();
  verify = site.run({"verify", id});
  EXPECT_EQ(verify.code, 1) << verify.out << verify.err;
  EXPECT_NE(verify.err.find("carries no MAC"), std::string::npos) << verify.err;
  refresh = site.run({"refresh", "--force"});
  EXPECT_EQ(site.count_on_replica(0, "message = 'FORGED ROW'"), "0");
  EXPECT_EQ(site.count_on_replica(0), genuine);
}

// Folders 0700, files 0600, the state store and the key file 0600; check warns when that slips.
TEST(Archive, NothingIsReadableByOthersAndCheckWarns) {
  Site site({.replicas = 1});
  expect_ok(site.run({"capture"}), "capture");
  expect_ok(site.run({"backup"}), "backup");
  const fs::path root = site.archive();
  EXPECT_EQ(mode_of(root), 0700u);
  int files = 0;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_symlink()) continue;
    EXPECT_EQ(mode_of(it->path()), it->is_directory() ? 0700u : 0600u) << it->path();
    files += it->is_regular_file();
  }
  EXPECT_GT(files, 8);
  EXPECT_EQ(mode_of(site.dir() / "state" / "sitekeeper.db"), 0600u);
  EXPECT_EQ(mode_of(site.dir() / "state" / "archive.keys"), 0600u);

  auto clean = site.json({"check"});
  EXPECT_TRUE(clean["warnings"].empty()) << clean.dump(2);
  const std::string id = newest_generation(root);
  fs::permissions(root / id / "permissions.sql", fs::perms::others_read, fs::perm_options::add);
  auto warned = site.json({"check"});
  ASSERT_EQ(warned["warnings"].size(), 1u) << warned.dump(2);
  EXPECT_NE(warned["warnings"][0].get<std::string>().find("permissions.sql"), std::string::npos);
}

// A key file the manager lost: nothing can be proven intact, so nothing is restored, and the operator
// is told why; rotation keeps older generations verifiable.
TEST(Archive, KeyRotationAndALostKeyFile) {
  Site site({.replicas = 1});
  expect_ok(site.run({"backup"}), "backup 1");
  const std::string first = newest_generation(site.archive());
  auto rot = site.run({"rotate-key"});
  expect_ok(rot, "rotate-key");
  EXPECT_NE(rot.out.find("1 older key"), std::string::npos) << rot.out;
  expect_ok(site.run({"backup"}), "backup 2");
  expect_ok(site.run({"verify", first}), "verify of the generation sealed with the old key");
  expect_ok(site.run({"verify"}), "verify of the generation sealed with the new key");

  fs::rename(site.dir() / "state" / "archive.keys", site.dir() / "archive.keys.away");
  auto verify = site.run({"verify"});
  EXPECT_EQ(verify.code, 1) << verify.err;
  EXPECT_NE(verify.err.find("no archive key file"), std::string::npos) << verify.err;
  auto refresh = site.run({"refresh"});
  EXPECT_NE(refresh.code, 0);
  EXPECT_NE(refresh.err.find("no complete backup"), std::string::npos) << refresh.err;
}

// A generation whose checksums match but whose data cannot be restored (a table's data damaged before
// the generation was sealed, as a faulty disk or a bug in the dump would leave it): the manifest and
// the marker are genuine, so a plain verify passes, and only the trial restore of `verify --deep`
// can tell. It refuses the generation, and a scheduled `verify` with `deep = true` does the same.
TEST(Archive, DeepVerifyRefusesAGenerationThatChecksumsCannotFault) {
  Site site({.replicas = 1});
  site.active().psql(
      "INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, message) "
      "SELECT 'CEN', 'bulk', g % 1000, 'informational', 'PC' || g, md5(g::text) FROM generate_series(1, 20000) g",
      site.db());
  expect_ok(site.run({"backup"}), "backup");
  const std::string id = newest_generation(site.archive());
  const fs::path gen = site.archive() / id;

  // Damage the largest table's data in the middle, keeping its size, then seal again with the
  // manager's own key, exactly as a backup would have sealed the damaged copy.
  fs::path largest;
  for (const auto& e : fs::recursive_directory_iterator(gen / "snapshot"))
    if (e.is_regular_file() && e.path().filename() != "toc.dat" &&
        (largest.empty() || e.file_size() > fs::file_size(largest)))
      largest = e.path();
  ASSERT_FALSE(largest.empty());
  const auto size = fs::file_size(largest);
  ASSERT_GT(size, 1000u) << largest;
  {
    std::fstream f(largest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2));
    const std::string junk(256, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  const sk::Config cfg = sk::load_config(site.config());
  auto archive = sk::replicator::open_archive(cfg, false, true);
  auto meta = archive.manifest(id);
  fs::remove(gen / "COMPLETE");
  archive.seal(id, meta, nullptr);
  ASSERT_TRUE(archive.complete(id));

  auto plain = site.run({"verify", id});
  EXPECT_EQ(plain.code, 0) << "the checksums match, so a plain verify cannot see it:\n" << plain.out << plain.err;
  auto deep = site.run({"verify", "--deep", id});
  EXPECT_EQ(deep.code, 1) << deep.out << deep.err;
  EXPECT_NE(deep.err.find(id), std::string::npos) << deep.err;
  EXPECT_NE((deep.out + deep.err).find("restore"), std::string::npos) << deep.out << deep.err;

  // The same proof on a schedule: the daemon's verify job with deep = true fails on this generation.
  site.write_config("[[schedule]]\njob = \"verify\"\nevery = \"2s\"\ndeep = true\n");
  BackgroundProcess daemon(site.argv({"run"}), site.dir() / "daemon.log");
  LogOnFailure dump{daemon};
  nlohmann::json failed;
  wait_until([&] {
    for (const auto& r : site.json({"history"}))
      if (r["job"] == "verify" && r["outcome"] == "failed") failed = r;
    return !failed.is_null();
  }, std::chrono::seconds(120), "the scheduled deep verify to fail");
  EXPECT_NE(failed["message"].get<std::string>().find(id), std::string::npos) << failed.dump();
  stop_daemon(daemon);
}

// A site of two databases: the backup holds each, under the one manifest, and verify --deep restores
// each into the scratch server.
TEST(Archive, TwoDatabasesBackupAndDeepVerify) {
  Site site({.replicas = 0, .more_databases = {"CM_REP"}});
  const auto b = site.json({"backup"});
  EXPECT_TRUE(contains(b.value("summary", ""), "of CM_CEN, CM_REP verified")) << b.dump(2);
  const std::string id = newest_generation(site.archive());
  const fs::path gen = site.archive() / id;
  const auto m = sk::replicator::Manifest::from_json(slurp(gen / "manifest.json"), "manifest");
  EXPECT_EQ(m.databases, (std::vector<std::string>{"CM_CEN", "CM_REP"}));
  std::set<std::string> files;
  for (const auto& f : m.files) files.insert(f.path);
  for (const char* f : {"snapshot/toc.dat", "databases/CM_REP/snapshot/toc.dat", "databases/CM_REP/permissions.sql",
                        "databases/CM_REP/profile.json"})
    EXPECT_TRUE(files.count(f)) << f;
  EXPECT_TRUE(contains(slurp(gen / "databases" / "CM_REP" / "permissions.sql"), "reports")) << "CM_REP's own grants";
  auto v = site.run({"verify", "--deep"});
  ASSERT_NO_FATAL_FAILURE(expect_ok(v, "verify --deep"));
  EXPECT_TRUE(contains(v.out, "integrity check of CM_CEN, CM_REP")) << v.out;
}

// [archive] kinds = ["logical", "physical"] on real servers: pg_basebackup's tar files and manifest sit
// in the generation under sitekeeper's manifest, backup and verify run pg_verifybackup on an unpacked
// copy beside the state store (removed afterwards), and a base backup that does not match its
// backup_manifest is named by the engine's check.
TEST(Archive, APhysicalBaseBackupBesideTheDumpsIsVerifiedWithPgVerifybackup) {
  Site site({.replicas = 0, .archive_extra = "kinds = [\"logical\", \"physical\"]"});
  const auto b = site.json({"backup"});
  EXPECT_TRUE(contains(b.value("summary", ""), "(logical and physical) verified")) << b.dump(2);
  const std::string id = newest_generation(site.archive());
  const fs::path physical = site.archive() / id / "physical";
  for (const char* f : {"base.tar", "pg_wal.tar", "backup_manifest"}) EXPECT_TRUE(fs::exists(physical / f)) << f;
  const auto m = sk::replicator::Manifest::from_json(slurp(site.archive() / id / "manifest.json"), "manifest");
  std::set<std::string> files;
  for (const auto& f : m.files) files.insert(f.path);
  EXPECT_TRUE(files.count("physical/base.tar"));
  auto v = site.run({"verify"});
  ASSERT_NO_FATAL_FAILURE(expect_ok(v, "verify"));
  EXPECT_TRUE(contains(v.out, "physical base backup verified (pg_verifybackup)")) << v.out;
  for (const auto& e : fs::directory_iterator(site.dir() / "state"))
    EXPECT_EQ(e.path().filename().string().rfind(".unpacked-", 0), std::string::npos) << "left behind: " << e.path();

  // pg_verifybackup itself, on a copy where one file's bytes changed inside base.tar (same size, so
  // tar still unpacks it): PG_VERSION, whose data block follows its 512-byte tar header.
  TempDir copy("/tmp/sk physical copy-");
  fs::copy(physical, copy.path() / "physical");
  std::string tar = slurp(copy.path() / "physical" / "base.tar");
  std::size_t header = std::string::npos;
  for (std::size_t at = 0; at + 1024 <= tar.size(); at += 512)
    if (tar.compare(at, 11, std::string("PG_VERSION\0", 11)) == 0) {
      header = at;
      break;
    }
  ASSERT_NE(header, std::string::npos) << "no PG_VERSION in base.tar";
  ASSERT_EQ(tar.substr(header + 512, 3), "15\n");
  tar[header + 513] = '4';
  sk::test::write(copy.path() / "physical" / "base.tar", tar);
  auto e = sk::sql::engine_factory(sk::system_runner())(server_config(site.active(), "cm1"));
  try {
    e->verify_base_backup(copy.path() / "physical", copy.path() / "unpacked", nullptr);
    FAIL() << "a base backup whose manifest disagrees passed pg_verifybackup";
  } catch (const sk::Error& err) {
    EXPECT_TRUE(contains(err.what(), "does not match its backup_manifest")) << err.what();
    EXPECT_TRUE(contains(err.what(), "PG_VERSION")) << err.what();
  }
  EXPECT_FALSE(fs::exists(copy.path() / "unpacked")) << "the unpacked copy is removed on failure too";
}
