// [archive] wal_stream on real PostgreSQL 15: the daemon runs the real pg_receivewal on a slot of its
// own, WAL reaches the archive as the active writes it, a killed stream is restarted, and after a
// failover the same folder continues on the new active's timeline. The tests watch from the side
// (the WAL folder, psql, /metrics, `status --json`) and never sleep-then-assert.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <string>

#include "integration_support.hpp"
#include "pg_cluster.hpp"
#include "standby_fixture.hpp"

using namespace sk::test;
namespace fs = std::filesystem;

namespace {

constexpr auto kLong = std::chrono::seconds(120);

// Every process whose command line is pg_receivewal writing into `dir`: the daemon's stream, found
// as an operator would with ps.
std::vector<pid_t> receivewal_pids(const fs::path& dir) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmd.find("pg_receivewal") != std::string::npos && cmd.find("--directory=" + dir.string()) != std::string::npos)
      out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

bool has_file(const fs::path& dir, const std::string& name) {
  std::error_code ec;
  return fs::exists(dir / name, ec);
}

// A file of timeline `tli` (8 hex digits) in the WAL folder.
bool has_timeline(const fs::path& dir, const std::string& tli) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind(tli, 0) == 0 && e.path().filename().string().size() >= 24) return true;
  return false;
}

double metric(int port, const std::string& name) {
  const std::string body = http_get(port, "/metrics").body;
  const auto at = body.find("\n" + name + " ");
  if (at == std::string::npos) return -1e9;
  return std::stod(body.substr(at + name.size() + 2));
}

}  // namespace

TEST(WalStream, TheDaemonStreamsIntoTheArchiveRestartsTheStreamAndFollowsAFailover) {
  StandbySite site({.archive_extra = "kinds = [\"logical\", \"physical\"]\nwal_stream = true\n"});
  ASSERT_NO_FATAL_FAILURE(expect_ok(site.run({"standby", "init"}), "standby init"));
  wait_until([&] { return standby_caught_up(site); }, kLong, "the standby to stream");
  const int port = free_port();
  site.write_config(http_section(port));
  const fs::path wal = site.dir() / "site archive" / "wal";

  BackgroundProcess daemon(site.argv({"run"}), site.dir() / "daemon.log");
  LogOnFailure dump{daemon};
  wait_until([&] { return metric(port, "sitekeeper_wal_stream_up") == 1; }, kLong, "the WAL stream to attach");
  EXPECT_EQ(site.sql(site.active(), "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'sitekeeper_wal_stream'"),
            "1");
  ASSERT_EQ(receivewal_pids(wal).size(), 1u);

  // What the active writes reaches the archive: the segment written now is complete after a switch.
  site.sql(site.active(), "CREATE TABLE wal_probe AS SELECT g FROM generate_series(1, 20000) g", site.db());
  const std::string segment = site.sql(site.active(), "SELECT pg_walfile_name(pg_current_wal_lsn())");
  site.sql(site.active(), "SELECT pg_switch_wal()");
  wait_until([&] { return has_file(wal, segment); }, kLong, "segment " + segment + " complete in the archive");

  // status and the metric say how current the archive is.
  nlohmann::json w;
  wait_until([&] {
    w = site.json({"status"})["wal_stream"];
    return w.value("state", "") == "streaming" && w["age_seconds"].is_number() && w["age_seconds"].get<double>() < 10;
  }, kLong, "status to show the stream current");
  EXPECT_EQ(w["server"], "cm1") << w.dump();
  EXPECT_EQ(w["path"], wal.string()) << w.dump();
  const double age = metric(port, "sitekeeper_wal_stream_age_seconds");
  EXPECT_GE(age, 0);
  EXPECT_LT(age, 10);
  std::cout << "[ wal     ] newest archived WAL " << age << " s old while streaming\n";
  EXPECT_TRUE(contains(http_get(port, "/").body, "id=\"wal-stream\" data-state=\"streaming\""));
  {
    auto c = site.json({"check"});
    EXPECT_EQ(c["wal_stream"]["ok"], true) << c["wal_stream"].dump();
    EXPECT_TRUE(contains(site.run({"check"}).out, "wal      streaming, newest archived WAL ")) << site.run({"check"}).out;
  }

  // pg_receivewal killed: the daemon starts it again.
  const pid_t first = receivewal_pids(wal).at(0);
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  wait_until([&] {
    auto pids = receivewal_pids(wal);
    return metric(port, "sitekeeper_wal_stream_restarts") == 1 && metric(port, "sitekeeper_wal_stream_up") == 1 &&
           pids.size() == 1 && pids[0] != first;
  }, kLong, "the stream restarted after kill -9 of pg_receivewal");
  EXPECT_TRUE(contains(daemon.log(), "the WAL stream from cm1 stopped: ")) << tail(daemon.log());

  // The active dies; after the failover the stream continues from cm2, on its new timeline, into the
  // same folder, through a slot made there (slots do not follow a promotion).
  site.sql(site.active(), "INSERT INTO wal_probe SELECT g FROM generate_series(1, 1000) g", site.db());
  wait_until([&] { return standby_caught_up(site); }, kLong, "the standby to have the last rows");
  site.active().kill9();
  // While the active is gone the stream is down, and check says what a recovery would lose.
  wait_until([&] { return site.json({"status"})["wal_stream"].value("state", "") == "down"; }, kLong,
             "status to show the stream down");
  {
    auto c = site.json({"check"});
    EXPECT_EQ(c["wal_stream"]["ok"], false) << c["wal_stream"].dump();
    EXPECT_TRUE(contains(c["wal_stream"].value("error", ""), "the WAL stream is down")) << c["wal_stream"].dump();
  }
  ASSERT_NO_FATAL_FAILURE(expect_ok(site.run({"failover", "--yes"}), "failover --yes"));
  wait_until([&] {
    return site.try_sql(site.standby(), "SELECT count(*) FROM pg_replication_slots WHERE slot_name = "
                                        "'sitekeeper_wal_stream' AND active").out == "1";
  }, kLong, "the stream attached to cm2");
  site.sql(site.standby(), "INSERT INTO wal_probe SELECT g FROM generate_series(1, 1000) g", site.db());
  const std::string on_new = site.sql(site.standby(), "SELECT pg_walfile_name(pg_current_wal_lsn())");
  ASSERT_EQ(on_new.substr(0, 8), "00000002") << on_new;
  site.sql(site.standby(), "SELECT pg_switch_wal()");
  wait_until([&] { return has_file(wal, on_new) && has_file(wal, "00000002.history"); }, kLong,
             "timeline 2's segment " + on_new + " and its history file in the archive");
  EXPECT_TRUE(has_timeline(wal, "00000001"));
  wait_until([&] { return site.json({"status"})["wal_stream"].value("server", "") == "cm2"; }, kLong,
             "status to name cm2 as the stream's server");

  stop_daemon(daemon);
  EXPECT_TRUE(receivewal_pids(wal).empty()) << "the daemon's stop ends the stream";
}
