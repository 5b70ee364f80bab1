// The command line an operator meets and the systemd unit, on the real binary: --version, a mistyped
// command, global options after the command, one --json document from every reporting command (a
// refused plan too) whose exit_code is the process's, the man page (every command; man(1) renders it
// without a warning; the build's copy is the binary's), and deploy/sitekeeper.service (systemd-analyze
// verify; its ExecReload fails on a broken config with FILE:LINE:COLUMN, as `systemctl reload` would),
// and the daemon's sd_notify messages on a socket the test binds, as systemd's for Type=notify.
// No PostgreSQL here: the servers are named on a loopback port where nothing listens.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "app/cmd/cli.hpp"
#include "integration_support.hpp"
#include "pg_cluster.hpp"
#include "tests/unit/support/notify_socket.hpp"
#include "tests/unit/support/files.hpp"

using namespace sk::test;
namespace fs = std::filesystem;

namespace {


bool have(const std::string& tool) {
  return run_command({"/bin/sh", "-c", "command -v " + tool + " >/dev/null 2>&1"}) == 0;
}

// A config in a fresh folder (a space and é in its path); every server on a port nobody listens on.
class Sandbox {
 public:
  explicit Sandbox(bool with_standby = false) {
    const std::string port = std::to_string(free_port());
    std::string toml = "[site]\ncode = \"CEN\"\ndatabase = \"CM_CEN\"\n";
    for (const char* s : {"cm1", "cm2", "hd1"})
      toml += std::string("[servers.") + s + "]\nhost = \"127.0.0.1\"\nport = " + port + "\n";
    toml += "[roles]\nactive = \"cm1\"\nreplicas = [\"hd1\"]\n";
    if (with_standby) toml += "standby = \"cm2\"\n";
    write(toml);
  }
  fs::path config() const { return dir_ / "sitekeeper.toml"; }
  const fs::path& dir() const { return dir_.path(); }
  void write(const std::string& toml) const {
    std::ofstream(config(), std::ios::trunc) << toml;
    fs::permissions(config(), fs::perms::owner_read | fs::perms::owner_write);
  }
  // sitekeeper with `args`, the config given last, after the command.
  CommandResult run(std::vector<std::string> args) const {
    args.insert(args.begin(), SK_BINARY);
    args.push_back("--config");
    args.push_back(config().string());
    return run_capture(args, {}, std::chrono::seconds(60));
  }

 private:
  TempDir dir_{"/tmp/sk cli \xC3\xA9-"};
};

// stdout is exactly one JSON object whose exit_code is the process's, and whose ok says whether it was 0.
nlohmann::json one_document(const CommandResult& r, const std::string& what) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(r.out);  // throws on a second document or trailing text
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": stdout is not one JSON document (" << e.what() << "), exit " << r.code << "\n"
                  << r.out << "\n" << r.err;
    return nullptr;
  }
  EXPECT_TRUE(j.is_object()) << what << "\n" << r.out;
  EXPECT_EQ(j.value("exit_code", -1), r.code) << what << "\n" << r.out << "\n" << r.err;
  EXPECT_EQ(j.value("ok", !(r.code == 0)), r.code == 0) << what << "\n" << r.out;
  return j;
}

}  // namespace

TEST(CliBinary, VersionPrintsTheProjectVersion) {
  auto r = run_capture({SK_BINARY, "--version"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "sitekeeper " + sk::cli::version() + "\n");
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(std::regex_match(sk::cli::version(), std::regex(R"(\d+\.\d+\.\d+)"))) << sk::cli::version();
}

TEST(CliBinary, AMistypedCommandIsNamedWithTheNearestOne) {
  Sandbox box;
  auto r = run_capture({SK_BINARY, "statsu"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "error: unknown command \"statsu\"\nHINT: did you mean \"status\"?\n");

  auto j = box.run({"statsu", "--json"});
  EXPECT_EQ(j.code, 2);
  auto doc = one_document(j, "statsu --json");
  EXPECT_EQ(doc["error"], "unknown command \"statsu\"");
  EXPECT_EQ(doc["hint"], "did you mean \"status\"?");

  auto nothing_near = run_capture({SK_BINARY, "xyzzy"});
  EXPECT_EQ(nothing_near.code, 2);
  EXPECT_EQ(nothing_near.err, "error: unknown command \"xyzzy\"\nHINT: see 'sitekeeper --help' for the commands\n");
}

TEST(CliBinary, HelpListsExitCodesAndAnExamplePerCommand) {
  auto r = run_capture({SK_BINARY, "--help"});
  EXPECT_EQ(r.code, 0) << r.err;
  for (const auto& c : sk::cli::command_table()) {
    if (c.hidden) continue;
    EXPECT_TRUE(contains(r.out, "  " + c.example + "\n")) << c.name << "\n" << r.out;
  }
  for (const auto& e : sk::cli::exit_codes())
    EXPECT_TRUE(contains(r.out, "  " + std::to_string(e.code) + "  " + e.meaning)) << r.out;
  auto sub = run_capture({SK_BINARY, "failover", "--help"});
  EXPECT_EQ(sub.code, 0);
  EXPECT_TRUE(contains(sub.out, "--old-active-is-down")) << sub.out;
  EXPECT_TRUE(contains(sub.out, "Exit codes:")) << sub.out;
}

// Where the global options stand does not matter: before, after, or around the command.
TEST(CliBinary, GlobalOptionsStandBeforeOrAfterTheCommand) {
  Sandbox box;
  const std::string cfg = box.config().string();
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {SK_BINARY, "--config", cfg, "--json", "pause"},
           {SK_BINARY, "pause", "--json", "--config", cfg},
           {SK_BINARY, "--json", "pause", "--log-level", "warn", "--config=" + cfg}}) {
    auto r = run_capture(argv);
    auto doc = one_document(r, argv[1] + " " + argv[2]);
    EXPECT_EQ(doc["paused"], true) << r.out;
  }
}

// A refused plan is still one document on stdout, with the reason and the exit code (3), and says it on
// stderr too; a plan without --yes carries its steps and the refusal.
TEST(CliBinary, RefusedPlansAreOneJsonDocument) {
  Sandbox no_standby;
  for (const char* kind : {"failover", "switchover"}) {
    auto r = no_standby.run({kind, "--plan", "--json"});
    EXPECT_EQ(r.code, 3) << r.out << r.err;
    auto doc = one_document(r, std::string(kind) + " --plan --json");
    EXPECT_EQ(doc["error"], "no standby to promote") << r.out;
    EXPECT_FALSE(doc["hint"].get<std::string>().empty()) << r.out;
    EXPECT_EQ(doc["kind"], kind) << r.out;
    EXPECT_TRUE(contains(r.err, "error: no standby to promote\nHINT: ")) << r.err;
  }

  Sandbox with_standby(true);
  auto r = with_standby.run({"failover", "--json"});
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  auto doc = one_document(r, "failover --json");
  EXPECT_EQ(doc["error"], "failover not executed") << r.out;
  EXPECT_TRUE(contains(doc["hint"].get<std::string>(), "--yes")) << r.out;
  EXPECT_TRUE(doc["steps"].is_array() && !doc["steps"].empty()) << r.out;
  EXPECT_EQ(doc["to"], "cm2") << r.out;
}

// Every command that reports answers --json with one document, in success and in failure alike.
TEST(CliBinary, EveryReportingCommandHonoursJson) {
  Sandbox box(true);
  struct Case {
    std::vector<std::string> args;
    int code;
    const char* key;  // a fact the document carries
  };
  for (const Case& c : std::vector<Case>{
           {{"pause"}, 0, "paused"},
           {{"resume"}, 0, "mode"},
           {{"runbook"}, 0, "markdown"},
           {{"check-config"}, 0, "site"},
           {{"rotate-key"}, 0, "key_id"},
           {{"verify"}, 1, "error"},    // an empty archive
           {{"capture"}, 1, "error"},   // the active does not answer
           {{"backup"}, 1, "error"},
           {{"refresh"}, 3, "error"},   // no complete backup
           {{"rejoin"}, 3, "error"},    // nothing fenced
           {{"recover", "--server", "cm2", "--plan"}, 3, "hint"},  // the standby: never a recover target
           {{"recover", "--plan"}, 2, "error"},                     // no --server, nothing to resume
           {{"man"}, 0, "roff"}}) {
    auto args = c.args;
    args.push_back("--json");
    auto r = box.run(args);
    const std::string what = c.args[0] + " --json";
    EXPECT_EQ(r.code, c.code) << what << "\n" << r.out << r.err;
    auto doc = one_document(r, what);
    EXPECT_TRUE(doc.is_object() && doc.contains(c.key)) << what << ": no " << c.key << "\n" << r.out;
  }
  auto runbook = box.run({"runbook", "--json"});
  EXPECT_TRUE(contains(nlohmann::json::parse(runbook.out)["markdown"].get<std::string>(), "# Recovery runbook"));
  // The text forms are unchanged by the document: pause says its sentence.
  auto text = box.run({"pause"});
  EXPECT_EQ(text.code, 0);
  EXPECT_EQ(text.out, "maintenance window declared: no automatic promotion until 'sitekeeper resume'\n");
}

// The man page the build wrote is the one the binary prints; it names every command, its example and
// every exit code; man(1) (else groff) renders it without a warning.
TEST(CliManPage, NamesEveryCommandAndRendersWithoutWarnings) {
  TempDir dir("/tmp/sk man \xC3\xA9-");
  const fs::path page = dir / "sitekeeper.1";
  auto w = run_capture({SK_BINARY, "man", page.string()});
  ASSERT_EQ(w.code, 0) << w.out << w.err;
  EXPECT_EQ(fs::status(page).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  const std::string roff = slurp(page);
  EXPECT_EQ(run_capture({SK_BINARY, "man"}).out, roff);
  EXPECT_EQ(slurp(SK_MAN_PAGE), roff) << SK_MAN_PAGE << " (the manpage target) differs from `sitekeeper man`";

  std::string rendered;
  if (have("man")) {
    auto r = run_capture({"man", "--warnings", "-l", page.string()}, {{"MANWIDTH", "100"}, {"MANPAGER", "cat"},
                                                                       {"PAGER", "cat"}, {"LC_ALL", "C.UTF-8"}});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "") << "man -l warned";
    rendered = r.out;
  } else if (have("groff")) {
    auto r = run_capture({"groff", "-man", "-Tutf8", "-ww", page.string()});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "") << "groff warned";
    rendered = r.out;
  } else {
    GTEST_SKIP() << "neither man nor groff is installed (Debian: man-db, groff-base): the page was not rendered";
  }
  // The rendered text, without the overstrike bold and underline, names every command and exit code.
  const std::string plain = std::regex_replace(rendered, std::regex(".\b"), "");
  // man fills and justifies text: compare running text with every run of blanks and line breaks as one space.
  const std::regex blanks("\\s+");
  const std::string flowing = std::regex_replace(plain, blanks, " ");
  auto flows = [&](const std::string& text) { return contains(flowing, std::regex_replace(text, blanks, " ")); };
  for (const auto& c : sk::cli::command_table()) {
    if (c.hidden) continue;
    EXPECT_TRUE(std::regex_search(plain, std::regex("\n {3,}" + c.name + "( |\n)"))) << c.name << "\n" << plain;
    EXPECT_TRUE(flows(c.example)) << c.example;
  }
  EXPECT_TRUE(contains(plain, "EXIT STATUS")) << plain;
  for (const auto& e : sk::cli::exit_codes()) EXPECT_TRUE(flows(e.meaning.substr(0, 30))) << e.meaning;
}

namespace {

// deploy/sitekeeper.service with the installed binary's path replaced by the one under test.
// deploy/`name` with the build's binary in place of the installed one.
std::string unit_for_test(const std::string& name = "sitekeeper.service") {
  const std::string unit = slurp(fs::path(SK_SOURCE_DIR) / "deploy" / name);
  return std::regex_replace(unit, std::regex("/usr/local/bin/sitekeeper"), SK_BINARY);
}

// The values of `key` in the unit's assignments, in order.
std::vector<std::string> values(const std::string& unit, const std::string& key) {
  std::vector<std::string> v;
  std::istringstream lines(unit);
  for (std::string l; std::getline(lines, l);)
    if (l.rfind(key + "=", 0) == 0) v.push_back(l.substr(key.size() + 1));
  return v;
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> w;
  std::istringstream in(s);
  for (std::string x; in >> x;) w.push_back(x);
  return w;
}

}  // namespace

// What issue 9 asks of a unit, then systemd's own check of it, for the unit and for the per-site
// template (verified as the instance sitekeeper@CEN, which systemd-analyze loads from the template
// file). Documentation=man:sitekeeper(1) is resolved by systemd-analyze through man(1): the test
// installs the generated page in a MANPATH of its own.
namespace {

void verify_unit(const std::string& file_name, const std::string& verified_name, const std::string& config) {
  SCOPED_TRACE(file_name);
  const std::string unit = unit_for_test(file_name);
  EXPECT_EQ(values(unit, "Type"), std::vector<std::string>{"notify"});
  EXPECT_EQ(values(unit, "User"), std::vector<std::string>{"sitekeeper"});
  EXPECT_EQ(values(unit, "ProtectSystem"), std::vector<std::string>{"strict"});
  EXPECT_EQ(values(unit, "SystemCallFilter"), std::vector<std::string>{"@system-service"});
  EXPECT_EQ(values(unit, "ProtectProc"), std::vector<std::string>{"invisible"});
  EXPECT_EQ(values(unit, "Documentation"), std::vector<std::string>{"man:sitekeeper(1)"});
  EXPECT_FALSE(values(unit, "ReadWritePaths").empty());
  EXPECT_EQ(values(unit, "ExecStart"), std::vector<std::string>{std::string(SK_BINARY) + " --config " + config + " run"});
  const auto reload = values(unit, "ExecReload");
  ASSERT_EQ(reload.size(), 2u) << unit;
  EXPECT_EQ(reload[0], std::string(SK_BINARY) + " --config " + config + " check-config");
  EXPECT_EQ(reload[1], "/bin/kill -HUP $MAINPID");

  if (!have("systemd-analyze")) GTEST_SKIP() << "systemd-analyze is not installed (Debian: systemd): unit not verified";
  TempDir dir("/tmp/sk unit-");
  std::ofstream(dir / file_name) << unit;
  fs::create_directories(dir / "man/man1");
  ASSERT_EQ(run_capture({SK_BINARY, "man", (dir / "man/man1/sitekeeper.1").string()}).code, 0);
  auto r = run_capture({"systemd-analyze", "verify", (dir / verified_name).string()}, {{"MANPATH", (dir / "man").string()}});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(r.out + r.err, "") << "systemd-analyze verify warned";
}

}  // namespace

TEST(CliSystemdUnit, VerifyPasses) {
  verify_unit("sitekeeper.service", "sitekeeper.service", "/etc/sitekeeper/sitekeeper.toml");
}

// One daemon per site config: the instance name picks the file, and its state folder is its own.
TEST(CliSystemdUnit, TemplateVerifyPasses) {
  const std::string unit = unit_for_test("sitekeeper@.service");
  EXPECT_EQ(values(unit, "StateDirectory"), std::vector<std::string>{"sitekeeper/%i"});
  EXPECT_EQ(values(unit, "WorkingDirectory"), std::vector<std::string>{"/var/lib/sitekeeper/%i"});
  // Every other setting as in sitekeeper.service, so the two cannot drift apart unnoticed.
  const std::string plain = unit_for_test("sitekeeper.service");
  for (const char* key : {"Type", "NotifyAccess", "User", "Group", "KillSignal", "KillMode", "TimeoutStopSec", "Restart",
                          "RestartSec", "RestartPreventExitStatus", "UMask", "NoNewPrivileges", "ProtectSystem",
                          "ProtectHome", "PrivateTmp", "PrivateDevices", "ReadWritePaths", "ProtectProc",
                          "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups",
                          "ProtectClock", "ProtectHostname", "RestrictSUIDSGID", "RestrictRealtime",
                          "RestrictNamespaces", "LockPersonality", "RemoveIPC", "CapabilityBoundingSet",
                          "AmbientCapabilities", "RestrictAddressFamilies", "SystemCallArchitectures",
                          "SystemCallFilter", "SystemCallErrorNumber", "WantedBy", "StateDirectoryMode"})
    EXPECT_EQ(values(unit, key), values(plain, key)) << key;
  verify_unit("sitekeeper@.service", "sitekeeper@CEN.service", "/etc/sitekeeper/%i.toml");
}

// `systemctl reload` runs the ExecReload lines in order and fails at the first that fails: the first
// one checks the file, so a broken file fails the reload with its FILE:LINE:COLUMN and no SIGHUP is sent.
TEST(CliSystemdUnit, ExecReloadRefusesABrokenConfig) {
  const auto reload = values(unit_for_test(), "ExecReload");
  ASSERT_FALSE(reload.empty());
  Sandbox box;
  auto argv = words(reload[0]);
  ASSERT_GE(argv.size(), 3u);
  for (size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == "--config") argv[i + 1] = box.config().string();

  auto good = run_capture(argv);
  EXPECT_EQ(good.code, 0) << good.out << good.err;
  EXPECT_TRUE(contains(good.out, "ok (site CEN, 3 server(s), 0 schedule(s))")) << good.out;

  box.write(slurp(box.config()) + "[failover]\nprobe_interval = \"soon\"\n");
  int line = 0;
  {
    std::istringstream lines(slurp(box.config()));
    std::string l;
    for (int n = 1; std::getline(lines, l); ++n)
      if (contains(l, "\"soon\"")) line = n;
  }
  auto bad = run_capture(argv);
  EXPECT_EQ(bad.code, 2) << bad.out << bad.err;
  EXPECT_TRUE(std::regex_search(bad.err, std::regex("sitekeeper\\.toml:" + std::to_string(line) + ":\\d+: ")))
      << bad.err;
  EXPECT_TRUE(contains(bad.err, "failover.probe_interval")) << bad.err;
}

// check-config names what a manager will claim in etcd (so two managers given one name show before
// they start), and never the etcd password.
TEST(CliBinary, CheckConfigSummarizesDcsWithoutThePassword) {
  Sandbox box;
  const std::string password = "etcd-pw-0f1e2d3c4b5a69788796a5b4c3d2e1f0";
  {
    std::ofstream(box.dir() / "etcd.pw") << password << "\n";
    fs::permissions(box.dir() / "etcd.pw", fs::perms::owner_read | fs::perms::owner_write);
  }
  box.write(slurp(box.config()) + "[http]\nlisten = \"127.0.0.1:" + std::to_string(free_port()) + "\"\n" +
            "[dcs]\netcd = [\"http://10.0.0.1:2379\", \"http://10.0.0.2:2379\"]\nname = \"mgr2\"\nttl = \"15s\"\n"
            "user = \"sitekeeper\"\npassword_file = \"etcd.pw\"\n");
  auto text = box.run({"check-config"});
  EXPECT_EQ(text.code, 0) << text.out << text.err;
  EXPECT_TRUE(contains(text.out, "dcs: manager mgr2, prefix /sitekeeper/CEN, ttl 15s, user sitekeeper, etcd "
                                 "http://10.0.0.1:2379, http://10.0.0.2:2379\n"))
      << text.out;
  auto json = box.run({"check-config", "--json"});
  EXPECT_EQ(json.code, 0) << json.out << json.err;
  auto doc = one_document(json, "check-config --json");
  ASSERT_TRUE(doc.is_object() && doc.contains("dcs")) << json.out;
  EXPECT_EQ(doc["dcs"]["name"], "mgr2");
  EXPECT_EQ(doc["dcs"]["prefix"], "/sitekeeper/CEN");
  EXPECT_EQ(doc["dcs"]["ttl_seconds"], 15);
  EXPECT_EQ(doc["dcs"]["etcd"].size(), 2u);
  for (const auto* r : {&text, &json}) EXPECT_FALSE(contains(r->out + r->err, password)) << r->out << r->err;
  // Without [dcs] there is no dcs line.
  Sandbox plain;
  auto none = plain.run({"check-config"});
  EXPECT_EQ(none.code, 0) << none.out << none.err;
  EXPECT_FALSE(contains(none.out, "dcs:")) << none.out;
}

namespace {

// True when a TCP connection to 127.0.0.1:port completes.
bool tcp_connects(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

// Datagrams from the daemon until one starts with `prefix` (returned); every one is added to `seen`.
// Fails the test (GoogleTest) and returns "" after `timeout`.
std::string await(NotifySocket& s, const std::string& prefix, std::vector<std::string>& seen,
                  std::chrono::seconds timeout = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto m = s.receive(std::max(left, std::chrono::milliseconds(1)));
    if (!m) break;
    seen.push_back(*m);
    if (m->rfind(prefix, 0) == 0) return *m;
  }
  std::string all;
  for (const auto& m : seen) all += "  " + m + "\n";
  ADD_FAILURE() << "no " << prefix << " within " << timeout.count() << " s; received:\n" << all;
  return "";
}

}  // namespace

// Type=notify, as systemd runs the daemon: READY=1 only once the HTTP API listens (checked with the
// daemon frozen at that moment), the HA decision as STATUS=, RELOADING=1 then READY=1 around each SIGHUP (a
// refused file too: the old configuration keeps running), STOPPING=1 on SIGTERM.
TEST(DaemonNotify, ReadyOnceTheApiAnswersThenReloadingAndStopping) {
  Sandbox box;
  const int port = free_port();
  const std::string good = slurp(box.config()) + http_section(port);
  box.write(good);
  NotifySocket sock(false);
  BackgroundProcess daemon({SK_BINARY, "--config", box.config().string(), "run"}, box.dir() / "daemon.log",
                           {{"NOTIFY_SOCKET", sock.address()}});
  LogOnFailure dump{daemon};
  std::vector<std::string> seen;
  ASSERT_EQ(await(sock, "READY=1", seen), "READY=1");
  // Frozen at READY=1, the daemon cannot bind any more: the kernel completes a connection only to a
  // socket that already listens (into its backlog), so this cannot win a race the daemon lost.
  daemon.signal(SIGSTOP);
  const bool listening = tcp_connects(port);
  daemon.signal(SIGCONT);
  EXPECT_TRUE(listening) << "READY=1 came before the HTTP API listened";
  EXPECT_NO_THROW(http_get(port, "/health"));
  // The daemon answered, so whatever it sent before serving is queued here by now: one READY=1 only.
  while (sock.pending())
    if (auto m = sock.receive()) seen.push_back(*m);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), "READY=1"), 1);
  for (const auto& m : seen) EXPECT_TRUE(m == "READY=1" || m.rfind("STATUS=", 0) == 0) << m;

  auto said = std::find_if(seen.begin(), seen.end(), [](const std::string& m) { return m.rfind("STATUS=", 0) == 0; });
  const std::string status = said != seen.end() ? *said : await(sock, "STATUS=", seen);
  EXPECT_GT(status.size(), std::string("STATUS=").size()) << status;
  EXPECT_EQ(status.find('\n'), std::string::npos) << status;

  for (const std::string& file : {good, good + "[alerts]\ncomand = [\"/bin/true\"]\n"}) {
    box.write(file);
    seen.clear();
    daemon.signal(SIGHUP);
    const std::string reloading = await(sock, "RELOADING=1", seen);
    EXPECT_TRUE(std::regex_match(reloading, std::regex("RELOADING=1\nMONOTONIC_USEC=[0-9]+"))) << reloading;
    EXPECT_EQ(await(sock, "READY=1", seen), "READY=1");
    EXPECT_TRUE(daemon.running());
  }
  EXPECT_TRUE(contains(daemon.log(), "reload refused")) << tail(daemon.log());

  seen.clear();
  daemon.signal(SIGTERM);
  EXPECT_EQ(await(sock, "STOPPING=1", seen), "STOPPING=1");
  auto code = daemon.wait(std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
}
