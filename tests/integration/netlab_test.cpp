// Proves the network-partition harness itself (netlab.hpp), so that a failing partition test points at
// the product: each cut stops exactly its link and stops it silently, isolate() is a machine death, a
// PostgreSQL cluster runs and listens inside a namespace, and nothing is left behind by a destructor or
// by a test process that dies.
#include <gtest/gtest.h>
#include <signal.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "integration_support.hpp"
#include "netlab.hpp"
#include "pg_cluster.hpp"

namespace fs = std::filesystem;
using namespace sk::test;

namespace {

#define SKIP_WITHOUT_NETLAB()                                          \
  do {                                                                 \
    if (auto why = NetLab::unavailable()) GTEST_SKIP() << *why;        \
  } while (0)

// What `ip` lists: namespaces (`ip netns list`) or links of the root namespace (`ip -o link show`).
std::string ip_list(const std::vector<std::string>& args) {
  std::vector<std::string> argv{ip_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out, err;
  run_command(argv, {}, &out, &err);
  return out;
}

bool names_left(const std::string& prefix) {
  return ip_list({"netns", "list"}).find(prefix) != std::string::npos ||
         ip_list({"-o", "link", "show"}).find(prefix) != std::string::npos;
}

using Matrix = std::map<std::pair<Host, Host>, Reach>;

// Every ordered pair of machines, probed.
Matrix reachability(const NetLab& lab) {
  Matrix m;
  for (Host from : {Host::manager, Host::active, Host::standby})
    for (Host to : {Host::manager, Host::active, Host::standby})
      if (from != to) m[{from, to}] = lab.probe(from, to, std::chrono::milliseconds(1500));
  return m;
}

// The matrix expected when the links in `down` are cut: both directions of a cut link are silent.
Matrix expected(std::initializer_list<std::pair<Host, Host>> down) {
  Matrix m;
  for (Host from : {Host::manager, Host::active, Host::standby})
    for (Host to : {Host::manager, Host::active, Host::standby})
      if (from != to) m[{from, to}] = Reach::connected;
  for (auto [a, b] : down) m[{a, b}] = m[{b, a}] = Reach::silent;
  return m;
}

std::string show(const Matrix& m) {
  std::string s;
  for (const auto& [k, v] : m)
    s += std::string(to_string(k.first)) + " -> " + to_string(k.second) + ": " + to_string(v) + "\n";
  return s;
}

}  // namespace

TEST(NetLab, EachCutStopsExactlyItsLinkAndSilently) {
  SKIP_WITHOUT_NETLAB();
  NetLab lab;
  EXPECT_NE(lab.netns(Host::active), lab.netns(Host::standby));
  EXPECT_NE(lab.netns(Host::active).find(std::to_string(::getpid())), std::string::npos) << lab.netns(Host::active);
  EXPECT_TRUE(lab.netns(Host::manager).empty());
  EXPECT_TRUE(lab.address(Host::active).starts_with("10.77.")) << lab.address(Host::active);

  EXPECT_EQ(reachability(lab), expected({})) << show(reachability(lab));
  const auto dropped = lab.dropped(Host::active);
  lab.cut(Link::manager_active);
  EXPECT_EQ(reachability(lab), expected({{Host::manager, Host::active}})) << show(reachability(lab));
  EXPECT_GT(lab.dropped(Host::active), dropped);
  lab.heal(Link::manager_active);
  lab.cut(Link::active_standby);
  EXPECT_EQ(reachability(lab), expected({{Host::active, Host::standby}})) << show(reachability(lab));
  lab.cut(Link::manager_standby);
  EXPECT_EQ(reachability(lab), expected({{Host::active, Host::standby}, {Host::manager, Host::standby}}))
      << show(reachability(lab));
  lab.heal_all();
  EXPECT_EQ(reachability(lab), expected({})) << show(reachability(lab));

  // A machine death: nothing in or out, while its own loopback still works.
  lab.isolate(Host::active);
  EXPECT_EQ(reachability(lab), expected({{Host::manager, Host::active}, {Host::standby, Host::active}}))
      << show(reachability(lab));
  std::string out, err;
  EXPECT_EQ(run_command(lab.exec_in(Host::active, {ip_path(), "-o", "addr", "show", "dev", "lo"}), {}, &out, &err), 0);
  EXPECT_NE(out.find(lab.address(Host::active) + "/32"), std::string::npos) << out;
  lab.heal(Host::active);
  EXPECT_EQ(reachability(lab), expected({})) << show(reachability(lab));
}

TEST(NetLab, ClusterRunsAndListensInsideANamespace) {
  SKIP_WITHOUT_NETLAB();
  NetLab lab;
  auto c = PgCluster::start({.name = "inside",
                             .netns = lab.netns(Host::active),
                             .listen = {lab.address(Host::active)},
                             .clients = {lab.subnet()}});
  EXPECT_EQ(c->host(), lab.address(Host::active));
  EXPECT_EQ(c->psql("SELECT 40 + 2"), "42");  // over the unix socket, from the root namespace
  const auto pid = c->postmaster_pid();
  ASSERT_TRUE(pid);
  const auto inside = lab.pids(Host::active);
  EXPECT_NE(std::find(inside.begin(), inside.end(), *pid), inside.end()) << "the postmaster is not in the namespace";
  // Over TCP, from the manager, to the service address: scram with the password, from the lab's subnet.
  EXPECT_EQ(c->psql_as(c->superuser(), c->password(), "SELECT host(inet_server_addr())"), lab.address(Host::active));
  // From the standby machine, over the direct link, the server sees the standby's service address.
  std::string out, err;
  const int rc = run_command(lab.exec_in(Host::standby, {std::string(kPgBinDir) + "/psql", "-X", "-At", "-h", c->host(),
                                                         "-p", std::to_string(c->port()), "-U", c->superuser(), "-d",
                                                         "postgres", "-c", "SELECT host(inet_client_addr())"}),
                             {{"PGPASSWORD", c->password()}}, &out, &err);
  EXPECT_EQ(rc, 0) << err;
  EXPECT_EQ(out, lab.address(Host::standby) + "\n");
  c.reset();
  EXPECT_TRUE(lab.pids(Host::active).empty());
}

TEST(NetLab, DestructorRemovesNamespacesAndLinks) {
  SKIP_WITHOUT_NETLAB();
  std::string prefix;
  {
    NetLab lab;
    prefix = lab.netns(Host::active);
    prefix.pop_back();  // "sk<pid>n<k>": the namespaces and every device
    lab.cut(Link::manager_active);
    ASSERT_TRUE(names_left(prefix));
  }
  EXPECT_FALSE(names_left(prefix)) << ip_list({"netns", "list"}) << ip_list({"-o", "link", "show"});
}

// Run by CrashedTestLeavesNoNamespaceBehind in a child process: makes a lab with a server inside,
// reports its names, then dies without running any destructor. Skipped in a normal run.
TEST(NetLabCrashChild, MakesALabThenDies) {
  const char* report = std::getenv("SK_NETLAB_CRASH_REPORT");
  if (!report) GTEST_SKIP() << "only run as the child of NetLab.CrashedTestLeavesNoNamespaceBehind";
  auto* lab = new NetLab;  // never deleted: the point is a death without destructors
  auto c =
      PgCluster::start({.name = "doomed", .netns = lab->netns(Host::active), .listen = {lab->address(Host::active)}});
  {
    std::ofstream out(report);
    out << lab->netns(Host::active) << "\n" << c->postmaster_pid().value() << "\n";
  }
  std::raise(SIGKILL);
}

TEST(NetLab, CrashedTestLeavesNoNamespaceBehind) {
  SKIP_WITHOUT_NETLAB();
  auto scratch = PgCluster::start({.name = "scratch", .initdb = false});  // a folder for the report
  const auto report = run_crash_child("NetLabCrashChild.MakesALabThenDies", "SK_NETLAB_CRASH_REPORT",
                                      scratch->temp_dir() / "crash report.txt");
  ASSERT_EQ(report.size(), 2u);
  const std::string& ns = report[0];
  const std::string& pid_text = report[1];
  std::string prefix = ns;
  prefix.pop_back();
  wait_until([&] { return !fs::exists("/proc/" + pid_text); }, "the orphaned postmaster to be gone");
  wait_until([&] { return !names_left(prefix); }, "the orphaned lab's namespaces and links to be removed: " + prefix);
}
