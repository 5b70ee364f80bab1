// A site with a passive standby for integration tests: the active server cm1 (a real PostgreSQL 15
// cluster holding the demo site database) and the standby server cm2, which starts as an empty data
// directory and a free port for `sitekeeper standby init` to fill. The sitekeeper config lives in a
// folder whose path holds a space and a non-ASCII character; the `sitekeeper` binary itself is run, as
// an operator would.
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

struct StandbySiteOptions {
  std::string database = "CM_CEN";
  std::string mode = "manual";  // [failover] mode
  int failures = 3;             // [failover] failures
  std::string max_lag = "16MB";
  int serial_headroom = 1000;
  std::string extra_config = {};  // appended verbatim
  // [failover] fence: a script (fence_log() records its calls) that "powers off" the named server by
  // killing its postmaster. Without it a failover while the active does not answer is refused.
  bool fence = true;
};

class StandbySite {
 public:
  explicit StandbySite(StandbySiteOptions o = {});
  ~StandbySite();

  PgCluster& active() { return *cm1_; }    // cm1, the active server named in [roles]
  PgCluster& standby() { return *cm2_; }   // cm2, the standby named in [roles]
  const PgCluster& active() const { return *cm1_; }
  const PgCluster& standby() const { return *cm2_; }
  const fs::path& dir() const { return dir_; }
  fs::path config() const { return dir_ / "sitekeeper.toml"; }
  const std::string& db() const { return opts_.database; }
  const StandbySiteOptions& options() const { return opts_; }
  // One line per call of the fence script: the server it was asked to fence.
  std::string fence_log() const;

  // Rewrites the config. `cm1_port` (when non-zero) replaces cm1's port, e.g. to route the manager
  // through a proxy while the standby keeps streaming from the real port.
  void write_config(const std::string& extra = "", int cm1_port = 0);

  std::vector<std::string> argv(std::vector<std::string> args) const;
  CommandResult run(std::vector<std::string> args, const Environment& env = {},
                    std::chrono::milliseconds timeout = std::chrono::minutes(5)) const;
  nlohmann::json json(std::vector<std::string> args) const;  // runs with --json, parses stdout

  // SQL as the superuser over TCP. A standby built by pg_basebackup inherits the active's
  // unix_socket_directories, so its own socket folder stays empty: TCP works for both servers.
  PsqlResult try_sql(const PgCluster& c, const std::string& sql, const std::string& db = "postgres") const;
  std::string sql(const PgCluster& c, const std::string& sql, const std::string& db = "postgres") const;

  // Last value of every sequence of the site database ("schema.name" -> last_value or start_value).
  std::map<std::string, long long> sequences(const PgCluster& c) const;
  // True when `c` answers and is in recovery.
  bool in_recovery(const PgCluster& c) const;

 private:
  StandbySiteOptions opts_;
  fs::path dir_;
  std::unique_ptr<PgCluster> cm1_;
  std::unique_ptr<PgCluster> cm2_;
};

}  // namespace sk::test
