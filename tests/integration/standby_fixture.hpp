// A site with a passive standby for integration tests: the active server cm1 (a real PostgreSQL 15
// cluster holding the demo site database) and the standby server cm2, which starts as an empty data
// directory and a free port for `sitekeeper standby init` to fill; optionally replica servers hd1, hd2,
// ... (empty clusters on loopback until a `refresh` fills them). The sitekeeper config lives in a
// folder whose path holds a space and a non-ASCII character; the `sitekeeper` binary itself is run, as
// an operator would. Each server may run on a machine of its own (a network namespace, see
// netlab.hpp); sitekeeper commands that start a server's postmaster then run on that machine.
#pragma once
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pg_cluster.hpp"
#include "site_fixture.hpp"

namespace sk::test {

// Where a server of the site runs: a network namespace ("" = the manager's own) and the address it
// listens on, which the config names as its host.
struct ServerPlace {
  std::string netns = {};
  std::string address = "127.0.0.1";
};

struct StandbySiteOptions {
  std::string database = "CM_CEN";
  std::string mode = "manual";  // [failover] mode
  int failures = 3;             // [failover] failures
  std::string probe_interval = "1s";  // [failover] probe_interval
  std::string probe_timeout = "1s";   // [failover] probe_timeout
  std::string max_lag = "16MB";
  int serial_headroom = 1000;
  std::string extra_config = {};  // appended verbatim
  // [failover] fence: a script (fence_log() records its calls) that "powers off" the named server by
  // killing its postmaster, or `fence_argv` when that is given. Without a fence, a failover while the
  // active does not answer is refused.
  bool fence = true;
  std::vector<std::string> fence_argv = {};
  ServerPlace cm1_at = {};
  ServerPlace cm2_at = {};
  // More addresses both cm1 and cm2 listen on, after their place's (e.g. the root end of a NetLab veth,
  // for a manager in a namespace); the config still names the place's address.
  std::vector<std::string> also_listen = {};
  std::vector<std::string> clients = {};  // networks (CIDR) besides loopback that reach the servers over TCP
  int replicas = 0;                       // replica servers hd1..hdN in [roles] replicas, on loopback
  // Further databases of the site ([site] databases) on cm1, each loaded by load_report_database.
  std::vector<std::string> more_databases = {};
  std::string archive_extra = {};  // more lines of [archive] (e.g. kinds, wal_stream)
};

class StandbySite {
 public:
  explicit StandbySite(StandbySiteOptions o = {});
  ~StandbySite();

  PgCluster& active() { return *cm1_; }    // cm1, the active server named in [roles]
  PgCluster& standby() { return *cm2_; }   // cm2, the standby named in [roles]
  PgCluster& replica(int i) { return *replicas_.at(static_cast<size_t>(i)); }  // hd<i+1>
  const PgCluster& active() const { return *cm1_; }
  const PgCluster& standby() const { return *cm2_; }
  const fs::path& dir() const { return dir_.path(); }
  fs::path config() const { return dir_ / "sitekeeper.toml"; }
  const std::string& db() const { return opts_.database; }
  const StandbySiteOptions& options() const { return opts_; }
  // One line per call of the fence script: the server it was asked to fence.
  std::string fence_log() const;

  // Rewrites the config with `extra` appended.
  void write_config(const std::string& extra = "");

  std::vector<std::string> argv(std::vector<std::string> args) const;
  CommandResult run(std::vector<std::string> args, const Environment& env = {},
                    std::chrono::milliseconds timeout = std::chrono::minutes(5)) const;
  // Runs on the machine of `server` (in its namespace): for commands that start its postmaster
  // (`standby init` for the standby, `rejoin` for an old active), which must listen there.
  CommandResult run_on(const PgCluster& server, std::vector<std::string> args, const Environment& env = {},
                       std::chrono::milliseconds timeout = std::chrono::minutes(5)) const;
  nlohmann::json json(std::vector<std::string> args) const;  // runs with --json, parses stdout

  // SQL as the superuser over the server's unix socket: it works from any namespace and over any cut,
  // so what a test observes never depends on the links it cuts. (Each server has a socket folder of
  // its own, also a standby whose configuration pg_basebackup copied: see PgCluster's host.conf.)
  PsqlResult try_sql(const PgCluster& c, const std::string& sql, const std::string& db = "postgres") const;
  std::string sql(const PgCluster& c, const std::string& sql, const std::string& db = "postgres") const;

  // Last value of every sequence of the site database ("schema.name" -> last_value or start_value).
  std::map<std::string, long long> sequences(const PgCluster& c) const;
  // The same for database `db`.
  std::map<std::string, long long> sequences(const PgCluster& c, const std::string& db) const;
  // True when `c` answers and is in recovery.
  bool in_recovery(const PgCluster& c) const;

 private:
  StandbySiteOptions opts_;
  TempDir dir_{"/tmp/sk standby \xC3\xA9-"};
  std::unique_ptr<PgCluster> cm1_;
  std::unique_ptr<PgCluster> cm2_;
  std::vector<std::unique_ptr<PgCluster>> replicas_;
};

// `standby status --json`.
nlohmann::json standby_status(const StandbySite& site);
// `standby status --json` says `standby` streams, in recovery, with `lag_bytes` 0 and healthy.
bool standby_caught_up(const StandbySite& site, const std::string& standby = "cm2");
// `standby init` on the standby's machine, then waits until it streams with no lag (GoogleTest
// assertions: call it through ASSERT_NO_FATAL_FAILURE).
void init_standby(StandbySite& site);
// `history --json`, newest first, and the number of runs of `job` with `outcome` in it.
nlohmann::json history(const StandbySite& site);
int count_runs(const StandbySite& site, const std::string& job, const std::string& outcome);

}  // namespace sk::test
