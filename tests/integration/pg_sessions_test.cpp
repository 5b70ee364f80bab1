// Engine::keep_sessions on a real server: what the runbook relies on when one engine serves all its
// steps. A kept session is reused, a broken one is replaced before use (never a failed step), and the
// epoch is still read back as a new session sees it.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "core/process.hpp"
#include "integration_support.hpp"
#include "pg_cluster.hpp"
#include "sql/engine.hpp"

using namespace sk::test;

namespace {

// sitekeeper's own sessions (libpq's application_name), not psql's.
constexpr const char* kOwnSessions =
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sitekeeper' AND backend_type = 'client backend'";
constexpr const char* kOwnPids =
    "SELECT string_agg(CAST(pid AS text), ',' ORDER BY pid) FROM pg_stat_activity WHERE application_name = 'sitekeeper' "
    "AND backend_type = 'client backend'";

TEST(PgSessions, AKeptSessionIsReusedAndReplacedWhenItBreaks) {
  auto c = PgCluster::start({.name = "kept"});
  auto e = sk::sql::engine_factory(sk::system_runner())(server_config(*c, "cm1"));
  e->keep_sessions();
  e->wal_position();
  const std::string first = c->psql(kOwnPids);
  ASSERT_FALSE(first.empty()) << "no session kept after an operation";
  e->wal_position();
  e->replication_state();
  EXPECT_EQ(c->psql(kOwnPids), first) << "a second operation did not reuse the kept session";

  c->psql("SELECT pg_terminate_backend(" + first + ")");
  wait_until([&] { return c->psql(kOwnSessions) == "0"; }, std::chrono::seconds(30), "the kept session to end");
  EXPECT_NO_THROW(e->wal_position()) << "a terminated kept session failed the operation instead of being replaced";
  EXPECT_NE(c->psql(kOwnPids), first);
  EXPECT_EQ(c->psql(kOwnSessions), "1");
}

TEST(PgSessions, WithoutKeepSessionsNothingStaysOpen) {
  auto c = PgCluster::start({.name = "fresh"});
  auto e = sk::sql::engine_factory(sk::system_runner())(server_config(*c, "cm1"));
  e->wal_position();
  e->replication_state();
  EXPECT_EQ(c->psql(kOwnSessions), "0");
}

// A database setting reaches only sessions that start after it: the read-back must not use the kept one.
TEST(PgSessions, TheEpochIsReadBackAsANewSessionSeesIt) {
  auto c = PgCluster::start({.name = "epoch"});
  auto e = sk::sql::engine_factory(sk::system_runner())(server_config(*c, "cm1"));
  e->keep_sessions();
  EXPECT_EQ(e->read_epoch(), 0);
  e->write_epoch(7);
  EXPECT_EQ(e->read_epoch(), 7);
  e->write_epoch(8);
  EXPECT_EQ(e->read_epoch(), 8);
}

}  // namespace
