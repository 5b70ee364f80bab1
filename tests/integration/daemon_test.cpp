// `sitekeeper run`, the daemon, on real PostgreSQL 15 clusters: its schedules, its HTTP API, its
// Prometheus metrics, a clean stop on SIGTERM in the middle of a refresh, and SIGHUP reloads. The
// daemon is the real binary, started as a service manager would start it; the tests watch it from the
// side (`sitekeeper --json history`, psql, HTTP) and never sleep-then-assert.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>

#include "pg_cluster.hpp"
#include "site_fixture.hpp"
#include "tests/unit/support/http_client.hpp"
#include "tests/unit/support/tls.hpp"
#include "tests/unit/support/files.hpp"

using namespace sk::test;
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

namespace {

constexpr auto kLong = std::chrono::seconds(120);

// `sitekeeper --json history`: the state store, read on the side. `config` defaults to the site's; a
// test that breaks the site's config on purpose reads through a copy of the valid one (same folder, so
// the same state store).
nlohmann::json history(const Site& site, const fs::path& config = {}) {
  if (config.empty()) return site.json({"history", "--limit", "10000"});
  std::string out, err;
  int rc = run_command({SK_BINARY, "--config", config.string(), "--json", "history", "--limit", "10000"}, {}, &out,
                       &err);
  try {
    return nlohmann::json::parse(out);
  } catch (const std::exception&) {
    throw std::runtime_error("history: not JSON (exit " + std::to_string(rc) + "): " + out + "\n" + err);
  }
}

// Runs of `job` with `outcome` in the history.
int count_runs(const Site& site, const std::string& job, const std::string& outcome, const fs::path& config = {}) {
  auto h = history(site, config);
  int n = 0;
  for (const auto& r : h)
    if (r["job"] == job && r["outcome"] == outcome) ++n;
  return n;
}

// The newest run of `job` (history lists newest first), or null.
nlohmann::json newest_run(const Site& site, const std::string& job) {
  for (const auto& r : history(site))
    if (r["job"] == job) return r;
  return nullptr;
}

std::set<std::string> keys(const nlohmann::json& j) {
  std::set<std::string> k;
  for (auto it = j.begin(); it != j.end(); ++it) k.insert(it.key());
  return k;
}

}  // namespace

// Backups every 3 s and a refresh 1 s after each, the replica following the active; then every
// endpoint of the HTTP API and the metrics, and /active following the active server down and up.
TEST(Daemon, ScheduledBackupsAndRefreshes) {
  Site site({.replicas = 1, .keep = 10});
  const int port = free_port();
  // Each scheduled backup is also copied off-site, as a `copy` job run of its own.
  const fs::path offsite = site.dir() / "off site";
  fs::create_directories(offsite);
  site.write_config(http_section(port) +
                    "[[schedule]]\njob = \"backup\"\nevery = \"3s\"\n\n"
                    "[[schedule]]\njob = \"refresh\"\nafter = \"backup\"\ndelay = \"1s\"\n\n"
                    "[[archive.copy]]\npath = " + toml_string(offsite.string()) + "\nrate = \"100MB/s\"\n");
  BackgroundProcess daemon(site.argv({"run"}), site.dir() / "daemon.log");
  LogOnFailure dump{daemon};

  wait_until([&] { return http_get(port, "/health").status == 200; }, kLong, "the HTTP API to answer /health");
  auto health = http_get(port, "/health");
  EXPECT_EQ(health.json()["status"], "alive") << health.body;
  EXPECT_EQ(health.json()["site"], "CEN") << health.body;

  // One backup, then new rows on the active, then the replica must catch up through the schedule.
  wait_until([&] { return count_runs(site, "backup", "ok") >= 1; }, kLong, "a first scheduled backup");
  site.add_messages(23, "between scheduled runs");
  const std::string on_active = site.active().psql("SELECT count(*) FROM status_messages", site.db());
  wait_until([&] {
    return count_runs(site, "backup", "ok") >= 2 && count_runs(site, "refresh", "ok") >= 2 &&
           site.count_on_replica(0) == on_active;
  }, kLong, ">= 2 ok backups, >= 2 ok refreshes and the replica holding the active's rows");
  EXPECT_EQ(site.count_on_replica(0, "message = 'between scheduled runs'"), "23");
  EXPECT_TRUE(daemon.running());

  // GET /active
  wait_until([&] { return http_get(port, "/active").status == 200; }, kLong, "/active 200");
  auto active = http_get(port, "/active").json();
  EXPECT_EQ(active["server"], "cm1");
  EXPECT_EQ(active["up"], true);
  EXPECT_EQ(active["port"], site.active().port());

  // GET /replica: the freshest healthy replica, with what it serves.
  HttpReply rep;
  wait_until([&] {
    rep = http_get(port, "/replica");
    return rep.status == 200;
  }, kLong, "/replica 200");
  auto rj = rep.json();
  EXPECT_EQ(rj["name"], "hd1") << rep.body;
  ASSERT_TRUE(rj.contains("backup_id")) << rep.body;
  EXPECT_FALSE(rj["backup_id"].get<std::string>().empty()) << rep.body;
  EXPECT_EQ(rj["healthy"], true) << rep.body;
  EXPECT_EQ(rj["fresh"], true) << rep.body;
  EXPECT_EQ(rj["port"], site.replica(0).port()) << rep.body;

  // A bound that no copy can meet: 503 with an error a launcher can log.
  auto stale = http_get(port, "/replica?max_age=1ms");
  EXPECT_EQ(stale.status, 503) << stale.body;
  auto sj = stale.json();
  ASSERT_TRUE(sj.contains("error")) << stale.body;
  EXPECT_NE(sj["error"].get<std::string>().find("no healthy replica"), std::string::npos) << stale.body;
  ASSERT_TRUE(sj["replicas"].is_array()) << stale.body;
  ASSERT_EQ(sj["replicas"].size(), 1u) << stale.body;
  EXPECT_EQ(sj["replicas"][0]["fresh"], false) << stale.body;
  EXPECT_EQ(http_get(port, "/replica?max_age=fortnight").status, 400);

  // GET /replicas
  auto reps = http_get(port, "/replicas");
  EXPECT_EQ(reps.status, 200);
  ASSERT_TRUE(reps.json().is_array()) << reps.body;
  ASSERT_EQ(reps.json().size(), 1u) << reps.body;
  EXPECT_EQ(reps.json()[0]["name"], "hd1");

  // GET /status: the same document as `status --json`.
  auto st = http_get(port, "/status");
  EXPECT_EQ(st.status, 200);
  auto cli_status = site.json({"status"});
  EXPECT_EQ(keys(st.json()), keys(cli_status)) << st.body << "\n" << cli_status.dump();
  EXPECT_EQ(st.json()["replicas"].size(), 1u);

  wait_until([&] { return count_runs(site, "copy", "ok") >= 1; }, kLong, "a copy after a scheduled backup");
  // GET /metrics
  auto m = http_get(port, "/metrics");
  const std::string copy_age = "sitekeeper_copy_newest_age_seconds{destination=\"" + offsite.string() + "\"} ";
  ASSERT_NE(m.body.find(copy_age), std::string::npos) << m.body;
  EXPECT_NE(m.body.substr(m.body.find(copy_age) + copy_age.size(), 2), "-1") << m.body;
  EXPECT_EQ(m.status, 200);
  // The job label is not Prometheus's own `job`, which would rename it to exported_job.
  for (const char* needle : {"sitekeeper_job_runs_total{outcome=\"ok\",sitekeeper_job=\"backup\"}",
                             "sitekeeper_job_runs_total{outcome=\"ok\",sitekeeper_job=\"refresh\"}",
                             "sitekeeper_job_runs_recorded{outcome=\"ok\",sitekeeper_job=\"backup\"}",
                             "sitekeeper_build_info{version=\"", "sitekeeper_active_up 1",
                             "sitekeeper_backup_age_seconds", "sitekeeper_replica_age_seconds{replica=\"hd1\"}",
                             "sitekeeper_replica_healthy{replica=\"hd1\"} 1", "sitekeeper_job_start_lateness_seconds",
                             "sitekeeper_ha_decision{action=\"none\"}"})
    EXPECT_NE(m.body.find(needle), std::string::npos) << needle << "\n" << m.body;
  EXPECT_EQ(m.body.find("{job="), std::string::npos) << m.body;
  // What Prometheus itself says of the exposition: promtool's linter (Debian's prometheus package).
  if (fs::exists("/usr/bin/promtool")) {
    const fs::path scraped = site.dir() / "metrics.txt";
    { std::ofstream(scraped) << m.body; }
    auto lint = run_capture({"/bin/sh", "-c", "/usr/bin/promtool check metrics < '" + scraped.string() + "'"});
    EXPECT_EQ(lint.code, 0) << "promtool check metrics:\n" << lint.out << lint.err;
    EXPECT_EQ(lint.out + lint.err, "") << "promtool lint findings";
  } else {
    std::cout << "[ NOTE     ] promtool not installed (Debian package prometheus): /metrics not linted\n";
  }

  // Unknown path, and a method other than GET.
  auto nf = http_get(port, "/no/such/thing");
  EXPECT_EQ(nf.status, 404) << nf.body;

  // The active goes down: /active follows (503), and comes back (200).
  site.active().stop();
  wait_until([&] { return http_get(port, "/active").status == 503; }, kLong, "/active 503 with the active stopped");
  auto down = http_get(port, "/active").json();
  EXPECT_EQ(down["up"], false) << down.dump();
  EXPECT_TRUE(down.contains("error")) << down.dump();
  EXPECT_EQ(http_get(port, "/health").status, 200);  // the daemon itself is alive
  site.active().start_server();
  wait_until([&] { return http_get(port, "/active").status == 200; }, kLong, "/active 200 after the restart");

  daemon.signal(SIGTERM);
  auto code = daemon.wait(std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value()) << "daemon did not stop after SIGTERM";
  EXPECT_EQ(*code, 0);
}

// Nobody scheduled a `check`: the daemon itself alerts once when the newest verified backup grows
// older than max_age, and says so when a fresh backup ends the episode.
TEST(Daemon, RaisesTheBackupAgeAlertByItself) {
  Site site({.replicas = 1, .max_age = "6s"});
  const fs::path alerts = site.dir() / "alerts.log";
  {
    std::ofstream(site.dir() / "alert.sh") << "#!/bin/sh\nprintf '%s|%s\\n' \"$1\" \"$2\" >> '" << alerts.string()
                                          << "'\n";
  }
  fs::permissions(site.dir() / "alert.sh", fs::perms::owner_all);
  site.write_config("[alerts]\ncommand = [\"" + (site.dir() / "alert.sh").string() + "\", \"{job}\", \"{message}\"]\n");
  expect_ok(site.run({"backup"}), "backup");
  BackgroundProcess daemon(site.argv({"run"}), site.dir() / "daemon.log");
  LogOnFailure dump{daemon};
  wait_until([&] { return contains(slurp(alerts), "backup-age|the newest verified backup is"); }, kLong,
             "the daemon's own backup-age alert");
  EXPECT_TRUE(contains(slurp(alerts), "older than max_age 6.0s")) << slurp(alerts);
  expect_ok(site.run({"backup"}), "a fresh backup");
  wait_until([&] { return contains(slurp(site.dir() / "daemon.log"), "backups are fresh again"); }, kLong,
             "the episode to end with the fresh backup");
  stop_daemon(daemon);
}

// Invariant 1 under SIGTERM: a refresh caught in the middle of its restore stops at its next safe
// point, the replica keeps its old complete copy, the staging copy is dropped, the daemon exits 0
// within the 10 s a service manager allows, and the run is recorded as cancelled.
TEST(Daemon, SigtermDuringRefreshLeavesReplicaWhole) {
  Site site({.replicas = 1});
  expect_ok(site.run({"backup"}), "backup 1");
  expect_ok(site.run({"refresh"}), "refresh 1");
  const std::string before = site.count_on_replica(0);
  // Make the next restore long enough to be caught in the middle.
  site.active().psql(
      "INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, message) "
      "SELECT 'CEN', 'bulk', g % 1000, 'informational', 'PC' || g, repeat(md5(g::text), 8) "
      "FROM generate_series(1, 400000) g",
      site.db());
  expect_ok(site.run({"backup"}), "backup 2");

  // The refresh owes a run at start: backup 2 succeeded after refresh 1 started, so catch-up (the
  // default) starts it at once. (`every = "1h"` would not: catch-up only runs a job whose most recent
  // fire time is later than its last start, and refresh 1 started minutes ago, after the last full
  // hour.) The backup's own yearly schedule has nothing to catch up.
  site.write_config(
      "[[schedule]]\njob = \"backup\"\ncron = \"0 3 1 1 *\"\n\n"
      "[[schedule]]\njob = \"refresh\"\nafter = \"backup\"\ndelay = \"0s\"\n");
  BackgroundProcess daemon(site.argv({"run"}), site.dir() / "daemon.log");
  LogOnFailure dump{daemon};

  auto& hd = site.replica(0);
  // Worst moment: the staging copy exists and pg_restore is writing into it.
  wait_until([&] {
    return hd.psql("SELECT count(*) FROM pg_stat_activity WHERE datname = '" + site.db() +
                   "__sk_staging' AND application_name = 'sitekeeper'") != "0";
  }, kLong, "pg_restore writing into the staging copy");
  ASSERT_TRUE(daemon.running());

  const auto t0 = Steady::now();
  daemon.signal(SIGTERM);
  auto code = daemon.wait(std::chrono::seconds(30));
  const double stop_s = std::chrono::duration<double>(Steady::now() - t0).count();
  ASSERT_TRUE(code.has_value()) << "daemon still running 30 s after SIGTERM";
  EXPECT_EQ(*code, 0);
  EXPECT_LT(stop_s, 10.0) << "daemon took " << stop_s << " s to stop";
  std::cerr << "[ daemon  ] stopped " << stop_s << " s after SIGTERM, exit " << *code << "\n";

  // The live copy is the old one, whole: every row and its indexes, readable by the help desk.
  EXPECT_EQ(site.count_on_replica(0), before);
  EXPECT_EQ(hd.psql("SELECT count(*) > 5 FROM pg_indexes WHERE schemaname = 'public'", site.db()), "t");
  EXPECT_EQ(hd.psql_as("helpdesk", "helpdesk-demo", "SELECT count(*) FROM status_messages", site.db()), before);
  wait_until([&] {
    return hd.psql("SELECT count(*) FROM pg_database WHERE datname LIKE '%\\_\\_sk\\_staging'") == "0";
  }, kLong, "the staging copy to be dropped");

  auto run = newest_run(site, "refresh");
  ASSERT_FALSE(run.is_null());
  EXPECT_EQ(run["outcome"], std::string("cancelled")) << run.dump(2);
  const std::string log = daemon.log();
  EXPECT_NE(log.find("sitekeeper daemon stopped"), std::string::npos) << tail(log);
}

// SIGHUP with a broken file keeps the running configuration (and its schedules); a valid file is
// taken.
TEST(Daemon, SighupWithBrokenConfigKeepsOldOne) {
  Site site({.replicas = 1, .keep = 10});
  const int port = free_port();
  const std::string schedules = "[[schedule]]\njob = \"backup\"\nevery = \"3s\"\n";
  site.write_config(http_section(port) + schedules);
  BackgroundProcess daemon(site.argv({"run"}), site.dir() / "daemon.log");
  LogOnFailure dump{daemon};
  wait_until([&] { return http_get(port, "/health").status == 200; }, kLong, "the HTTP API to answer /health");
  wait_until([&] { return count_runs(site, "backup", "ok") >= 1; }, kLong, "a first scheduled backup");

  const fs::path observer = site.dir() / "observer.toml";  // the valid file, for reading the history
  fs::copy_file(site.config(), observer);

  // A typo'd key: the file is refused as a whole.
  site.write_config(http_section(port) + schedules + "\n[alerts]\ncomand = [\"/bin/true\"]\n");
  ASSERT_NE(site.run({"check"}).code, 0);  // the same file is a config error for the command line
  daemon.signal(SIGHUP);
  wait_until([&] { return daemon.log().find("reload refused") != std::string::npos; }, kLong,
             "\"reload refused\" in the daemon log");
  EXPECT_NE(daemon.log().find("comand"), std::string::npos) << "the refusal should name the key";
  EXPECT_TRUE(daemon.running());
  EXPECT_EQ(http_get(port, "/health").status, 200);
  const int ok_before = count_runs(site, "backup", "ok", observer);
  wait_until([&] { return count_runs(site, "backup", "ok", observer) > ok_before; }, kLong,
             "one more ok backup after the refused reload");
  EXPECT_TRUE(daemon.running());

  // A valid file with another schedule is taken.
  EXPECT_EQ(count_runs(site, "capture", "ok", observer), 0);
  site.write_config(http_section(port) + "[[schedule]]\njob = \"capture\"\nevery = \"2s\"\n");
  daemon.signal(SIGHUP);
  wait_until([&] { return daemon.log().find("configuration reloaded") != std::string::npos; }, kLong,
             "\"configuration reloaded\" in the daemon log");
  wait_until([&] { return count_runs(site, "capture", "ok") >= 1; }, kLong, "a capture from the new schedule");
  EXPECT_EQ(http_get(port, "/health").status, 200);

  daemon.signal(SIGTERM);
  auto code = daemon.wait(std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
}

// A cron field out of range is a configuration error with FILE:LINE:COLUMN and the field's name,
// for `schedule` and for `run` alike; a valid one in a named zone prints five fire times.
TEST(Daemon, BadScheduleIsAConfigError) {
  Site site({.replicas = 1, .load_site = false});
  site.write_config("[[schedule]]\njob = \"backup\"\ncron = \"61 * * * *\"\n");
  // Where the bad value is: its line in the written file, and the column of "61" (after the quote).
  int line = 0, col = 0;
  {
    std::ifstream in(site.config());
    std::string l;
    for (int n = 1; std::getline(in, l); ++n)
      if (auto p = l.find("\"61 "); p != std::string::npos) {
        line = n;
        col = static_cast<int>(p) + 2;  // 1-based column of '6'
      }
  }
  ASSERT_GT(line, 0);
  const std::string where = "sitekeeper.toml:" + std::to_string(line) + ":";
  for (const char* cmd : {"schedule", "run"}) {
    auto r = site.run({cmd}, std::chrono::seconds(60));
    EXPECT_EQ(r.code, 2) << cmd << "\n" << r.out << r.err;
    EXPECT_NE(r.err.find(where), std::string::npos) << cmd << ": expected " << where << " in\n" << r.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.err, m, std::regex("sitekeeper\\.toml:(\\d+):(\\d+)"))) << r.err;
    EXPECT_EQ(std::stoi(m[1]), line) << r.err;
    EXPECT_EQ(std::stoi(m[2]), col) << r.err;
    EXPECT_NE(r.err.find("minute"), std::string::npos) << cmd << "\n" << r.err;
  }

  site.write_config("[[schedule]]\njob = \"backup\"\ncron = \"0 2 * * *\"\ntimezone = \"Europe/Berlin\"\n");
  auto text = site.run({"schedule"});
  ASSERT_EQ(text.code, 0) << text.err;
  int times = 0;
  std::regex iso("^  \\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$");
  std::istringstream lines(text.out);
  for (std::string l; std::getline(lines, l);)
    if (std::regex_match(l, iso)) ++times;
  EXPECT_EQ(times, 5) << text.out;
  EXPECT_NE(text.out.find("Europe/Berlin"), std::string::npos) << text.out;

  auto j = site.json({"schedule"});
  ASSERT_EQ(j.size(), 1u) << j.dump(2);
  ASSERT_EQ(j[0]["next"].size(), 5u) << j.dump(2);
  for (const auto& t : j[0]["next"]) {
    // 02:00 in Berlin is 01:00Z (CET) or 00:00Z (CEST).
    const std::string s = t.get<std::string>();
    EXPECT_TRUE(s.find("T01:00:00Z") != std::string::npos || s.find("T00:00:00Z") != std::string::npos) << s;
  }
}

// The API behind a token and TLS, both from files beside the config: health checks answer anyone,
// everything else wants the token; plain HTTP to the TLS port gets nothing; a SIGHUP takes a new token
// at once; the token never reaches the log. And a listen address the server could not bind is a
// config error before anything starts.
TEST(Daemon, HttpApiBehindTokenAndTls) {
  Site site({.replicas = 1, .load_site = false});
  const int port = free_port();
  const std::string token = "4bf3c9a0d1e2f3a4b5c6d7e8f9a0b1c2", next = "next-token-0123456789abcdef";
  const auto tls = sk::test::self_signed_cert();
  auto write_private = [&](const fs::path& rel, const std::string& text) {
    fs::create_directories((site.dir() / rel).parent_path());
    std::ofstream(site.dir() / rel, std::ios::trunc) << text;
    fs::permissions(site.dir() / rel, fs::perms::owner_read | fs::perms::owner_write);
  };
  write_private("secrets/http.token", token + "\n");
  write_private("tls/key.pem", tls.key_pem);
  std::ofstream(site.dir() / "tls/cert.pem") << tls.cert_pem;
  site.write_config("[http]\nlisten = \"127.0.0.1:" + std::to_string(port) +
                    "\"\ntoken_file = \"secrets/http.token\"\ntls_cert = \"tls/cert.pem\"\ntls_key = \"tls/key.pem\"\n");
  BackgroundProcess daemon(site.argv({"run"}), site.dir() / "daemon.log");
  LogOnFailure dump{daemon};
  auto get = [&](const std::string& target, const std::string& bearer = "", const std::string& scheme = "Bearer ") {
    return sk::test::tls_get(static_cast<unsigned short>(port), target, tls.cert_pem,
                             bearer.empty() ? "" : scheme + bearer)
        .status;
  };
  wait_until([&] { return get("/health") == 200; }, kLong, "/health over TLS");

  for (const char* open : {"/health", "/active", "/replica", "/replica?max_age=1h", "/replica/hd1", "/active/cm1",
                           "/standby/cm2"})
    EXPECT_NE(get(open), 401) << open;
  for (const char* closed : {"/status", "/metrics", "/replicas", "/no/such/thing"}) {
    EXPECT_EQ(get(closed), 401) << closed;
    EXPECT_EQ(get(closed, "not-the-token-at-all-0000"), 401) << closed;
  }
  EXPECT_EQ(get("/status", token), 200);
  EXPECT_EQ(get("/metrics", token), 200);
  EXPECT_EQ(get("/replicas", token), 200);
  EXPECT_EQ(get("/no/such/thing", token), 404);
  // A browser's answer to the login prompt: any user name, the token as the password.
  EXPECT_EQ(get("/", sk::test::basic_credentials("operator:" + token), ""), 200);
  EXPECT_EQ(get("/", sk::test::basic_credentials("operator:" + token + "x"), ""), 401);
  EXPECT_THROW(http_get(port, "/health"), std::runtime_error) << "plain HTTP answered on the TLS port";

  write_private("secrets/http.token", next + "\n");
  daemon.signal(SIGHUP);
  wait_until([&] { return get("/status", next) == 200; }, kLong, "the new token after SIGHUP");
  EXPECT_EQ(get("/status", token), 401);
  EXPECT_NE(daemon.log().find("(TLS)"), std::string::npos) << tail(daemon.log());
  EXPECT_EQ(daemon.log().find(token), std::string::npos);
  EXPECT_EQ(daemon.log().find(next), std::string::npos);
  daemon.signal(SIGTERM);
  auto code = daemon.wait(std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);

  site.write_config("[http]\nlisten = \"localhost:" + std::to_string(port) + "\"\n");
  auto r = site.run({"run"}, std::chrono::seconds(60));
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("http.listen: expected an IP address"), std::string::npos) << r.err;
}
