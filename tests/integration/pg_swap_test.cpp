// Engine::swap_in_all on a real server: a site of several databases is swapped in one transaction, so
// a reader never finds one database at the new generation and another at the old one, and a swap that
// fails leaves every database with its old copy.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "core/error.hpp"
#include "core/process.hpp"
#include "integration_support.hpp"
#include "pg_cluster.hpp"
#include "sql/engine.hpp"
#include "sql/ident.hpp"

using namespace sk::test;

namespace {

// A database `name` holding one row that says which generation it is.
void make_copy(PgCluster& c, const std::string& name, const std::string& generation) {
  std::string quoted;
  for (char ch : name) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  c.psql("CREATE DATABASE \"" + quoted + "\"");
  c.psql("CREATE TABLE generation (id text); INSERT INTO generation VALUES ('" + generation + "')", name);
}

std::string generation_of(PgCluster& c, const std::string& db) { return c.psql("SELECT id FROM generation", db); }

const std::vector<std::string> kSite = {"CM_CEN", "CM_REP", "Site DB \"é\""};

TEST(PgSwap, EveryDatabaseIsSwappedInOneTransaction) {
  auto c = PgCluster::start({.name = "swap-all"});
  std::vector<sk::sql::SwapPair> swaps;
  for (const auto& db : kSite) {
    make_copy(*c, db, "old");
    make_copy(*c, sk::sql::staging_name(db), "new");
    swaps.push_back({db, sk::sql::staging_name(db)});
  }
  // A reader in the middle of a session on one of the live copies: ended, not waited for.
  BackgroundProcess reader({(c->bin_dir() / "psql").string(), "-X", "-q", "-h", c->socket_dir().string(), "-p",
                            std::to_string(c->port()), "-U", c->superuser(), "-d", "CM_REP", "-c",
                            "SELECT pg_sleep(60)"},
                           c->temp_dir() / "reader.log");
  wait_until([&] { return c->psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'CM_REP'") == "1"; },
             std::chrono::seconds(30), "the reader session on CM_REP");
  auto e = sk::sql::engine_factory(sk::system_runner())(server_config(*c, "hd1"));
  e->swap_in_all(swaps, std::chrono::seconds(10));
  for (const auto& db : kSite) {
    EXPECT_EQ(generation_of(*c, db), "new") << db;
    EXPECT_FALSE(e->database_exists(sk::sql::staging_name(db))) << db;
    EXPECT_FALSE(e->database_exists(sk::sql::retired_name(db))) << db << ": the old copy is dropped";
  }
}

TEST(PgSwap, ASwapThatFailsLeavesEveryDatabaseWithItsOldCopy) {
  auto c = PgCluster::start({.name = "swap-fail"});
  std::vector<sk::sql::SwapPair> swaps;
  for (const auto& db : kSite) {
    make_copy(*c, db, "old");
    swaps.push_back({db, sk::sql::staging_name(db)});
  }
  // The last database's staging copy is missing: its rename fails after the first two renamed theirs
  // inside the same transaction.
  make_copy(*c, sk::sql::staging_name(kSite[0]), "new");
  make_copy(*c, sk::sql::staging_name(kSite[1]), "new");
  auto e = sk::sql::engine_factory(sk::system_runner())(server_config(*c, "hd1"));
  try {
    e->swap_in_all(swaps, std::chrono::seconds(10));
    FAIL() << "a swap with a missing staging copy succeeded";
  } catch (const sk::Error& err) {
    EXPECT_NE(std::string(err.what()).find("still serve their previous copy"), std::string::npos) << err.what();
  }
  for (const auto& db : kSite) EXPECT_EQ(generation_of(*c, db), "old") << db << " was swapped alone";
  EXPECT_EQ(generation_of(*c, sk::sql::staging_name(kSite[0])), "new") << "the staging copies stay for the caller to drop";
  EXPECT_FALSE(e->database_exists(sk::sql::retired_name(kSite[0])));
}

}  // namespace
