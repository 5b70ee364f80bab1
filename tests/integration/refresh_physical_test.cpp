// The physical refresh of a replica (refresh = "physical") on real PostgreSQL 15 clusters, driving the
// sitekeeper binary: the generation's base backup comes in beside the replica's data directory, is
// validated as a paused hot standby, and is swapped in by renames, so that the replica's port serves
// it. Readers read through the swap; sitekeeper is killed at the worst moments of it.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "integration_support.hpp"
#include "pg_cluster.hpp"
#include "site_fixture.hpp"

using namespace sk::test;
namespace fs = std::filesystem;

namespace {

using Steady = std::chrono::steady_clock;

SiteOptions physical_site() {
  return {.replicas = 1,
          .archive_extra = "kinds = [\"logical\", \"physical\"]\n",
          .replica_server_extra = "refresh = \"physical\"\n"};
}

// The replica's folders beside its data directory: only data/ when no refresh is under way.
std::vector<std::string> beside_data(const PgCluster& c) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(c.data_dir().parent_path())) {
    const auto n = e.path().filename().string();
    if (n.rfind("data", 0) == 0) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// A help-desk reader on the replica's configured port over TCP, as clients connect: one query after
// another on one connection, reconnecting at once when it breaks. Records each answer.
struct Reader {
  struct Answer {
    Steady::time_point done;
    std::string value;
  };
  std::mutex mu;
  std::vector<Answer> answers;  // under mu while the thread runs
  std::atomic<bool> stop{false};
  std::thread thread;

  Reader(const PgCluster& c, const std::string& db, const std::string& sql) {
    const std::string conninfo = "host=127.0.0.1 port=" + std::to_string(c.port()) + " dbname=" + db +
                                 " user=helpdesk password=helpdesk-demo connect_timeout=2";
    thread = std::thread([this, conninfo, sql] {
      PGconn* conn = nullptr;
      while (!stop.load()) {
        if (!conn) {
          conn = PQconnectdb(conninfo.c_str());
          if (PQstatus(conn) != CONNECTION_OK) {
            PQfinish(conn);
            conn = nullptr;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            continue;
          }
        }
        PGresult* r = PQexec(conn, sql.c_str());
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
          std::lock_guard lock(mu);
          answers.push_back({Steady::now(), PQgetvalue(r, 0, 0)});
        } else {
          PQfinish(conn);
          conn = nullptr;
        }
        PQclear(r);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      if (conn) PQfinish(conn);
    });
  }
  ~Reader() { finish(); }
  // The last answer ("" before the first).
  std::string last() {
    std::lock_guard lock(mu);
    return answers.empty() ? "" : answers.back().value;
  }
  void finish() {
    stop = true;
    if (thread.joinable()) thread.join();
  }
};

std::string count_sql() { return "SELECT count(*) FROM status_messages WHERE message = 'second night'"; }

}  // namespace

// The first physical refresh replaces a replica that was initdb'd on its own; readers then read the
// active's rows with the active's roles on the replica's own port, and nobody can write, superusers
// included. The second one swaps a new generation in while a reader reads in a loop: it sees the old
// answer, then the new one, nothing else, and the stall is measured.
TEST(PhysicalRefresh, ServesTheNewCopyOnTheSamePortReadOnlyForEveryoneThroughAShortStall) {
  Site site(physical_site());
  auto& hd = site.replica(0);
  // A database of the active outside the site: a physical copy brings it along (docs/design.md).
  site.active().psql("CREATE DATABASE \"NOT_THE_SITE\"");
  expect_ok(site.run({"backup"}), "backup 1");
  const std::string id1 = newest_generation(site.archive());
  ASSERT_TRUE(fs::exists(site.archive() / id1 / "physical" / "base.tar"));
  const int port = hd.port();
  auto r1 = site.run({"refresh"});
  expect_ok(r1, "refresh 1");
  EXPECT_NE(r1.out.find("physical copy"), std::string::npos) << r1.out;
  EXPECT_EQ(hd.port(), port);
  EXPECT_EQ(hd.psql_as("helpdesk", "helpdesk-demo", "SELECT count(*) FROM status_messages", site.db()),
            site.active().psql("SELECT count(*) FROM status_messages", site.db()));
  EXPECT_EQ(hd.psql("SELECT pg_is_in_recovery()"), "t");
  EXPECT_EQ(hd.psql("SELECT count(*) FROM pg_database WHERE datname = 'NOT_THE_SITE'"), "1");
  // The superuser, with every read-only default turned off, still cannot write: a hot standby.
  auto w = hd.try_psql("SET default_transaction_read_only = off; CREATE TABLE superuser_was_here (id int)", site.db());
  EXPECT_FALSE(w.ok());
  EXPECT_TRUE(w.err.find("read-only") != std::string::npos || w.err.find("during recovery") != std::string::npos)
      << w.err;
  auto w2 = hd.try_psql("CREATE TABLE superuser_was_here (id int)", site.db());
  EXPECT_FALSE(w2.ok());
  EXPECT_NE(w2.err.find("read-only transaction"), std::string::npos) << w2.err;
  auto hw = hd.try_psql_as("helpdesk", "helpdesk-demo",
                           "INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, "
                           "message) VALUES ('CEN', 'x', 1, 'informational', 'x', 'x')",
                           site.db());
  EXPECT_FALSE(hw.ok());
  EXPECT_EQ(beside_data(hd), std::vector<std::string>{"data"});
  auto st = site.json({"status"});
  EXPECT_EQ(st["replicas"][0]["databases"][site.db()], id1) << st.dump();

  site.add_messages(5, "second night");
  expect_ok(site.run({"backup"}), "backup 2");
  const std::string id2 = newest_generation(site.archive());
  Reader reader(hd, site.db(), count_sql());
  wait_until([&] { return reader.last() == "0"; }, "the reader reads the old copy");
  const auto started = Steady::now();
  auto r2 = site.run({"refresh"});
  const auto ended = Steady::now();
  wait_until([&] { return reader.last() == "5"; }, 30s,
             "the reader reads the new copy");
  reader.finish();
  expect_ok(r2, "refresh 2");
  // Never a partial copy: the old answer, then the new one, each read complete.
  bool seen_new = false;
  for (const auto& a : reader.answers) {
    ASSERT_TRUE(a.value == "0" || a.value == "5") << a.value;
    if (a.value == "5") seen_new = true;
    if (seen_new) {
      ASSERT_EQ(a.value, "5") << "went back to the old copy";
    }
  }
  // The stall: the gap between one answer and the next, through the refresh.
  std::vector<double> gaps;
  double stall = 0;
  for (size_t i = 1; i < reader.answers.size(); ++i) {
    const auto& a = reader.answers[i - 1];
    const auto& b = reader.answers[i];
    if (b.done < started || a.done > ended) continue;
    const double g = std::chrono::duration<double>(b.done - a.done).count();
    gaps.push_back(g);
    if (a.value == "0" && b.value == "5") stall = g;  // the last read on the old copy, the first on the new
  }
  ASSERT_FALSE(gaps.empty());
  std::sort(gaps.begin(), gaps.end());
  const double p99 = gaps[std::min(gaps.size() - 1, static_cast<size_t>(gaps.size() * 0.99))];
  std::printf("physical swap read stall: %.3f s (last read on the old copy to the first on the new); "
              "gaps between reads during the refresh: max %.3f s, p99 %.3f s, %zu reads\n",
              stall, gaps.back(), p99, gaps.size());
  EXPECT_GT(stall, 0.0);
  EXPECT_LT(stall, 10.0);
  EXPECT_LT(gaps.back(), 10.0);
  EXPECT_EQ(beside_data(hd), std::vector<std::string>{"data"});
  st = site.json({"status"});
  EXPECT_EQ(st["replicas"][0]["databases"][site.db()], id2) << st.dump();

  // Current now, unless forced.
  auto again = site.run({"refresh"});
  expect_ok(again, "refresh 3");
  EXPECT_NE(again.out.find("current"), std::string::npos) << again.out;
  auto forced = site.run({"refresh", "--force"});
  expect_ok(forced, "refresh --force");
  EXPECT_NE(forced.out.find("physical copy"), std::string::npos) << forced.out;
  EXPECT_EQ(hd.psql(count_sql(), site.db()), "5");
}

// sitekeeper killed (as by a power loss) at the worst moments of the swap: the old server just stopped; the
// old copy renamed aside and the new one not yet in place; or both renamed and nothing started. The
// next refresh brings the replica back with a complete copy, cleans the left-overs, and serves the new
// generation.
class PhysicalRefreshKilled : public ::testing::TestWithParam<std::string> {};

TEST_P(PhysicalRefreshKilled, TheNextRefreshServesACompleteCopy) {
  Site site(physical_site());
  auto& hd = site.replica(0);
  expect_ok(site.run({"backup"}), "backup 1");
  expect_ok(site.run({"refresh"}), "refresh 1");
  site.add_messages(5, "second night");
  expect_ok(site.run({"backup"}), "backup 2");

  auto killed = run_capture(site.argv({"refresh"}), {{"SITEKEEPER_TEST_KILL_AT", GetParam()}});
  EXPECT_EQ(killed.code, 128 + 9) << killed.out << killed.err;
  EXPECT_FALSE(hd.running()) << "killed after the old server was stopped";
  if (GetParam() == "between-renames") {
    EXPECT_FALSE(fs::exists(hd.data_dir())) << "the old copy is aside";
  }

  auto next = site.run({"refresh"});
  expect_ok(next, "the refresh after the kill");
  EXPECT_NE((next.out + next.err).find("was interrupted"), std::string::npos) << next.out << next.err;
  EXPECT_EQ(hd.psql(count_sql(), site.db()), "5");
  EXPECT_EQ(hd.psql_as("helpdesk", "helpdesk-demo", "SELECT count(*) FROM status_messages", site.db()),
            site.active().psql("SELECT count(*) FROM status_messages", site.db()));
  EXPECT_EQ(beside_data(hd), std::vector<std::string>{"data"});
}

INSTANTIATE_TEST_SUITE_P(At, PhysicalRefreshKilled, ::testing::Values("after-stop", "between-renames", "after-renames"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });
