// The shipped deploy/haproxy.cfg, run by Debian's real `haproxy` in front of a real site (the active
// cm1, the standby cm2, the replicas hd1 and hd2, the sitekeeper daemon answering the checks): help-desk
// reads through the read frontend, a daemon restart that takes no healthy server out of rotation, a
// stopped replica whose traffic moves to the other one, and a failover the write frontend follows.
//
// The file is the shipped one, unchanged: it takes its addresses and ports from the environment, which
// is how a site fills it in too. Clients are libpq connections through HAProxy; which server they
// reached is the server's port (inet_server_port()). HAProxy's view is read from its admin socket
// (`show stat`). Everything is waited for with a deadline, never slept on.
#include <gtest/gtest.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pg_cluster.hpp"
#include "site_fixture.hpp"
#include "standby_fixture.hpp"

#ifndef SK_SOURCE_DIR
#error "SK_SOURCE_DIR must name the source tree"
#endif

using namespace sk::test;
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

namespace {

constexpr auto kLong = std::chrono::seconds(120);
constexpr const char* kHelpdesk = "helpdesk";
constexpr const char* kHelpdeskPassword = "helpdesk-demo";

double seconds_since(Steady::time_point t0) {
  return std::chrono::duration<double>(Steady::now() - t0).count();
}

std::string haproxy_binary() {
  for (const char* p : {"/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"})
    if (::access(p, X_OK) == 0) return p;
  return "";
}

// One request on HAProxy's admin socket; the reply up to HAProxy's close.
std::string admin(const fs::path& sock, const std::string& command) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (sock.string().size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long: " + sock.string());
  std::strcpy(addr.sun_path, sock.c_str());
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("cannot connect to " + sock.string() + ": " + std::strerror(errno));
  const std::string line = command + "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) throw std::runtime_error("write failed");
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  return out;
}

struct ServerStat {
  std::string status;        // UP, "UP 1/2" (going down), DOWN, "DOWN (agent)", "DOWN 1/2" (coming up), MAINT
  long chkdown = 0;          // UP -> DOWN transitions
  std::string agent_status;  // the agent check's last result: L7OK (up), L7STS (down), L4CON (refused)
};

// `show stat`, by "backend/server".
std::map<std::string, ServerStat> show_stat(const fs::path& sock) {
  std::istringstream in(admin(sock, "show stat"));
  std::string line;
  if (!std::getline(in, line) || line.rfind("# ", 0) != 0) throw std::runtime_error("show stat: no header: " + line);
  // CSV: a field holding a comma (a check's description does) is quoted, a quote in it doubled.
  auto split = [](const std::string& s) {
    std::vector<std::string> v(1);
    bool quoted = false;
    for (size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      if (quoted && c == '"' && i + 1 < s.size() && s[i + 1] == '"') {
        v.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        v.emplace_back();
      } else {
        v.back() += c;
      }
    }
    return v;
  };
  const auto head = split(line.substr(2));
  auto col = [&](const std::string& name) {
    auto it = std::find(head.begin(), head.end(), name);
    if (it == head.end()) throw std::runtime_error("show stat: no column " + name);
    return static_cast<size_t>(it - head.begin());
  };
  const size_t px = col("pxname"), sv = col("svname"), st = col("status"), cd = col("chkdown"),
               as = col("agent_status");
  std::map<std::string, ServerStat> out;
  while (std::getline(in, line)) {
    auto v = split(line);
    if (v.size() <= std::max({px, sv, st, cd, as}) || v[sv] == "FRONTEND" || v[sv] == "BACKEND") continue;
    auto num = [](const std::string& s) { return s.empty() ? 0L : std::stol(s); };
    out[v[px] + "/" + v[sv]] = {v[st], num(v[cd]), v[as]};
  }
  return out;
}

bool is_up(const std::map<std::string, ServerStat>& s, const std::string& server) {
  auto it = s.find(server);
  return it != s.end() && it->second.status.rfind("UP", 0) == 0;
}

// One client through HAProxy: connect, run `sql`, disconnect. `value` is the first column of the first
// row; `error` is libpq's message when it failed.
struct Attempt {
  bool ok = false;
  std::string value, error;
};

Attempt connect_once(int port, const std::string& user, const std::string& password, const std::string& db,
                     const std::string& sql) {
  const std::string p = std::to_string(port);
  const char* keys[] = {"host", "port", "user", "password", "dbname", "connect_timeout", "sslmode", nullptr};
  const char* values[] = {"127.0.0.1", p.c_str(), user.c_str(), password.c_str(), db.c_str(), "5", "disable", nullptr};
  std::unique_ptr<PGconn, decltype(&PQfinish)> c(PQconnectdbParams(keys, values, 0), &PQfinish);
  Attempt a;
  if (PQstatus(c.get()) != CONNECTION_OK) {
    a.error = PQerrorMessage(c.get());
    return a;
  }
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c.get(), sql.c_str()), &PQclear);
  const auto st = PQresultStatus(r.get());
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    a.error = PQerrorMessage(c.get());
    return a;
  }
  if (st == PGRES_TUPLES_OK && PQntuples(r.get()) > 0) a.value = PQgetvalue(r.get(), 0, 0);
  a.ok = true;
  return a;
}

// Debian's haproxy in the foreground on deploy/haproxy.cfg, its frontends on free loopback ports, its
// checks at the daemon's API, its admin socket and log in a folder of its own. Stopped (SIGTERM, then
// SIGKILL) by the destructor.
class Haproxy {
 public:
  Haproxy(const std::string& binary, const StandbySite& site, int api_port, const std::vector<PgCluster*>& hd)
      : read_port_(free_port()), write_port_(free_port()) {
    const passwd* pw = ::getpwuid(::geteuid());
    if (!pw) throw std::runtime_error("getpwuid failed");
    auto at = [](const PgCluster& c) { return c.host() + ":" + std::to_string(c.port()); };
    env_ = {{"SK_API_ADDR", "127.0.0.1"},
            {"SK_API_PORT", std::to_string(api_port)},
            {"SK_READ_BIND", "127.0.0.1:" + std::to_string(read_port_)},
            {"SK_WRITE_BIND", "127.0.0.1:" + std::to_string(write_port_)},
            {"SK_HD1", at(*hd.at(0))},
            {"SK_HD2", at(*hd.at(1))},
            {"SK_CM1", at(site.active())},
            {"SK_CM2", at(site.standby())},
            {"SK_HAPROXY_STATS", sock().string()},
            {"SK_HAPROXY_LOG", "stdout"},
            {"SK_HAPROXY_USER", pw->pw_name}};
    // HAProxy drops to this user and group; the test's own, so that it can read the admin socket.
    const group* gr = ::getgrgid(pw->pw_gid);
    if (!gr) throw std::runtime_error("getgrgid failed");
    env_["SK_HAPROXY_GROUP"] = gr->gr_name;
    std::string out, err;
    const int rc = run_command({binary, "-c", "-f", config().string()}, env_, &out, &err);
    if (rc != 0) throw std::runtime_error("haproxy -c refused deploy/haproxy.cfg: " + out + err);
    proc_ = std::make_unique<BackgroundProcess>(std::vector<std::string>{binary, "-db", "-f", config().string()},
                                                dir_ / "haproxy.log", env_);
    try {
      wait_until([&] { return !show_stat(sock()).empty(); }, std::chrono::seconds(30), "HAProxy's admin socket");
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string(e.what()) + "\n---- haproxy log ----\n" + tail(log()));
    }
  }

  static fs::path config() { return fs::path(SK_SOURCE_DIR) / "deploy" / "haproxy.cfg"; }
  fs::path sock() const { return dir_ / "admin.sock"; }
  int read_port() const { return read_port_; }
  int write_port() const { return write_port_; }
  std::map<std::string, ServerStat> stat() const { return show_stat(sock()); }
  std::string log() const { return proc_ ? proc_->log() : ""; }

 private:
  TempDir dir_{"/tmp/sk haproxy-"};
  int read_port_, write_port_;
  Environment env_;
  std::unique_ptr<BackgroundProcess> proc_;
};

// Runs body() over and over on a thread of its own until stop() (or destruction).
class Repeat {
 public:
  explicit Repeat(std::function<void()> body) : body_(std::move(body)), thread_([this] {
    while (!stop_) body_();
  }) {}
  ~Repeat() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::function<void()> body_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// What a client looping through a frontend saw.
struct Tally {
  std::mutex mu;
  int attempts = 0, failures = 0;
  std::string first_error;
  std::map<std::string, int> reached;  // first column of the reply (the server's port) -> count
  void add(const Attempt& a) {
    std::lock_guard<std::mutex> l(mu);
    ++attempts;
    if (a.ok) {
      ++reached[a.value];
    } else if (++failures == 1) {
      first_error = a.error;
    }
  }
};

// Prints HAProxy's view of its servers and its log when the test fails (an assertion or an escaping
// wait_until).
struct HaproxyLogOnFailure {
  const Haproxy& h;
  ~HaproxyLogOnFailure() {
    if (!::testing::Test::HasFailure() && std::uncaught_exceptions() == 0) return;
    std::cerr << "---- haproxy servers ----\n";
    try {
      for (const auto& [name, st] : h.stat())
        std::cerr << name << ": " << st.status << ", agent " << st.agent_status << ", " << st.chkdown << " times down\n";
    } catch (const std::exception& e) {
      std::cerr << e.what() << "\n";
    }
    std::cerr << "---- haproxy log ----\n" << tail(h.log()) << "\n";
  }
};

bool answers_fresh(int api, const std::string& path) {
  auto r = http_get(api, path);
  return r.status == 200 && !r.json().value("stale", true);
}

}  // namespace

// One site, one HAProxy, the four things a help desk and an operator rely on, in order:
//  1. reads through the read frontend land on the replicas (both), writes on the active;
//  2. the daemon stops (SIGTERM) for 3 s, longer than HAProxy's own `fall`, and starts again, while a
//     client connects in a loop: no connection fails, and HAProxy never takes a healthy server DOWN
//     (its chkdown counters do not move, the watcher never sees a status other than UP);
//  3. hd1's PostgreSQL stops: within seconds every new connection reaches hd2, then 0 of 50 fail, and
//     HAProxy holds hd1 DOWN on sitekeeper's 503 for it;
//  4. cm1 dies and `failover --yes` promotes cm2: the write frontend reaches cm2 (INSERT works, not in
//     recovery); with both replicas down, reads fall back to the new active.
TEST(Haproxy, ShippedConfigFollowsTheSiteThroughRestartReplicaLossAndFailover) {
  const std::string binary = haproxy_binary();
  if (binary.empty()) GTEST_SKIP() << "haproxy is not installed (Debian's `haproxy` package; ./run.sh installs it)";
  const int api = free_port();
  StandbySite site({.extra_config = http_section(api) + "[health]\ninterval = \"1s\"\nrise = 2\nfall = 2\n",
                    .replicas = 2});
  auto& cm1 = site.active();
  auto& cm2 = site.standby();
  auto& hd1 = site.replica(0);
  auto& hd2 = site.replica(1);
  const std::string su = cm1.superuser(), su_pw = cm1.password();
  const std::string cm1_port = std::to_string(cm1.port()), cm2_port = std::to_string(cm2.port());
  const std::string hd1_port = std::to_string(hd1.port()), hd2_port = std::to_string(hd2.port());

  ASSERT_NO_FATAL_FAILURE(init_standby(site));
  ASSERT_NO_FATAL_FAILURE(expect_ok(site.run({"backup"}), "backup"));
  ASSERT_NO_FATAL_FAILURE(expect_ok(site.run({"refresh"}), "refresh"));

  auto daemon = std::make_unique<BackgroundProcess>(site.argv({"run"}), site.dir() / "daemon.log");
  for (const std::string path : {"/replica/hd1", "/replica/hd2", "/active/cm1"})
    wait_until([&] { return http_get(api, path).status == 200; }, kLong, path + " to answer 200");

  Haproxy ha(binary, site, api, {&hd1, &hd2});
  HaproxyLogOnFailure show_haproxy{ha};
  const std::vector<std::string> healthy = {"helpdesk_read/hd1", "helpdesk_read/hd2", "site_write/cm1"};
  // cm2 accepts connections (HAProxy's own check passes), but sitekeeper says it is not the active.
  wait_until(
      [&] {
        auto s = ha.stat();
        return is_up(s, "helpdesk_read/hd1") && is_up(s, "site_write/cm1") && !is_up(s, "site_write/cm2") &&
               s["site_write/cm2"].agent_status == "L7STS";
      },
      std::chrono::seconds(30), "HAProxy to route to hd1 and cm1, not to cm2");

  // 1. Reads as the help desk, across both replicas; writes on the active.
  {
    LogOnFailure show{*daemon};
    const std::string expected = cm1.psql("SELECT count(*) FROM resources", site.db());
    auto read = connect_once(ha.read_port(), kHelpdesk, kHelpdeskPassword, site.db(), "SELECT count(*) FROM resources");
    ASSERT_TRUE(read.ok) << read.error;
    EXPECT_EQ(read.value, expected);
    std::set<std::string> reached;
    wait_until(
        [&] {
          auto a = connect_once(ha.read_port(), kHelpdesk, kHelpdeskPassword, site.db(), "SELECT inet_server_port()");
          if (!a.ok) throw std::runtime_error(a.error);
          reached.insert(a.value);
          return reached.count(hd1_port) && reached.count(hd2_port);
        },
        std::chrono::seconds(30), "reads to reach both replicas");
    EXPECT_EQ(reached, (std::set<std::string>{hd1_port, hd2_port})) << "a read reached a server that is no replica";
    auto write = connect_once(ha.write_port(), su, su_pw, site.db(),
                              "INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, "
                              "message) VALUES ('CEN', 'sitekeeper-test', 7, 'informational', 'TESTPC', 'via haproxy');"
                              "SELECT inet_server_port()");
    ASSERT_TRUE(write.ok) << write.error;
    EXPECT_EQ(write.value, cm1_port);
  }

  // 2. A daemon restart under a read loop. First every healthy server at full health in HAProxy (a
  // server it has just started with needs `fall` good checks to get there).
  wait_until(
      [&] {
        auto s = ha.stat();
        return std::all_of(healthy.begin(), healthy.end(), [&](const std::string& n) { return s[n].status == "UP"; });
      },
      std::chrono::seconds(30), "hd1, hd2 and cm1 at full health in HAProxy");
  {
    const auto before = ha.stat();
    Tally reads;
    std::mutex seen_mu;
    std::map<std::string, std::set<std::string>> seen;  // server -> every status the watcher saw
    std::set<std::string> agent_seen;                   // every agent result seen meanwhile
    Repeat client([&] {
      reads.add(connect_once(ha.read_port(), kHelpdesk, kHelpdeskPassword, site.db(), "SELECT inet_server_port()"));
    });
    Repeat watcher([&] {
      try {
        auto s = ha.stat();
        std::lock_guard<std::mutex> l(seen_mu);
        for (const auto& n : healthy) {
          seen[n].insert(s[n].status);
          agent_seen.insert(s[n].agent_status);
        }
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    });

    const auto t0 = Steady::now();
    {
      LogOnFailure show{*daemon};
      stop_daemon(*daemon);
    }
    const double stopped = seconds_since(t0);
    // Away for longer than a check on sitekeeper could ride out with `fall 2` every second (3 s), and
    // until HAProxy has seen it gone from every server's agent check: the absence is real to HAProxy.
    wait_until(
        [&] {
          auto s = ha.stat();
          return seconds_since(t0) >= 3.0 && std::all_of(healthy.begin(), healthy.end(), [&](const std::string& n) {
                   return s[n].agent_status == "L4CON";
                 });
        },
        std::chrono::seconds(15), "HAProxy's agent checks to find sitekeeper gone");
    daemon = std::make_unique<BackgroundProcess>(site.argv({"run"}), site.dir() / "daemon2.log");
    LogOnFailure show{*daemon};
    wait_until([&] { return http_get(api, "/health").status == 200; }, std::chrono::seconds(30), "the daemon back");
    const double away = seconds_since(t0);
    // The new daemon's own verdicts (no longer the kept ones), and HAProxy's checks at full health again.
    for (const std::string path : {"/replica/hd1", "/replica/hd2", "/active/cm1"})
      wait_until([&] { return answers_fresh(api, path); }, std::chrono::seconds(30), path + " confirmed by the new daemon");
    wait_until(
        [&] {
          auto s = ha.stat();
          return std::all_of(healthy.begin(), healthy.end(), [&](const std::string& n) { return s[n].status == "UP"; });
        },
        std::chrono::seconds(30), "hd1, hd2 and cm1 at full health again");
    client.stop();
    watcher.stop();
    auto after = ha.stat();

    std::cout << "daemon restart: stopped in " << stopped << " s, away " << away << " s; " << reads.attempts
              << " connections through the read frontend, " << reads.failures << " failed; agent results seen:";
    for (const auto& a : agent_seen) std::cout << " " << a;
    std::cout << std::endl;
    EXPECT_EQ(reads.failures, 0) << "first error: " << reads.first_error;
    EXPECT_GE(reads.attempts, 20) << "the client loop hardly ran: the test proves nothing";
    EXPECT_TRUE(agent_seen.count("L4CON")) << "HAProxy never saw sitekeeper gone";
    for (const auto& [port, n] : reads.reached)
      EXPECT_TRUE(port == hd1_port || port == hd2_port) << n << " reads reached port " << port << ", no replica";
    for (const auto& n : healthy) {
      EXPECT_EQ(after[n].chkdown, before.at(n).chkdown) << n << " was taken DOWN during the restart";
      for (const auto& st : seen[n]) EXPECT_EQ(st.rfind("UP", 0), 0u) << n << " was " << st << " during the restart";
    }
  }
  LogOnFailure show{*daemon};

  // 3. hd1's PostgreSQL stops.
  {
    const auto t1 = Steady::now();
    hd1.stop();
    int streak = 0;
    wait_until(
        [&] {
          auto a = connect_once(ha.read_port(), kHelpdesk, kHelpdeskPassword, site.db(), "SELECT inet_server_port()");
          streak = a.ok && a.value == hd2_port ? streak + 1 : 0;
          return streak >= 5;
        },
        std::chrono::seconds(15), "every new read to reach hd2");
    const double moved = seconds_since(t1);
    int failed = 0, elsewhere = 0;
    std::string error;
    for (int i = 0; i < 50; ++i) {
      auto a = connect_once(ha.read_port(), kHelpdesk, kHelpdeskPassword, site.db(), "SELECT inet_server_port()");
      if (!a.ok) {
        ++failed;
        error = a.error;
      } else if (a.value != hd2_port) {
        ++elsewhere;
      }
    }
    EXPECT_EQ(failed, 0) << error;
    EXPECT_EQ(elsewhere, 0) << "reads still reach a server other than hd2";
    // sitekeeper's verdict reached HAProxy too: its agent check got "down" for hd1.
    wait_until(
        [&] {
          auto s = ha.stat();
          return s["helpdesk_read/hd1"].agent_status == "L7STS" && !is_up(s, "helpdesk_read/hd1");
        },
        std::chrono::seconds(30), "hd1 DOWN in HAProxy, its agent check down");
    std::cout << "replica stopped: every read on hd2 after " << moved << " s; then 50 connects, " << failed
              << " failed, held DOWN after " << seconds_since(t1) << " s" << std::endl;
  }

  // 4. The active dies; the operator fails over to cm2.
  {
    const auto t2 = Steady::now();
    cm1.kill9();
    ASSERT_NO_FATAL_FAILURE(expect_ok(site.run({"failover", "--yes"}), "failover --yes"));
    const double failed_over = seconds_since(t2);
    Attempt last;
    wait_until(
        [&] {
          last = connect_once(ha.write_port(), su, su_pw, site.db(),
                              "INSERT INTO status_messages (site_code, component, message_id, severity, "
                              "machine_name, message) VALUES ('CEN', 'sitekeeper-test', 8, 'informational', "
                              "'TESTPC', 'via haproxy after failover');"
                              "SELECT inet_server_port() || ' ' || pg_is_in_recovery()");
          return last.ok && last.value == cm2_port + " false";
        },
        std::chrono::seconds(30), "the write frontend to reach the new active cm2");
    std::cout << "failover: done in " << failed_over << " s, writes through HAProxy on cm2 after "
              << seconds_since(t2) << " s" << std::endl;
    EXPECT_EQ(site.sql(cm2, "SELECT count(*) FROM status_messages WHERE message = 'via haproxy after failover'",
                       site.db()),
              "1");

    // No replica left: the help desk reads from the active in force.
    hd2.stop();
    wait_until(
        [&] {
          auto a = connect_once(ha.read_port(), kHelpdesk, kHelpdeskPassword, site.db(), "SELECT inet_server_port()");
          return a.ok && a.value == cm2_port;
        },
        std::chrono::seconds(30), "reads to fall back to the new active cm2");
  }
  stop_daemon(*daemon);
}
