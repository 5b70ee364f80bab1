// Test harness: real PostgreSQL 15 clusters in throw-away folders, plus the small process helpers that
// integration tests and benchmarks need to drive the `sitekeeper` binary.
//
// Deliberately independent of sitekeeper's own libraries (and of GoogleTest, because benchmarks link it
// without gtest): a bug in the product's process runner must not be able to hide a bug in the product.
// Failures are reported by throwing std::runtime_error; in a GoogleTest body an escaping exception fails
// the test with its message.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sk::test {

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------------

// Changes to the inherited environment: a value sets the variable, std::nullopt removes it.
using Environment = std::map<std::string, std::optional<std::string>>;

struct RunOptions {
  std::string input;                    // written to the child's stdin (stdin is /dev/null when empty)
  std::chrono::milliseconds timeout = 10min;  // the child's process group is killed after this
  std::filesystem::path cwd;            // empty: inherit
};

// Exit code that run_command returns when it had to kill the command (same convention as timeout(1)).
inline constexpr int kTimedOutExitCode = 124;

// Runs argv (argv[0] is looked up in PATH when it has no '/') directly, never through a shell, and
// returns its exit code: 128+N when killed by signal N, 127 when it could not be executed,
// kTimedOutExitCode after a timeout. stdout/stderr are captured into *out / *err when non-null.
// The child runs in its own process group so that a timeout also kills whatever it started.
int run_command(const std::vector<std::string>& argv, const Environment& env = {},
                std::string* out = nullptr, std::string* err = nullptr, const RunOptions& options = {});

// A long-running child (e.g. `sitekeeper run`) with stdout and stderr appended to one log file.
// The destructor sends SIGTERM to its process group, then SIGKILL after a grace period, and reaps it.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::vector<std::string>& argv, const std::filesystem::path& log_file,
                    const Environment& env = {});
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();                       // false once it exited (reaps it)
  void signal(int sig);                 // to the process only, not its group (like a service manager)
  // Waits for exit; returns the exit code (128+N when killed by signal N) or std::nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout = 60s);
  std::string log() const;              // the log file's current content

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::filesystem::path log_file_;
};

// Polls `predicate` (every 100 ms, first call immediate) until it returns true; throws
// std::runtime_error naming `what` (and the predicate's last exception, if any) after `timeout`.
// Exceptions from the predicate count as "not yet", so "until the server answers" can simply query.
// Tests use this instead of sleeping and then asserting.
void wait_until(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
                const std::string& what);
void wait_until(const std::function<bool()>& predicate, const std::string& what);  // 60 s

// A loopback TCP port that was free a moment ago (bound to 127.0.0.1:0 and released). Ports handed out
// earlier in this process are not handed out again. Another process may still take it: callers retry.
int free_port();

// True when the effective user is root, i.e. when PostgreSQL binaries must run as `postgres`.
bool running_as_root();

// argv prefixed with `runuser -u postgres --` when running as root, unchanged otherwise. Use it for
// every PostgreSQL server-side binary a test runs itself (initdb, pg_ctl, pg_basebackup, pg_rewind...).
std::vector<std::string> as_server_user(std::vector<std::string> argv);

// argv prefixed with `ip netns exec NETNS` (ip by its absolute path), unchanged when netns is empty. A
// process started that way, and everything it starts (a postmaster), lives in that network namespace.
std::vector<std::string> in_netns(const std::string& netns, std::vector<std::string> argv);

// The absolute path of iproute2's `ip`, or "" when it is not installed.
std::string ip_path();

// A watcher process in a session of its own that runs the sh `script` with `args` ($1, $2, ...) once
// this process is gone without calling dismiss_guardian (crash, abort, SIGKILL from a ctest timeout):
// it blocks on a pipe whose write end only this process holds, so end-of-file is its signal. Paths
// travel as arguments, never as script text. Its output goes to /dev/null.
struct Guardian {
  pid_t pid = -1;
  int fd = -1;                          // the write end of its pipe
};
Guardian start_guardian(const char* script, const char* label, const std::vector<std::string>& args);
// Kills the guardian unheard (the caller has done the cleanup itself) and reaps it; idempotent.
void dismiss_guardian(Guardian& g);

// A temporary folder, mkdtemp(prefix + "XXXXXX"), removed by the destructor, by the atexit sweep, and by
// a guardian when this process dies without either (the fixtures' config and state folders).
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::filesystem::path& p) const { return path_ / p; }

 private:
  void remove() noexcept;
  std::filesystem::path path_;
  Guardian guardian_;
  int exit_id_ = -1;
};

// The atexit sweep, for what a test leaves behind without running destructors (exit() in a helper, a
// leaked object): `cleanup` runs at exit, newest first, unless forget_at_exit(id) came first. So an
// object registered after another (a cluster inside a NetLab) is cleaned up before it. Returns the id.
int clean_up_at_exit(std::function<void()> cleanup);
void forget_at_exit(int id);

// ---------------------------------------------------------------------------------------------------
// PostgreSQL clusters
// ---------------------------------------------------------------------------------------------------

inline constexpr const char* kPgBinDir = "/usr/lib/postgresql/15/bin";

struct PgClusterOptions {
  std::string name = "pg";              // label in the folder name and in errors; [A-Za-z0-9_-] only
  std::string superuser = "sitekeeper";
  std::string password = "sitekeeper-test-pw";
  bool initdb = true;                   // false: only an empty data_dir() (e.g. for `standby init`)
  bool start = true;                    // start the server after initdb
  // Extra postgresql.conf settings, written verbatim after the harness defaults (so they win),
  // e.g. {"shared_buffers", "256MB"}. Values must be quoted by the caller when PostgreSQL needs it.
  std::vector<std::pair<std::string, std::string>> settings = {};
  std::chrono::seconds start_timeout = 60s;
  // The network namespace the server runs in (`pg_ctl start` runs under in_netns); empty: this
  // process's. psql() works from anywhere, because the unix socket is a file.
  std::string netns = {};
  // listen_addresses; the first one is host(), which the TCP helpers (psql_as, conninfo) connect to.
  std::vector<std::string> listen = {"127.0.0.1"};
  // Networks (CIDR, e.g. "10.77.3.0/24") besides loopback from which roles, replication included, may
  // log in over TCP with their password.
  std::vector<std::string> clients = {};
};

// Result of a psql run that is allowed to fail.
struct PsqlResult {
  int exit_code = 0;
  std::string out;                      // stdout without its final newline
  std::string err;
  bool ok() const { return exit_code == 0; }
};

// One PostgreSQL 15 cluster in its own temporary folder, e.g. "/tmp/sk test é pg-Ab12Cd/" holding
//   data/          PGDATA (owned by postgres when running as root)
//   sock/          unix_socket_directories
//   host.conf      where this server listens (addresses, port, socket folder), included from
//                  postgresql.conf by a relative path: a copy of the data directory (pg_basebackup,
//                  pg_rewind) made in another cluster's data/ reads that cluster's host.conf
//   server.log     pg_ctl's log
// The folder name always contains a space and a non-ASCII character, because the product must cope.
//
// Lifetime: the destructor always stops the server (fast, then immediate, then SIGKILL) and removes the
// folder. Clusters are also registered for an atexit sweep, and each has a guardian process that shuts
// the server down and removes the folder if this process dies without running destructors (crash,
// abort, SIGKILL from a ctest timeout). No signal handlers are installed.
class PgCluster {
 public:
  // initdb (UTF8, C.UTF-8, trust on the local socket, scram-sha-256 over TCP from loopback and
  // options.clients, superuser with options.password), configure (options.listen on a free port,
  // wal_level=replica, hot_standby, fsync=off, wal_log_hints for pg_rewind) and start, in
  // options.netns. Retries with another port when the port was taken.
  static std::unique_ptr<PgCluster> start(const PgClusterOptions& options = {});

  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // --- where it is ---
  int port() const { return port_; }
  std::string host() const { return options_.listen.front(); }
  const std::string& netns() const { return options_.netns; }  // "" when in this process's namespace
  const std::filesystem::path& temp_dir() const { return root_; }   // removed by the destructor
  std::filesystem::path data_dir() const { return root_ / "data"; }
  std::filesystem::path socket_dir() const { return root_ / "sock"; }
  std::filesystem::path log_path() const { return root_ / "server.log"; }
  std::filesystem::path host_config_path() const { return root_ / "host.conf"; }
  std::filesystem::path bin_dir() const { return kPgBinDir; }
  const std::string& superuser() const { return options_.superuser; }
  const std::string& password() const { return options_.password; }
  const std::string& name() const { return options_.name; }
  // libpq keyword/value string for TCP, without the password: "host=127.0.0.1 port=N user=U dbname=D".
  std::string conninfo(const std::string& db = "postgres") const;

  // Writes the superuser password (no newline) to `path` with mode 0600, creating parent folders, and
  // returns the path. Default: <temp_dir>/secrets/<name>.pw. The file belongs to the calling user, as
  // the product's password_file would.
  std::filesystem::path write_password_file(const std::filesystem::path& path = {}) const;

  // --- SQL through /usr/lib/postgresql/15/bin/psql -X -q -At -v ON_ERROR_STOP=1 ---
  // `sql` is fed on stdin, so it may hold several statements, each in its own transaction (CREATE
  // DATABASE works). Returns stdout without its final newline; throws with stderr on failure.
  std::string psql(const std::string& sql, const std::string& db = "postgres") const;  // superuser, socket
  // As `role` over TCP with its password (passed via PGPASSWORD, never on the command line).
  std::string psql_as(const std::string& role, const std::string& password, const std::string& sql,
                      const std::string& db = "postgres") const;
  PsqlResult try_psql(const std::string& sql, const std::string& db = "postgres") const;
  PsqlResult try_psql_as(const std::string& role, const std::string& password, const std::string& sql,
                         const std::string& db = "postgres") const;
  // Runs a script file as superuser with `-v name=value` for each var (e.g. {"rows", "1000000"}).
  std::string psql_file(const std::filesystem::path& file, const std::string& db = "postgres",
                        const std::map<std::string, std::string>& vars = {}) const;

  // --- server control ---
  bool running() const;                 // postmaster.pid names a live (non-zombie) process
  std::optional<pid_t> postmaster_pid() const;
  void start_server();                  // pg_ctl -w start (in netns()) on the configured port; throws with the log
  void stop();                          // pg_ctl -m fast -w stop; no-op when not running
  void kill9();                         // SIGKILL the postmaster and its children, as a machine death
  void restart();                       // stop() if running, then start_server()
  std::string server_log() const;       // content of server.log (for failure messages)

 private:
  explicit PgCluster(PgClusterOptions options);
  void make_folders();
  void run_initdb();
  void allow_clients();
  void write_config();
  void write_host_config();
  void start_with_port_retry();
  void spawn_guardian();
  void stop_guardian();
  bool pg_ctl_stop(const char* mode);
  void remove_stale_lock_file();
  void cleanup() noexcept;              // idempotent: server, folder, guardian, atexit sweep

  PgClusterOptions options_;
  std::filesystem::path root_;
  std::string initdb_config_;           // postgresql.conf as initdb wrote it
  int port_ = 0;
  Guardian guardian_;
  int exit_id_ = -1;                    // in the atexit sweep until cleanup()
  bool cleaned_ = false;
};

}  // namespace sk::test
