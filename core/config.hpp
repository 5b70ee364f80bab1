#pragma once
// The TOML configuration contract of DESIGN.md, loaded and validated in one place.
// Thread-safety: a Config is an immutable value once loaded; share it by const reference or shared_ptr.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/schedule_config.hpp"
#include "core/units.hpp"

namespace sk {

namespace fs = std::filesystem;

struct ServerConfig {
  std::string name;
  std::string engine = "postgresql";  // postgresql | sqlite | sqlserver
  std::string transport = "native";   // native | odbc
  std::string host = "127.0.0.1";
  int port = 5432;
  std::string user = "postgres";
  std::optional<fs::path> password_file;
  std::string odbc_driver = "PostgreSQL Unicode";
  fs::path data_dir;  // empty when not set; sqlite: the "server" directory
  fs::path bin_dir = "/usr/lib/postgresql/15/bin";
  // How a replica is refreshed: "logical" (a dump restored into a staging database, then renamed) or
  // "physical" (the generation's base backup restored into a new data directory; needs data_dir).
  std::string refresh = "logical";
  // Resolved from password (config), password_file or SITEKEEPER_PASSWORD_<NAME>. Never log it.
  std::string password;
  std::string password_source;  // "file", "environment", "config" or "" (none)
};

struct Config {
  fs::path file;  // absolute path of the loaded file
  struct Site {
    std::string code;
    // The site's databases, the site database first; `database` is that first one. [site] databases
    // or the one-database form [site] database. Names are unique (case-insensitively).
    std::vector<std::string> databases;
    std::string database;
  } site;
  fs::path state_path;
  struct Archive {
    fs::path path;
    int keep = 7;
    Millis max_age{std::chrono::hours(24 * 5)};
    std::vector<std::string> after_backup;  // argv; "{backup}" is replaced
    fs::path key_file;  // HMAC keys of the generations' markers; default <state dir>/archive.keys
    // What each backup holds: "logical" (a dump per database; refresh and recover restore it) and,
    // with "physical", a base backup of the whole active server beside it.
    std::vector<std::string> kinds = {"logical"};
    // The daemon streams the active's WAL into <path>/wal (pg_receivewal on a slot of its own), so
    // that recover can roll a base backup forward to the last second. Needs kinds "physical".
    bool wal_stream = false;
    // The site's non-database state (files or folders) copied into every backup under files/
    // (replicator/site_files.hpp): absolute, normal, none inside another or the archive.
    std::vector<fs::path> files;
    // Key material encrypted into every generation (core/secrets.hpp).
    struct Secrets {
      std::vector<fs::path> files;  // absolute, normal
      fs::path passphrase_file;     // empty when not set
      // From passphrase_file, else SITEKEEPER_SECRETS_PASSPHRASE; empty when neither. A secret: never log it.
      std::string passphrase;
      std::string passphrase_source;  // "file", "environment" or ""
    } secrets;
    // [[archive.copy]]: off-site destinations each verified backup is copied to (replicator/offsite.hpp).
    struct Copy {
      fs::path path;            // absolute, normal; neither inside the archive nor holding it
      std::uint64_t rate = 0;   // bytes per second, above zero
    };
    std::vector<Copy> copies;
  } archive;
  std::map<std::string, ServerConfig> servers;
  struct Roles {
    std::string active;
    std::string standby;
    std::vector<std::string> replicas;
    std::string trial;  // serves nothing: where verify --deep restores when no scratch server can run
  } roles;
  struct Replica {
    std::vector<std::string> readers;
    int jobs = 2;
    // Replicas refreshed at once (each with `jobs` restore workers); every generation is read and
    // verified once however many restore it.
    int parallel = 2;
    Millis swap_timeout{5000};
    std::vector<std::string> validate;
  } replica;
  struct Failover {
    std::string mode = "manual";  // manual | automatic
    Millis probe_interval{1000};
    Millis probe_timeout{1000};
    int failures = 3;
    std::uint64_t max_lag = 16ull << 20;
    std::int64_t serial_headroom = 1000;
    std::vector<std::string> fence;  // argv; "{server}" is replaced
    std::vector<std::string> alias;
    // A commit on the active is acknowledged only once the standby has it: no acknowledged commit is
    // lost in a failover, and writes wait while the standby is away.
    bool synchronous = false;
  } failover;
  std::vector<ScheduleConfig> schedules;
  struct Http {
    std::string listen;  // "IPv4:port" or "[IPv6]:port"; empty disables the API
    int max_connections = 64;  // open at once; at the limit the idlest is closed for a new one
    // The bearer token read from token_file; empty: no authentication. A secret: never log it.
    fs::path token_file;
    std::string token;
    // TLS from PEM files, both or neither (empty: plain HTTP), and their text as loaded and checked.
    // The key is a secret: never log it.
    fs::path tls_cert, tls_key;
    std::string tls_cert_pem, tls_key_pem;
  } http;
  struct Alerts {
    std::vector<std::string> command;  // argv; "{job}" and "{message}" are replaced
  } alerts;
  struct Health {
    Millis interval{2000};  // every server probed this often for the per-server checks
    int rise = 2;           // consecutive good probes before a server counts as up
    int fall = 2;           // consecutive bad probes before it counts as down
  } health;
  // [dcs]: several managers, one leader, on etcd. Absent (`etcd` empty): one manager, as without it.
  struct Dcs {
    std::vector<std::string> etcd;  // endpoint URLs, http:// or https:// with host:port and no path
    std::string name;               // this manager; unique among the site's managers
    Millis ttl{10'000};             // the leader lease; whole seconds
    std::string prefix;             // the site's keys; default "/sitekeeper/<site code>"
    // etcd authentication (a user with password_file; the password is a secret: never log it) and
    // TLS (ca_file for the server's certificate; cert_file and key_file, both or neither, for a
    // client certificate).
    std::string user;
    fs::path password_file;
    std::string password;
    fs::path ca_file, cert_file, key_file;
    bool enabled() const { return !etcd.empty(); }
  } dcs;

  // REQUIRES: name is a key of servers (load_config guarantees it for every name in roles).
  const ServerConfig& server(const std::string& name) const;
};

// Loads and validates the whole file. Throws ConfigError whose message reads
// "FILE:LINE:COLUMN: KEY: what was expected" for every problem found in the file, and refuses a
// config or password file that others can read when it holds a password.
// `env` looks up environment variables (injected for tests); null means getenv.
using EnvLookup = std::optional<std::string> (*)(const std::string&);
Config load_config(const fs::path& file, EnvLookup env = nullptr);

}  // namespace sk
