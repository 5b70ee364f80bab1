// A whole site for integration tests: an active server with the demo site database and N replica
// servers, all real PostgreSQL 15 clusters, plus a sitekeeper config in a folder whose path holds a
// space and a non-ASCII character. The `sitekeeper` binary itself is run, as an operator would.
#pragma once
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "integration_support.hpp"
#include "pg_cluster.hpp"

namespace sk::test {

namespace fs = std::filesystem;

struct SiteOptions {
  int replicas = 1;
  std::string transport = "native";  // for the replicas; the active is native
  std::string database = "CM_CEN";
  std::string archive = "site archive";
  int keep = 3;
  std::string extra_config = {};  // appended verbatim
  bool load_site = true;
  std::vector<std::pair<std::string, std::string>> replica_settings = {};  // postgresql.conf of replicas
  std::string max_age = "5d";  // [archive] max_age
  std::string archive_extra = {};  // more lines of [archive] (e.g. files = [...])
  // Further databases of the site ([site] databases), each loaded by load_report_database.
  std::vector<std::string> more_databases = {};
  std::string replica_server_extra = {};  // more lines of each [servers.hdN] table (e.g. refresh = "physical")
};

// A further database of a site on `c`: a table `reports` whose ids come from a bigserial, a
// free-standing sequence `report_serials`, 50 rows, and SELECT on the table for helpdesk (whose role the
// site database's schema creates).
void load_report_database(PgCluster& c, const std::string& db);
// Hands out `n` more numbers in a report database: n rows in reports, n values of report_serials.
void advance_report_serials(PgCluster& c, const std::string& db, int n);
// The [site] line naming the site's databases: `database = ...` for one, `databases = [...]` for more.
std::string site_databases_toml(const std::string& db, const std::vector<std::string>& more);

class Site {
 public:
  explicit Site(SiteOptions o = {});
  ~Site();

  PgCluster& active() { return *active_; }
  PgCluster& replica(int i) { return *replicas_.at(i); }
  const fs::path& dir() const { return dir_.path(); }
  fs::path config() const { return dir_ / "sitekeeper.toml"; }
  fs::path archive() const { return dir_ / opts_.archive; }
  const std::string& db() const { return opts_.database; }
  const std::vector<std::string>& more_databases() const { return opts_.more_databases; }

  // Rewrites the config (e.g. after changing options or pointing a server elsewhere).
  void write_config(const std::string& extra = "", int replica_port_override = 0);
  CommandResult run(std::vector<std::string> args, std::chrono::milliseconds timeout = std::chrono::minutes(10)) const;
  std::vector<std::string> argv(std::vector<std::string> args) const;
  nlohmann::json json(std::vector<std::string> args) const;  // runs with --json, parses stdout

  // Adds `n` rows to status_messages on the active (so that backups differ).
  void add_messages(int n, const std::string& tag);
  std::string count_on_replica(int i, const std::string& where = "") const;

 private:
  SiteOptions opts_;
  TempDir dir_{"/tmp/sk site \xC3\xA9-"};
  std::unique_ptr<PgCluster> active_;
  std::vector<std::unique_ptr<PgCluster>> replicas_;
};

// Quotes an identifier for the psql text tests send.
std::string qi(const std::string& name);

}  // namespace sk::test
