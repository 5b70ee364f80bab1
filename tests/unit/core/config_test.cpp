#include "core/config.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "support/tls.hpp"

namespace sk {
namespace {

// A temporary folder whose name holds a space, because paths with spaces must work everywhere.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "sk config XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

  fs::path write(const fs::path& rel, const std::string& text,
                 fs::perms perms = fs::perms::owner_read | fs::perms::owner_write |
                                   fs::perms::group_read | fs::perms::others_read) {
    fs::path p = path_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    fs::permissions(p, perms);
    return p;
  }

 private:
  fs::path path_;
};

constexpr fs::perms kOwnerOnly = fs::perms::owner_read | fs::perms::owner_write;

// Env lookups are plain function pointers, so the fake environment is a global of this test.
std::map<std::string, std::string>& fake_env() {
  static std::map<std::string, std::string> env;
  return env;
}
std::optional<std::string> lookup_fake(const std::string& name) {
  auto it = fake_env().find(name);
  if (it == fake_env().end()) return std::nullopt;
  return it->second;
}

// The error text of loading `file`, or "" when it loads.
std::string error_of(const fs::path& file) {
  try {
    load_config(file, &lookup_fake);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// The error text for `toml`, or "" when it loads.
std::string load_error(const std::string& toml, fs::perms perms = kOwnerOnly) {
  TempDir dir;
  return error_of(dir.write("sk.toml", toml, perms));
}

// The smallest valid config; rows add to it. Its last line is line 7.
const std::string kBase = R"([site]
database = "CM_CEN"
[servers.cm1]
[servers.cm2]
[servers.hd1]
[roles]
active = "cm1"
)";

// A site with a code and an API, ending in an open [dcs] table on line 9; dcs rows add its keys from
// line 10. kDcsOk is a valid etcd and name (lines 10 and 11).
const std::string kDcsHead = R"([site]
code = "CEN"
database = "CM_CEN"
[servers.cm1]
[roles]
active = "cm1"
[http]
listen = "127.0.0.1:8008"
[dcs]
)";
const std::string kDcsOk = kDcsHead + "etcd = [\"http://127.0.0.1:2379\"]\nname = \"mgr1\"\n";

std::string dcs_etcd(const std::string& urls) { return kDcsHead + "etcd = [" + urls + "]\nname = \"mgr1\"\n"; }

struct Row {
  const char* name;
  std::string toml;
  std::string expected;  // substring after the file name
};

class CoreConfigErrors : public ::testing::TestWithParam<Row> {};

TEST_P(CoreConfigErrors, ReportsFileLineColumnKey) {
  const Row& row = GetParam();
  std::string err = load_error(row.toml);
  ASSERT_FALSE(err.empty()) << "expected an error for:\n" << row.toml;
  EXPECT_NE(err.find("sk.toml:" + row.expected), std::string::npos)
      << "got: " << err << "\nwanted: sk.toml:" << row.expected;
}

const Row kRows[] = {
    // unknown keys, at every level
    {"unknown_table", kBase + "[failovr]\nmode = \"manual\"\n",
     "8:2: failovr: unknown key, did you mean \"failover\"?"},
    {"unknown_top_key", "colour = 1\n" + kBase, "1:1: colour: unknown key, expected one of: "},
    {"unknown_site_key", "[site]\ndatabase = \"x\"\ndatabse = \"y\"\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n",
     "3:1: site.databse: unknown key, did you mean \"database\"?"},
    {"unknown_server_key", kBase + "[servers.cm3]\npasword = \"pw\"\n",
     "9:1: servers.cm3.pasword: unknown key, did you mean \"password\"?"},
    {"unknown_schedule_key", kBase + "[[schedule]]\njob = \"backup\"\ncron = \"0 2 * * *\"\nzone = \"UTC\"\n",
     "11:1: schedule[0].zone: unknown key"},
    {"unknown_key_lists_choices", kBase + "[http]\nport = 80\n",
     "9:1: http.port: unknown key, expected one of: listen"},
    {"unknown_roles_key", kBase + "replica = [\"hd1\"]\n",
     "8:1: roles.replica: unknown key, did you mean \"replicas\"?"},
    // wrong types
    {"string_for_integer", kBase + "[archive]\nkeep = \"7\"\n",
     "9:8: archive.keep: expected an integer, got \"7\""},
    {"integer_for_string", kBase + "[servers.cm3]\nhost = 5\n",
     "9:8: servers.cm3.host: expected a string, got 5"},
    {"string_for_array", kBase + "[replica]\nreaders = \"helpdesk\"\n",
     "9:11: replica.readers: expected an array, got \"helpdesk\""},
    {"array_element", kBase + "[replica]\nvalidate = [\"SELECT 1\", 2]\n",
     "9:25: replica.validate[1]: expected a string, got 2"},
    {"boolean", kBase + "[[schedule]]\njob = \"backup\"\nevery = \"1h\"\ncatch_up = \"yes\"\n",
     "11:12: schedule[0].catch_up: expected a boolean, got \"yes\""},
    {"table_expected", "site = 5\n", "1:8: site: expected a table, got 5"},
    {"schedule_not_array", "schedule = \"daily\"\n" + kBase,
     "1:12: schedule: expected an array, got \"daily\""},
    // durations and sizes
    {"bad_duration", kBase + "[archive]\nmax_age = \"5 parsecs\"\n",
     "9:11: archive.max_age: expected a duration such as \"5s\", got \"5 parsecs\""},
    {"integer_duration", kBase + "[replica]\nswap_timeout = 5\n",
     "9:16: replica.swap_timeout: expected a duration such as \"5s\", got 5"},
    {"zero_duration", kBase + "[failover]\nprobe_interval = \"0s\"\n",
     "9:18: failover.probe_interval: expected a duration above zero"},
    {"bad_size", kBase + "[failover]\nmax_lag = \"16 parsecs\"\n",
     "9:11: failover.max_lag: expected a size such as \"16MB\", got \"16 parsecs\""},
    {"negative_size", kBase + "[failover]\nmax_lag = -1\n",
     "9:11: failover.max_lag: expected a size such as \"16MB\", got -1"},
    // a malformed number is refused whole, not read by its prefix
    {"duration_two_dots", kBase + "[archive]\nmax_age = \"1.2.3d\"\n",
     "9:11: archive.max_age: expected a duration such as \"5s\", got \"1.2.3d\""},
    {"duration_trailing_garbage", kBase + "[replica]\nswap_timeout = \"5sx\"\n",
     "9:16: replica.swap_timeout: expected a duration such as \"5s\", got \"5sx\""},
    {"duration_sign", kBase + "[failover]\nprobe_timeout = \"-1s\"\n",
     "9:17: failover.probe_timeout: expected a duration such as \"5s\", got \"-1s\""},
    {"duration_no_unit_at_end", kBase + "[[schedule]]\njob = \"capture\"\nevery = \"1h30\"\n",
     "10:9: schedule[0].every: expected a duration such as \"5s\", got \"1h30\""},
    {"duration_space", kBase + "[[schedule]]\njob = \"backup\"\nevery = \"1h\"\nretry_delay = \" 5m\"\n",
     "11:15: schedule[0].retry_delay: expected a duration such as \"5s\", got \" 5m\""},
    {"deep_on_a_backup", kBase + "[[schedule]]\njob = \"backup\"\nevery = \"1h\"\ndeep = true\n",
     "11:8: schedule[0].deep: expected only with job = \"verify\""},
    {"copy_without_a_destination", kBase + "[[schedule]]\njob = \"copy\"\nevery = \"1h\"\n",
     "9:7: schedule[0].job: expected [[archive.copy]] destinations for job = \"copy\""},
    {"deep_not_a_boolean", kBase + "[[schedule]]\njob = \"verify\"\nevery = \"1h\"\ndeep = \"yes\"\n",
     "11:8: schedule[0].deep: expected a boolean, got \"yes\""},
    {"duration_empty", kBase + "[archive]\nmax_age = \"\"\n",
     "9:11: archive.max_age: expected a duration such as \"5s\", got \"\""},
    {"size_two_dots", kBase + "[failover]\nmax_lag = \"1.5.3MB\"\n",
     "9:11: failover.max_lag: expected a size such as \"16MB\", got \"1.5.3MB\""},
    {"size_trailing_space", kBase + "[failover]\nmax_lag = \"16MB \"\n",
     "9:11: failover.max_lag: expected a size such as \"16MB\", got \"16MB \""},
    {"size_unit_only", kBase + "[failover]\nmax_lag = \"MB\"\n",
     "9:11: failover.max_lag: expected a size such as \"16MB\", got \"MB\""},
    {"size_overflow", kBase + "[failover]\nmax_lag = \"99999999TB\"\n",
     "9:11: failover.max_lag: expected a size such as \"16MB\", got \"99999999TB\""},
    // integer ranges
    {"port_zero", kBase + "[servers.cm3]\nport = 0\n",
     "9:8: servers.cm3.port: expected a port from 1 to 65535, got 0"},
    {"port_high", kBase + "[servers.cm3]\nport = 70000\n",
     "9:8: servers.cm3.port: expected a port from 1 to 65535, got 70000"},
    {"keep_zero", kBase + "[archive]\nkeep = 0\n", "9:8: archive.keep: expected an integer of at least 1, got 0"},
    {"jobs_high", kBase + "[replica]\njobs = 65\n", "9:8: replica.jobs: expected an integer from 1 to 64, got 65"},
    {"jobs_zero", kBase + "[replica]\njobs = 0\n", "9:8: replica.jobs: expected an integer from 1 to 64, got 0"},
    {"parallel_zero", kBase + "[replica]\nparallel = 0\n", "9:12: replica.parallel: expected an integer from 1 to 64, got 0"},
    {"parallel_text", kBase + "[replica]\nparallel = \"4\"\n", "9:12: replica.parallel: expected an integer, got \"4\""},
    {"failures_zero", kBase + "[failover]\nfailures = 0\n",
     "9:12: failover.failures: expected an integer of at least 1, got 0"},
    {"headroom_negative", kBase + "[failover]\nserial_headroom = -1\n",
     "9:19: failover.serial_headroom: expected an integer of at least 0, got -1"},
    // enumerations
    {"engine", kBase + "[servers.cm3]\nengine = \"oracle\"\n",
     "9:10: servers.cm3.engine: expected postgresql or sqlite or sqlserver, got \"oracle\""},
    {"transport", kBase + "[servers.cm3]\ntransport = \"pigeon\"\n",
     "9:13: servers.cm3.transport: expected native or odbc, got \"pigeon\""},
    {"sqlserver_native", kBase + "[servers.ms]\nengine = \"sqlserver\"\ntransport = \"native\"\n",
     "10:13: servers.ms.transport: expected \"odbc\" for a sqlserver server"},
    {"sqlite_needs_dir", kBase + "[servers.lite]\nengine = \"sqlite\"\n",
     "8:1: servers.lite.data_dir: expected the database directory of a sqlite server"},
    {"mode", kBase + "[failover]\nmode = \"auto\"\n",
     "9:8: failover.mode: expected manual or automatic, got \"auto\""},
    // roles
    {"active_undefined", "[site]\ndatabase = \"x\"\n[servers.cm1]\n[roles]\nactive = \"cm9\"\n",
     "5:10: roles.active: expected a server defined in [servers], got \"cm9\""},
    {"standby_undefined", kBase + "standby = \"cm9\"\n",
     "8:11: roles.standby: expected a server defined in [servers], got \"cm9\""},
    {"replica_undefined", kBase + "replicas = [\"hd1\", \"hd9\"]\n",
     "8:20: roles.replicas[1]: expected a server defined in [servers], got \"hd9\""},
    {"replica_undefined_beside_bad_type", kBase + "replicas = [3, \"hd9\"]\n",
     "8:16: roles.replicas[1]: expected a server defined in [servers], got \"hd9\""},
    {"two_roles", kBase + "standby = \"cm1\"\n",
     "8:11: roles.standby: expected a server in only one role, but \"cm1\" is already roles.active"},
    {"replica_twice", kBase + "replicas = [\"hd1\", \"hd1\"]\n",
     "8:20: roles.replicas[1]: expected a server in only one role, but \"hd1\" is already roles.replicas[0]"},
    {"engine_mismatch", kBase + "standby = \"lite\"\n[servers.lite]\nengine = \"sqlite\"\ndata_dir = \"d\"\n",
     "8:11: roles.standby: expected a postgresql server like the active one, but \"lite\" is sqlite"},
    // required keys
    {"missing_database", "[site]\ncode = \"CEN\"\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n",
     "1:1: site.database: expected the site database name (or databases, a list), but it is missing"},
    {"missing_site", "[servers.cm1]\n[roles]\nactive = \"cm1\"\n",
     "1:1: site.database: expected the site database name (or databases, a list), but it is missing"},
    {"missing_active", "[site]\ndatabase = \"x\"\n[servers.cm1]\n[roles]\nstandby = \"cm1\"\n",
     "4:1: roles.active: expected the name of the active server, but it is missing"},
    // argv arrays
    {"empty_argv", kBase + "[failover]\nfence = []\n",
     "9:9: failover.fence: expected a command as an argv array"},
    {"empty_program", kBase + "[archive]\nafter_backup = [\"\", \"{backup}\"]\n",
     "9:16: archive.after_backup: expected a command as an argv array"},
    {"argv_not_array", kBase + "[alerts]\ncommand = \"page-oncall {job}\"\n",
     "9:11: alerts.command: expected an array, got \"page-oncall {job}\""},
    // schedules
    {"schedule_no_trigger", kBase + "[[schedule]]\njob = \"backup\"\n",
     "8:1: schedule[0].cron: expected one of cron, every or after"},
    {"schedule_two_triggers", kBase + "[[schedule]]\njob = \"backup\"\ncron = \"0 2 * * *\"\nevery = \"1h\"\n",
     "11:9: schedule[0].every: expected only one of cron, every or after"},
    {"schedule_later_trigger_reported", kBase + "[[schedule]]\njob = \"refresh\"\nevery = \"1h\"\ncron = \"0 2 * * *\"\n",
     "11:8: schedule[0].cron: expected only one of cron, every or after"},
    {"schedule_delay_without_after", kBase + "[[schedule]]\njob = \"backup\"\nevery = \"1h\"\ndelay = \"2h\"\n",
     "11:9: schedule[0].delay: expected only together with after"},
    {"schedule_job", kBase + "[[schedule]]\njob = \"dance\"\nevery = \"1h\"\n",
     "9:7: schedule[0].job: expected backup or refresh or capture or verify or check or copy, got \"dance\""},
    {"schedule_missing_job", kBase + "[[schedule]]\nevery = \"1h\"\n",
     "8:1: schedule[0].job: expected a job"},
    {"schedule_every", kBase + "[[schedule]]\njob = \"capture\"\nevery = \"often\"\n",
     "10:9: schedule[0].every: expected a duration such as \"5s\", got \"often\""},
    {"schedule_after_unscheduled", kBase + "[[schedule]]\njob = \"refresh\"\nafter = \"backup\"\n",
     "10:9: schedule[0].after: expected a job that has its own [[schedule]], got \"backup\""},
    {"schedule_after_cycle",
     kBase + "[[schedule]]\njob = \"refresh\"\nafter = \"verify\"\n[[schedule]]\njob = \"verify\"\nafter = \"refresh\"\n",
     "10:9: schedule[0].after: expected a job that runs from cron or every"},
    // http
    {"listen_no_port", kBase + "[http]\nlisten = \"localhost\"\n",
     "9:10: http.listen: expected host:port such as \"127.0.0.1:8008\", got \"localhost\""},
    {"listen_bad_port", kBase + "[http]\nlisten = \"127.0.0.1:99999\"\n", "9:10: http.listen: expected host:port"},
    {"listen_bare_ipv6", kBase + "[http]\nlisten = \"::1:8008\"\n", "9:10: http.listen: expected host:port"},
    {"listen_host_name", kBase + "[http]\nlisten = \"localhost:8008\"\n",
     "9:10: http.listen: expected an IP address and port such as \"127.0.0.1:8008\" or \"[::1]:8008\", got "
     "\"localhost:8008\""},
    {"listen_other_name", kBase + "[http]\nlisten = \"foo:8008\"\n", "9:10: http.listen: expected an IP address"},
    {"listen_no_host", kBase + "[http]\nlisten = \":8008\"\n", "9:10: http.listen: expected an IP address"},
    {"listen_bad_ipv6", kBase + "[http]\nlisten = \"[::g]:8008\"\n", "9:10: http.listen: expected an IP address"},
    {"listen_short_ipv4", kBase + "[http]\nlisten = \"127.1:8008\"\n", "9:10: http.listen: expected an IP address"},
    {"listen_port_zero", kBase + "[http]\nlisten = \"127.0.0.1:0\"\n", "9:10: http.listen: expected host:port"},
    {"max_connections_zero", kBase + "[http]\nmax_connections = 0\n",
     "9:19: http.max_connections: expected an integer from 1 to 10000, got 0"},
    {"max_connections_type", kBase + "[http]\nmax_connections = \"64\"\n",
     "9:19: http.max_connections: expected an integer, got \"64\""},
    {"token_file_type", kBase + "[http]\ntoken_file = 5\n", "9:14: http.token_file: expected a string, got 5"},
    {"token_file_empty_path", kBase + "[http]\ntoken_file = \"\"\n", "9:14: http.token_file: expected a path, got \"\""},
    {"token_file_missing", kBase + "[http]\ntoken_file = \"secrets/http.token\"\n",
     "9:14: http.token_file: expected a readable file, cannot read "},
    {"tls_cert_without_key", kBase + "[http]\ntls_cert = \"tls/cert.pem\"\n",
     "9:12: http.tls_cert: expected tls_cert and tls_key together, but tls_key is missing"},
    {"tls_key_without_cert", kBase + "[http]\ntls_key = \"tls/key.pem\"\n",
     "9:11: http.tls_key: expected tls_cert and tls_key together, but tls_cert is missing"},
    {"tls_cert_missing", kBase + "[http]\ntls_cert = \"tls/cert.pem\"\ntls_key = \"tls/key.pem\"\n",
     "9:12: http.tls_cert: expected a readable file, cannot read "},
    {"tls_key_missing", kBase + "[http]\ntls_cert = \"tls/cert.pem\"\ntls_key = \"tls/key.pem\"\n",
     "10:11: http.tls_key: expected a readable file, cannot read "},
    {"tls_key_type", kBase + "[http]\ntls_cert = \"tls/cert.pem\"\ntls_key = [\"tls/key.pem\"]\n",
     "10:11: http.tls_key: expected a string, got an array"},
    {"http_unknown_key", kBase + "[http]\ntoken = \"x\"\n",
     "9:1: http.token: unknown key, expected one of: listen, max_connections, tls_cert, tls_key, token_file"},
    // identifiers
    {"database_too_long", "[site]\ndatabase = \"" + std::string(51, 'd') + "\"\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n",
     "2:12: site.database: expected a name of at most 50 bytes, got 51 bytes"},
    {"database_nul", "[site]\ndatabase = \"CM\\u0000X\"\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n",
     "2:12: site.database: expected a name without NUL bytes"},
    // [archive] kinds
    {"kinds_unknown", kBase + "[archive]\nkinds = [\"logical\", \"incremental\"]\n",
     "9:21: archive.kinds[1]: expected logical or physical, got \"incremental\""},
    {"kinds_twice", kBase + "[archive]\nkinds = [\"logical\", \"logical\"]\n",
     "9:21: archive.kinds[1]: expected each kind once, got \"logical\" again"},
    {"kinds_physical_alone", kBase + "[archive]\nkinds = [\"physical\"]\n",
     "9:9: archive.kinds: expected \"logical\" among the kinds"},
    {"kinds_empty", kBase + "[archive]\nkinds = []\n", "9:9: archive.kinds: expected \"logical\" among the kinds"},
    {"wal_stream_without_physical", kBase + "[archive]\nwal_stream = true\n",
     "9:14: archive.wal_stream: expected kinds to include \"physical\" with wal_stream = true"},
    {"wal_stream_type", kBase + "[archive]\nkinds = [\"logical\", \"physical\"]\nwal_stream = \"yes\"\n",
     "10:14: archive.wal_stream: expected a boolean"},
    // [servers.NAME] refresh
    {"refresh_unknown", kBase + "[servers.hd2]\ndata_dir = \"hd2\"\nrefresh = \"rsync\"\n",
     "10:11: servers.hd2.refresh: expected logical or physical, got \"rsync\""},
    {"refresh_physical_without_data_dir", kBase + "[servers.hd2]\nrefresh = \"physical\"\n",
     "9:11: servers.hd2.refresh: expected data_dir with refresh = \"physical\""},
    {"refresh_physical_without_kinds", kBase + "[servers.hd2]\ndata_dir = \"hd2\"\nrefresh = \"physical\"\n",
     "10:11: servers.hd2.refresh: expected [archive] kinds to include \"physical\" with refresh = \"physical\""},
    {"refresh_physical_sqlite", kBase + "[servers.hd2]\nengine = \"sqlite\"\ndata_dir = \"hd2\"\nrefresh = \"physical\"\n",
     "11:11: servers.hd2.refresh: expected \"logical\" for a sqlite server"},
    // [site] databases
    {"databases_and_database", "[site]\ndatabase = \"A\"\ndatabases = [\"A\", \"B\"]\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n",
     "3:13: site.databases: expected either database (one) or databases (a list), not both"},
    {"databases_empty", "[site]\ndatabases = []\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n",
     "2:13: site.databases: expected at least one database name, got an empty list"},
    {"databases_twice", "[site]\ndatabases = [\"CM_CEN\", \"Reports\", \"cm_cen\"]\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n",
     "2:35: site.databases[2]: expected each database once, got \"cm_cen\" again"},
    {"databases_too_long", "[site]\ndatabases = [\"A\", \"" + std::string(51, 'd') + "\"]\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n",
     "2:19: site.databases[1]: expected a database name of at most 50 bytes, got 51 bytes"},
    {"databases_type", "[site]\ndatabases = [\"A\", 7]\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n",
     "2:19: site.databases[1]: expected a string, got 7"},
    {"databases_not_array", "[site]\ndatabases = \"A\"\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n",
     "2:13: site.databases: expected an array"},
    {"server_name_too_long", kBase + "[servers." + std::string(64, 's') + "]\n",
     "8:10: servers." + std::string(64, 's') + ": expected a server name of at most 63 bytes"},
    {"server_name_nul", kBase + "[servers.\"a\\u0000b\"]\n",
     "8:10: servers.\"a\\u0000b\": expected a server name without NUL bytes"},
    {"reader_too_long", kBase + "[replica]\nreaders = [\"" + std::string(64, 'r') + "\"]\n",
     "9:12: replica.readers[0]: expected a name of at most 63 bytes, got 64 bytes"},
    {"reader_nul", kBase + "[replica]\nreaders = [\"ok\", \"he\\u0000lp\"]\n",
     "9:18: replica.readers[1]: expected a name without NUL bytes"},
    // control characters would split log lines and settings files, or forge an entry
    {"database_newline", "[site]\ndatabase = \"CM\\nX\"\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n",
     "2:12: site.database: expected a name without control characters, got \"CM\\u000aX\""},
    {"database_escape", "[site]\ndatabase = \"CM\\u001b[31m\"\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n",
     "2:12: site.database: expected a name without control characters, got \"CM\\u001b[31m\""},
    {"site_code_newline", "[site]\ncode = \"CEN\\n\"\ndatabase = \"x\"\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n",
     "2:8: site.code: expected a site code without control characters, got \"CEN\\u000a\""},
    {"server_name_newline", kBase + "[servers.\"a\\nb\"]\n",
     "8:10: servers.\"a\\u000ab\": expected a server name without control characters"},
    {"reader_tab", kBase + "[replica]\nreaders = [\"help\\tdesk\"]\n",
     "9:12: replica.readers[0]: expected a name without control characters, got \"help\\u0009desk\""},
    {"user_del", kBase + "[servers.cm3]\nuser = \"pg\\u007f\"\n",
     "9:8: servers.cm3.user: expected a user name without control characters, got \"pg\\u007f\""},
    {"user_too_long", kBase + "[servers.cm3]\nuser = \"" + std::string(64, 'u') + "\"\n",
     "9:8: servers.cm3.user: expected a user name of at most 63 bytes, got 64 bytes"},
    {"host_newline", kBase + "[servers.cm3]\nhost = \"db\\nhost=evil\"\n",
     "9:8: servers.cm3.host: expected a host without control characters, got \"db\\u000ahost=evil\""},
    {"odbc_driver_control", kBase + "[servers.cm3]\nodbc_driver = \"PostgreSQL\\r\"\n",
     "9:15: servers.cm3.odbc_driver: expected an ODBC driver name without control characters"},
    {"odbc_driver_separator", kBase + "[servers.cm3]\nodbc_driver = \"PostgreSQL};UID=x\"\n",
     "9:15: servers.cm3.odbc_driver: expected an ODBC driver name without ; { } = or surrounding spaces, "
     "got \"PostgreSQL};UID=x\""},
    {"odbc_driver_space", kBase + "[servers.cm3]\nodbc_driver = \" PostgreSQL\"\n",
     "9:15: servers.cm3.odbc_driver: expected an ODBC driver name without ; { } = or surrounding spaces"},
    {"timezone_newline", kBase + "[[schedule]]\njob = \"backup\"\ncron = \"0 2 * * *\"\ntimezone = \"UTC\\n\"\n",
     "11:12: schedule[0].timezone: expected a time zone without control characters, got \"UTC\\u000a\""},
    {"standby_control", kBase + "standby = \"cm\\u00012\"\n",
     "8:11: roles.standby: expected a server defined in [servers], got \"cm\\u00012\""},
    {"path_newline", kBase + "[servers.cm3]\ndata_dir = \"data\\nport = 1\"\n",
     "9:12: servers.cm3.data_dir: expected a path without control characters, got \"data\\u000aport = 1\""},
    {"program_control", kBase + "[alerts]\ncommand = [\"/usr/bin/page\\u001b\", \"{job}\"]\n",
     "9:12: alerts.command[0]: expected a program path without control characters"},
    {"argument_nul", kBase + "[failover]\nfence = [\"/usr/local/bin/fence\", \"a\\u0000b\"]\n",
     "9:34: failover.fence[1]: expected an argument without NUL bytes"},
    {"validate_control", kBase + "[replica]\nvalidate = [\"SELECT 1\\u001b\"]\n",
     "9:13: replica.validate[0]: expected an SQL query without control characters other than tab and newline"},
    // an empty string wherever a value is required
    {"site_code_empty", "[site]\ncode = \"\"\ndatabase = \"x\"\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n",
     "2:8: site.code: expected a site code, got an empty one"},
    {"database_empty", "[site]\ndatabase = \"\"\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n",
     "2:12: site.database: expected a name, got an empty one"},
    {"host_empty", kBase + "[servers.cm3]\nhost = \"\"\n", "9:8: servers.cm3.host: expected a host, got an empty one"},
    {"user_empty", kBase + "[servers.cm3]\nuser = \"\"\n",
     "9:8: servers.cm3.user: expected a user name, got an empty one"},
    {"odbc_driver_empty", kBase + "[servers.cm3]\ntransport = \"odbc\"\nodbc_driver = \"\"\n",
     "10:15: servers.cm3.odbc_driver: expected an ODBC driver name, got an empty one"},
    {"password_empty", kBase + "[servers.cm3]\npassword = \"\"\n",
     "9:12: servers.cm3.password: expected a password, got an empty one"},
    {"data_dir_empty", kBase + "[servers.cm3]\ndata_dir = \"\"\n", "9:12: servers.cm3.data_dir: expected a path, got \"\""},
    {"bin_dir_empty", kBase + "[servers.cm3]\nbin_dir = \"\"\n", "9:11: servers.cm3.bin_dir: expected a path, got \"\""},
    {"password_file_empty", kBase + "[servers.cm3]\npassword_file = \"\"\n",
     "9:17: servers.cm3.password_file: expected a path, got \"\""},
    {"archive_path_empty", kBase + "[archive]\npath = \"\"\n", "9:8: archive.path: expected a path, got \"\""},
    {"active_empty", "[site]\ndatabase = \"x\"\n[servers.cm1]\n[roles]\nactive = \"\"\n",
     "5:10: roles.active: expected a server defined in [servers], got \"\""},
    {"replica_empty", kBase + "replicas = [\"\"]\n",
     "8:13: roles.replicas[0]: expected a server defined in [servers], got \"\""},
    {"reader_empty", kBase + "[replica]\nreaders = [\"helpdesk\", \"\"]\n",
     "9:24: replica.readers[1]: expected a name, got an empty one"},
    {"validate_empty", kBase + "[replica]\nvalidate = [\"SELECT 1\", \" \\n \"]\n",
     "9:25: replica.validate[1]: expected an SQL query, got an empty one"},
    {"argument_empty", kBase + "[failover]\nfence = [\"/usr/local/bin/fence\", \"\"]\n",
     "9:34: failover.fence[1]: expected an argument, got an empty one"},
    {"alias_empty_program", kBase + "[failover]\nalias = [\"\"]\n",
     "9:9: failover.alias: expected a command as an argv array such as [\"/usr/local/bin/tool\", \"arg\"], "
     "got an empty program"},
    {"cron_empty", kBase + "[[schedule]]\njob = \"backup\"\ncron = \"\"\n",
     "10:8: schedule[0].cron: expected a cron expression, got an empty one"},
    {"after_empty", kBase + "[[schedule]]\njob = \"refresh\"\nafter = \"\"\n",
     "10:9: schedule[0].after: expected backup or refresh or capture or verify or check or copy, got \"\""},
    {"timezone_empty", kBase + "[[schedule]]\njob = \"backup\"\nevery = \"1h\"\ntimezone = \"\"\n",
     "11:12: schedule[0].timezone: expected a time zone, got an empty one"},
    // paths
    {"empty_path", kBase + "[state]\npath = \"\"\n", "9:8: state.path: expected a path, got \"\""},
    // sk.toml, the config itself, is a file that no folder can be made in
    {"archive_under_a_file", kBase + "[archive]\npath = \"sk.toml/archive\"\n",
     "9:8: archive.path: expected a folder that sitekeeper can create or write, but "},
    {"archive_is_a_file", kBase + "[archive]\npath = \"sk.toml\"\n",
     "9:8: archive.path: expected a folder that sitekeeper can create or write, but "},
    {"state_under_a_file", kBase + "[state]\npath = \"sk.toml/state/sitekeeper.db\"\n",
     "9:8: state.path: expected a file that sitekeeper can create or write, but "},
    {"state_is_a_folder", kBase + "[state]\npath = \".\"\n",
     "9:8: state.path: expected a file that sitekeeper can create or write, but "},
    {"archive_under_a_system_file", kBase + "[archive]\npath = \"/dev/null/archive\"\n",
     "9:8: archive.path: expected a folder that sitekeeper can create or write, but /dev/null is not a folder"},
    // [[archive.copy]]
    {"copy_rate_junk", kBase + "[[archive.copy]]\npath = \"/mnt/offsite\"\nrate = \"fast\"\n",
     "10:8: archive.copy[0].rate: expected a rate such as \"10MB/s\" or \"512kB/s\", got \"fast\""},
    {"copy_rate_zero", kBase + "[[archive.copy]]\npath = \"/mnt/offsite\"\nrate = \"0MB/s\"\n",
     "10:8: archive.copy[0].rate: expected a rate above zero, got \"0MB/s\""},
    {"copy_rate_no_per_second", kBase + "[[archive.copy]]\npath = \"/mnt/offsite\"\nrate = \"10MB\"\n",
     "10:8: archive.copy[0].rate: expected a rate such as \"10MB/s\""},
    {"copy_rate_integer", kBase + "[[archive.copy]]\npath = \"/mnt/offsite\"\nrate = 1000\n",
     "10:8: archive.copy[0].rate: expected a rate such as \"10MB/s\" or \"512kB/s\", got 1000"},
    {"copy_rate_missing", kBase + "[[archive.copy]]\npath = \"/mnt/offsite\"\n",
     "8:1: archive.copy[0].rate: expected a rate such as \"10MB/s\", but it is missing"},
    {"copy_path_missing", kBase + "[[archive.copy]]\nrate = \"1MB/s\"\n",
     "8:1: archive.copy[0].path: expected a destination folder"},
    {"copy_path_relative", kBase + "[[archive.copy]]\npath = \"offsite\"\nrate = \"1MB/s\"\n",
     "9:8: archive.copy[0].path: expected an absolute path, got \"offsite\""},
    {"copy_path_inside_archive", kBase + "[archive]\npath = \"/srv/archive\"\n[[archive.copy]]\npath = \"/srv/archive/off\"\nrate = \"1MB/s\"\n",
     "11:8: archive.copy[0].path: expected a folder outside the archive, but \"/srv/archive/off\" is inside \"/srv/archive\""},
    {"copy_path_is_archive", kBase + "[archive]\npath = \"/srv/archive\"\n[[archive.copy]]\npath = \"/srv/archive/\"\nrate = \"1MB/s\"\n",
     "11:8: archive.copy[0].path: expected a folder outside the archive"},
    {"copy_path_holds_archive", kBase + "[archive]\npath = \"/srv/archive\"\n[[archive.copy]]\npath = \"/srv\"\nrate = \"1MB/s\"\n",
     "11:8: archive.copy[0].path: expected a folder that does not hold the archive, but \"/srv/archive\" is inside \"/srv\""},
    {"copy_twice", kBase + "[[archive.copy]]\npath = \"/mnt/a\"\nrate = \"1MB/s\"\n[[archive.copy]]\npath = \"/mnt/a/\"\nrate = \"1MB/s\"\n",
     "12:8: archive.copy[1].path: expected each destination once, but \"/mnt/a\" is listed before"},
    {"copy_unknown_key", kBase + "[[archive.copy]]\npath = \"/mnt/a\"\nrate = \"1MB/s\"\nrte = 1\n",
     "11:1: archive.copy[0].rte: unknown key, did you mean \"rate\"?"},
    {"copy_not_a_table", kBase + "[archive]\ncopy = \"/mnt/a\"\n", "9:8: archive.copy: expected an array, got \"/mnt/a\""},
    // [archive] files: the site's files, copied into every generation
    {"site_files_relative", kBase + "[archive]\nfiles = [\"etc/site\"]\n",
     "9:10: archive.files[0]: expected an absolute path, got \"etc/site\""},
    {"site_files_dotdot", kBase + "[archive]\nfiles = [\"/etc/site\", \"/srv/../etc\"]\n",
     "9:23: archive.files[1]: expected a path without empty, \".\" or \"..\" components, got \"/srv/../etc\""},
    {"site_files_root", kBase + "[archive]\nfiles = [\"/\"]\n",
     "9:10: archive.files[0]: expected a file or folder, not the root folder"},
    {"site_files_twice", kBase + "[archive]\nfiles = [\"/etc/site\", \"/etc/site\"]\n",
     "9:23: archive.files[1]: expected each path once, but \"/etc/site\" is listed before"},
    {"site_files_nested", kBase + "[archive]\nfiles = [\"/etc/site\", \"/etc/site/reports\"]\n",
     "9:23: archive.files[1]: expected each path once, but \"/etc/site/reports\" overlaps \"/etc/site\", listed "
     "before"},
    {"site_files_inside_archive", kBase + "[archive]\npath = \"/tmp/sk-cfg-archive\"\nfiles = [\"/tmp/sk-cfg-archive/x\"]\n",
     "10:10: archive.files[0]: expected a path outside the archive \"/tmp/sk-cfg-archive\", but "
     "\"/tmp/sk-cfg-archive/x\" is inside it"},
    {"site_files_hold_archive", kBase + "[archive]\npath = \"/tmp/sk-cfg-archive\"\nfiles = [\"/tmp\"]\n",
     "10:10: archive.files[0]: expected a path outside the archive \"/tmp/sk-cfg-archive\", but \"/tmp\" holds it"},
    {"site_files_type", kBase + "[archive]\nfiles = \"/etc/site\"\n",
     "9:9: archive.files: expected an array"},
    // [archive.secrets]
    {"secrets_relative_file", kBase + "[archive.secrets]\nfiles = [\"etc/site.key\"]\npassphrase_file = \"pp\"\n",
     "9:10: archive.secrets.files[0]: expected an absolute path, got \"etc/site.key\""},
    {"secrets_dotdot_file", kBase + "[archive.secrets]\nfiles = [\"/etc/ok\", \"/etc/../shadow\"]\n",
     "9:21: archive.secrets.files[1]: expected a path without empty, \".\" or \"..\" components, got \"/etc/../shadow\""},
    {"secrets_twice", kBase + "[archive.secrets]\nfiles = [\"/etc/k\", \"/etc/k\"]\n",
     "9:20: archive.secrets.files[1]: expected each file once, but \"/etc/k\" is listed before"},
    {"secrets_file_type", kBase + "[archive.secrets]\nfiles = [\"/etc/k\", 5]\n",
     "9:20: archive.secrets.files[1]: expected a string, got 5"},
    {"secrets_no_passphrase", kBase + "[archive.secrets]\nfiles = [\"/etc/site.key\"]\n",
     "9:9: archive.secrets.files: expected a passphrase for the secrets, but neither passphrase_file nor "
     "SITEKEEPER_SECRETS_PASSPHRASE is set"},
    {"secrets_passphrase_file_missing", kBase + "[archive.secrets]\npassphrase_file = \"nope\"\n",
     "9:19: archive.secrets.passphrase_file: expected a readable file, cannot read "},
    {"secrets_passphrase_in_config", kBase + "[archive.secrets]\npassphrase = \"hunter2hunter2\"\n",
     "9:1: archive.secrets.passphrase: unknown key, expected one of: files, passphrase_file"},
    {"secrets_not_a_table", kBase + "[archive]\nsecrets = [\"/etc/k\"]\n",
     "9:11: archive.secrets: expected a table, got an array"},
    // [dcs]: etcd endpoints
    {"dcs_etcd_missing", kDcsHead + "name = \"mgr1\"\n",
     "9:1: dcs.etcd: expected the etcd members' client URLs, such as [\"http://10.0.0.1:2379\"], but it is missing"},
    {"dcs_etcd_empty", dcs_etcd(""), "10:8: dcs.etcd: expected at least one etcd endpoint, got an empty list"},
    {"dcs_etcd_not_array", kDcsHead + "etcd = \"http://127.0.0.1:2379\"\nname = \"mgr1\"\n",
     "10:8: dcs.etcd: expected an array, got \"http://127.0.0.1:2379\""},
    {"dcs_etcd_element_type", dcs_etcd("\"http://127.0.0.1:2379\", 2379"), "10:34: dcs.etcd[1]: expected a string, got 2379"},
    {"dcs_etcd_no_scheme", dcs_etcd("\"127.0.0.1:2379\""),
     "10:9: dcs.etcd[0]: expected an http:// or https:// URL such as \"http://10.0.0.1:2379\", got \"127.0.0.1:2379\""},
    {"dcs_etcd_other_scheme", dcs_etcd("\"unix://etcd.sock:1\""), "10:9: dcs.etcd[0]: expected an http:// or https:// URL"},
    {"dcs_etcd_upper_scheme", dcs_etcd("\"HTTP://10.0.0.1:2379\""), "10:9: dcs.etcd[0]: expected an http:// or https:// URL"},
    {"dcs_etcd_path", dcs_etcd("\"http://10.0.0.1:2379/v3\""),
     "10:9: dcs.etcd[0]: expected scheme://host:port without a path, query or user name, got \"http://10.0.0.1:2379/v3\""},
    {"dcs_etcd_trailing_slash", dcs_etcd("\"http://10.0.0.1:2379/\""),
     "10:9: dcs.etcd[0]: expected scheme://host:port without a path"},
    {"dcs_etcd_query", dcs_etcd("\"http://10.0.0.1:2379?x=1\""), "10:9: dcs.etcd[0]: expected scheme://host:port without a path"},
    {"dcs_etcd_userinfo", dcs_etcd("\"http://root:pw@10.0.0.1:2379\""),
     "10:9: dcs.etcd[0]: expected scheme://host:port without a path, query or user name"},
    {"dcs_etcd_no_port", dcs_etcd("\"http://etcd1.example\""),
     "10:9: dcs.etcd[0]: expected a port after the host, such as \"http://10.0.0.1:2379\", got \"http://etcd1.example\""},
    {"dcs_etcd_ipv6_no_port", dcs_etcd("\"http://[::1]\""), "10:9: dcs.etcd[0]: expected a port after the host"},
    {"dcs_etcd_port_zero", dcs_etcd("\"http://10.0.0.1:0\""),
     "10:9: dcs.etcd[0]: expected a port from 1 to 65535 after the host, got \"http://10.0.0.1:0\""},
    {"dcs_etcd_port_high", dcs_etcd("\"http://10.0.0.1:65536\""), "10:9: dcs.etcd[0]: expected a port from 1 to 65535"},
    {"dcs_etcd_port_empty", dcs_etcd("\"http://10.0.0.1:\""), "10:9: dcs.etcd[0]: expected a port from 1 to 65535"},
    {"dcs_etcd_port_text", dcs_etcd("\"http://10.0.0.1:client\""), "10:9: dcs.etcd[0]: expected a port from 1 to 65535"},
    {"dcs_etcd_bare_ipv6", dcs_etcd("\"http://::1:2379\""),
     "10:9: dcs.etcd[0]: expected an IPv6 address in brackets, such as \"http://[::1]:2379\", got \"http://::1:2379\""},
    {"dcs_etcd_bad_ipv6", dcs_etcd("\"http://[::g]:2379\""),
     "10:9: dcs.etcd[0]: expected a host name, an IPv4 address or an [IPv6] address before the port, got "
     "\"http://[::g]:2379\""},
    {"dcs_etcd_bad_ipv4", dcs_etcd("\"http://10.0.0.256:2379\""), "10:9: dcs.etcd[0]: expected a host name, an IPv4 address"},
    {"dcs_etcd_short_ipv4", dcs_etcd("\"http://10.1:2379\""), "10:9: dcs.etcd[0]: expected a host name, an IPv4 address"},
    {"dcs_etcd_no_host", dcs_etcd("\"http://:2379\""), "10:9: dcs.etcd[0]: expected a host name, an IPv4 address"},
    {"dcs_etcd_bad_name", dcs_etcd("\"http://etcd_1.example:2379\""), "10:9: dcs.etcd[0]: expected a host name"},
    {"dcs_etcd_name_dash", dcs_etcd("\"http://-etcd.example:2379\""), "10:9: dcs.etcd[0]: expected a host name"},
    {"dcs_etcd_name_empty_label", dcs_etcd("\"http://etcd..example:2379\""), "10:9: dcs.etcd[0]: expected a host name"},
    {"dcs_etcd_control", dcs_etcd("\"http://etcd\\n1:2379\""),
     "10:9: dcs.etcd[0]: expected a host name, an IPv4 address or an [IPv6] address before the port, got "
     "\"http://etcd\\u000a1:2379\""},
    {"dcs_etcd_twice", dcs_etcd("\"http://etcd1:2379\", \"http://ETCD1:2379\""),
     "10:30: dcs.etcd[1]: expected each endpoint once, but \"http://ETCD1:2379\" is listed before"},
    {"dcs_etcd_mixed_schemes", dcs_etcd("\"https://etcd1:2379\", \"http://etcd2:2379\""),
     "10:31: dcs.etcd[1]: expected https:// like the first endpoint, got \"http://etcd2:2379\""},
    // [dcs]: name
    {"dcs_name_missing", kDcsHead + "etcd = [\"http://127.0.0.1:2379\"]\n",
     "9:1: dcs.name: expected this manager's name, unique among the site's managers, such as \"mgr1\", but it is missing"},
    {"dcs_name_empty", kDcsHead + "etcd = [\"http://127.0.0.1:2379\"]\nname = \"\"\n",
     "11:8: dcs.name: expected a manager name of letters, digits, '_', '.' or '-', not starting with '.' or '-', got \"\""},
    {"dcs_name_slash", kDcsHead + "etcd = [\"http://127.0.0.1:2379\"]\nname = \"mgr/1\"\n",
     "11:8: dcs.name: expected a manager name of letters, digits, '_', '.' or '-', not starting with '.' or '-', got \"mgr/1\""},
    {"dcs_name_space", kDcsHead + "etcd = [\"http://127.0.0.1:2379\"]\nname = \"mgr 1\"\n",
     "11:8: dcs.name: expected a manager name of letters, digits"},
    {"dcs_name_dot", kDcsHead + "etcd = [\"http://127.0.0.1:2379\"]\nname = \".mgr1\"\n",
     "11:8: dcs.name: expected a manager name of letters, digits"},
    {"dcs_name_dash", kDcsHead + "etcd = [\"http://127.0.0.1:2379\"]\nname = \"-mgr1\"\n",
     "11:8: dcs.name: expected a manager name of letters, digits"},
    {"dcs_name_non_ascii", kDcsHead + "etcd = [\"http://127.0.0.1:2379\"]\nname = \"m\u00e9r\"\n",
     "11:8: dcs.name: expected a manager name of letters, digits"},
    {"dcs_name_too_long", kDcsHead + "etcd = [\"http://127.0.0.1:2379\"]\nname = \"" + std::string(64, 'm') + "\"\n",
     "11:8: dcs.name: expected a manager name of at most 63 characters, got 64"},
    {"dcs_name_type", kDcsHead + "etcd = [\"http://127.0.0.1:2379\"]\nname = 1\n", "11:8: dcs.name: expected a string, got 1"},
    // [dcs]: ttl
    {"dcs_ttl_junk", kDcsOk + "ttl = \"soon\"\n", "12:7: dcs.ttl: expected a duration such as \"5s\", got \"soon\""},
    {"dcs_ttl_integer", kDcsOk + "ttl = 10\n", "12:7: dcs.ttl: expected a duration such as \"5s\", got 10"},
    {"dcs_ttl_zero", kDcsOk + "ttl = \"0s\"\n", "12:7: dcs.ttl: expected a duration above zero, got \"0s\""},
    {"dcs_ttl_fraction", kDcsOk + "ttl = \"2500ms\"\n",
     "12:7: dcs.ttl: expected whole seconds (etcd grants leases in seconds), got \"2500ms\""},
    {"dcs_ttl_short", kDcsOk + "ttl = \"1s\"\n", "12:7: dcs.ttl: expected a ttl from 2s to 300s, got \"1s\""},
    {"dcs_ttl_long", kDcsOk + "ttl = \"301s\"\n", "12:7: dcs.ttl: expected a ttl from 2s to 300s, got \"301s\""},
    // [dcs]: prefix
    {"dcs_prefix_relative", kDcsOk + "prefix = \"sitekeeper/CEN\"\n",
     "12:10: dcs.prefix: expected a key prefix starting with \"/\", such as \"/sitekeeper/CEN\", got \"sitekeeper/CEN\""},
    {"dcs_prefix_empty", kDcsOk + "prefix = \"\"\n", "12:10: dcs.prefix: expected a key prefix starting with \"/\""},
    {"dcs_prefix_trailing_slash", kDcsOk + "prefix = \"/sitekeeper/CEN/\"\n",
     "12:10: dcs.prefix: expected a key prefix without a trailing \"/\", got \"/sitekeeper/CEN/\""},
    {"dcs_prefix_root", kDcsOk + "prefix = \"/\"\n", "12:10: dcs.prefix: expected a key prefix without a trailing \"/\""},
    {"dcs_prefix_double_slash", kDcsOk + "prefix = \"/sitekeeper//CEN\"\n",
     "12:10: dcs.prefix: expected a key prefix without \"//\", got \"/sitekeeper//CEN\""},
    {"dcs_prefix_space", kDcsOk + "prefix = \"/site keeper\"\n",
     "12:10: dcs.prefix: expected a key prefix of printable ASCII without spaces, got \"/site keeper\""},
    {"dcs_prefix_control", kDcsOk + "prefix = \"/sk\\u0000\"\n",
     "12:10: dcs.prefix: expected a key prefix of printable ASCII without spaces, got \"/sk\\u0000\""},
    {"dcs_prefix_non_ascii", kDcsOk + "prefix = \"/sk/z\u00fcrich\"\n",
     "12:10: dcs.prefix: expected a key prefix of printable ASCII without spaces"},
    {"dcs_prefix_type", kDcsOk + "prefix = [\"/sk\"]\n", "12:10: dcs.prefix: expected a string, got an array"},
    {"dcs_prefix_without_site_code",
     "[site]\ndatabase = \"CM_CEN\"\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n[http]\nlisten = \"127.0.0.1:8008\"\n"
     "[dcs]\netcd = [\"http://127.0.0.1:2379\"]\nname = \"mgr1\"\n",
     "8:1: dcs.prefix: expected prefix, or [site] code for the default \"/sitekeeper/CODE\", but neither is set"},
    {"dcs_prefix_from_a_bad_site_code",
     "[site]\ncode = \"C N\"\ndatabase = \"CM_CEN\"\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n[http]\n"
     "listen = \"127.0.0.1:8008\"\n[dcs]\netcd = [\"http://127.0.0.1:2379\"]\nname = \"mgr1\"\n",
     "9:1: dcs.prefix: expected prefix, since the default \"/sitekeeper/C N\" made from [site] code is not a key prefix"},
    // [dcs]: user and password_file (the file's contents: CoreConfigDcs below)
    {"dcs_password_file_without_user", kDcsOk + "password_file = \"etcd.pw\"\n",
     "12:17: dcs.password_file: expected user with password_file: the password is an etcd user's"},
    {"dcs_user_without_password_file", kDcsOk + "user = \"sitekeeper\"\n",
     "12:8: dcs.user: expected password_file with user: etcd authenticates a user by its password"},
    {"dcs_user_empty", kDcsOk + "user = \"\"\npassword_file = \"etcd.pw\"\n",
     "12:8: dcs.user: expected an etcd user name, got an empty one"},
    {"dcs_user_control", kDcsOk + "user = \"sk\\n\"\npassword_file = \"etcd.pw\"\n",
     "12:8: dcs.user: expected an etcd user name without control characters, got \"sk\\u000a\""},
    {"dcs_password_file_missing", kDcsOk + "user = \"sitekeeper\"\npassword_file = \"etcd.pw\"\n",
     "13:17: dcs.password_file: expected a readable file, cannot read "},
    {"dcs_password_file_empty_path", kDcsOk + "user = \"sitekeeper\"\npassword_file = \"\"\n",
     "13:17: dcs.password_file: expected a path, got \"\""},
    {"dcs_password_in_config", kDcsOk + "password = \"x\"\n", "12:1: dcs.password: unknown key, expected one of: ca_file, cert_file, etcd, key_file, name, password_file, "
     "prefix, ttl, user"},
    // [dcs]: TLS files (their contents: CoreConfigDcs below)
    {"dcs_ca_file_over_http", kDcsOk + "ca_file = \"ca.pem\"\n",
     "12:11: dcs.ca_file: expected only with https:// endpoints: TLS files are not used over http://"},
    {"dcs_cert_file_over_http", kDcsOk + "cert_file = \"c.pem\"\nkey_file = \"k.pem\"\n",
     "12:13: dcs.cert_file: expected only with https:// endpoints"},
    {"dcs_cert_file_without_key", dcs_etcd("\"https://etcd1:2379\"") + "cert_file = \"c.pem\"\n",
     "12:13: dcs.cert_file: expected cert_file and key_file together, but key_file is missing"},
    {"dcs_key_file_without_cert", dcs_etcd("\"https://etcd1:2379\"") + "key_file = \"k.pem\"\n",
     "12:12: dcs.key_file: expected cert_file and key_file together, but cert_file is missing"},
    {"dcs_ca_file_missing", dcs_etcd("\"https://etcd1:2379\"") + "ca_file = \"ca.pem\"\n",
     "12:11: dcs.ca_file: expected a readable file, cannot read "},
    {"dcs_cert_file_missing", dcs_etcd("\"https://etcd1:2379\"") + "cert_file = \"c.pem\"\nkey_file = \"k.pem\"\n",
     "12:13: dcs.cert_file: expected a readable file, cannot read "},
    {"dcs_ca_file_empty_path", dcs_etcd("\"https://etcd1:2379\"") + "ca_file = \"\"\n",
     "12:11: dcs.ca_file: expected a path, got \"\""},
    // [dcs]: the table itself
    {"dcs_unknown_key", kDcsOk + "lease = \"10s\"\n",
     "12:1: dcs.lease: unknown key, expected one of: ca_file, cert_file, etcd, key_file, name, password_file, prefix, "
     "ttl, user"},
    {"dcs_typo", kDcsOk + "prefx = \"/sk\"\n", "12:1: dcs.prefx: unknown key, did you mean \"prefix\"?"},
    {"dcs_top_not_a_table", "dcs = \"etcd\"\n" + kBase, "1:7: dcs: expected a table, got \"etcd\""},
    {"dcs_empty_table", kDcsHead, "9:1: dcs.etcd: expected the etcd members' client URLs"},
    {"dcs_without_http_listen",
     "[site]\ncode = \"CEN\"\ndatabase = \"CM_CEN\"\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n"
     "[dcs]\netcd = [\"http://127.0.0.1:2379\"]\nname = \"mgr1\"\n",
     "7:1: dcs: expected [http] listen with [dcs]: the other managers and HAProxy ask each manager's API"},
    {"dcs_with_http_listen_empty",
     "[site]\ncode = \"CEN\"\ndatabase = \"CM_CEN\"\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n[http]\nlisten = \"\"\n"
     "[dcs]\netcd = [\"http://127.0.0.1:2379\"]\nname = \"mgr1\"\n",
     "9:1: dcs: expected [http] listen with [dcs]"},
    // syntax
    {"syntax", "[site\ndatabase = \"x\"\n", "1:6: toml: expected valid TOML"},
};

std::string row_name(const ::testing::TestParamInfo<Row>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Rows, CoreConfigErrors, ::testing::ValuesIn(kRows), row_name);

TEST(CoreConfig, ReportsEveryProblemOneLineEach) {
  std::string err = load_error(kBase + "[archive]\nkeep = 0\n[replica]\njobs = 99\n[failover]\nmode = \"x\"\n");
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 2) << err;
  EXPECT_NE(err.find("archive.keep"), std::string::npos);
  EXPECT_NE(err.find("replica.jobs"), std::string::npos);
  EXPECT_NE(err.find("failover.mode"), std::string::npos);
  // Sorted by position, so the operator reads them top to bottom.
  EXPECT_LT(err.find("archive.keep"), err.find("failover.mode"));
}

TEST(CoreConfig, MissingFileIsAConfigError) {
  TempDir dir;
  try {
    load_config(dir.path() / "nope.toml", &lookup_fake);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("nope.toml"), std::string::npos) << e.what();
    EXPECT_EQ(e.exit_code(), kUsage);
  }
}

// Every table and key of DESIGN.md's example.
const char* kFull = R"([site]
code = "CEN"
database = "CM_CEN"

[state]
path = "state/sitekeeper.db"

[archive]
path = "archive"
keep = 7
max_age = "5d"
after_backup = ["/usr/local/bin/copy-offsite", "{backup}"]

[servers.cm1]
engine = "postgresql"
transport = "native"
host = "127.0.0.1"
port = 5432
user = "sitekeeper"
password_file = "secrets/cm1.pw"
odbc_driver = "PostgreSQL Unicode"
data_dir = "/var/lib/postgresql/15/cm1"
bin_dir = "/usr/lib/postgresql/15/bin"

[servers.cm2]
engine = "postgresql"
transport = "odbc"
host = "10.0.0.2"
port = 5433
data_dir = "clusters/cm2"

[servers.hd1]
host = "hd1.example"

[servers."hd 2"]
host = "hd2.example"

[roles]
active = "cm1"
standby = "cm2"
replicas = ["hd1", "hd 2"]

[replica]
readers = ["helpdesk", "Help Desk \"EU\""]
jobs = 2
swap_timeout = "5s"
validate = ["SELECT count(*) FROM site_systems"]

[failover]
mode = "automatic"
probe_interval = "1s"
probe_timeout = "1s"
failures = 3
max_lag = "16MB"
serial_headroom = 1000
fence = ["/usr/local/bin/fence", "{server}"]
alias = ["/usr/local/bin/point-alias", "{server}"]

[[schedule]]
job = "backup"
cron = "0 2 * * *"
timezone = "UTC"
catch_up = true
retries = 2
retry_delay = "5m"

[[schedule]]
job = "refresh"
after = "backup"
delay = "2h"

[[schedule]]
job = "capture"
every = "1h"

[http]
listen = "127.0.0.1:8008"

[alerts]
command = ["/usr/local/bin/page-oncall", "{job}", "{message}"]
)";

TEST(CoreConfig, ASiteOfSeveralDatabasesListsThemSiteDatabaseFirst) {
  TempDir dir;
  fs::path file = dir.write("sk.toml", "[site]\ncode = \"CEN\"\ndatabases = [\"CM_CEN\", \"ReportServer\"]\n"
                                       "[servers.cm1]\n[roles]\nactive = \"cm1\"\n");
  Config c = load_config(file, &lookup_fake);
  EXPECT_EQ(c.site.databases, (std::vector<std::string>{"CM_CEN", "ReportServer"}));
  EXPECT_EQ(c.site.database, "CM_CEN");
  // The one-database form means a list of one.
  file = dir.write("one.toml", "[site]\ncode = \"CEN\"\ndatabase = \"CM_CEN\"\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n");
  c = load_config(file, &lookup_fake);
  EXPECT_EQ(c.site.databases, (std::vector<std::string>{"CM_CEN"}));
}

TEST(CoreConfig, LoadsTheFullExample) {
  TempDir dir;
  dir.write("secrets/cm1.pw", "cm1-secret\n", kOwnerOnly);
  fs::path file = dir.write("sk.toml", kFull);
  fake_env().clear();
  fake_env()["SITEKEEPER_PASSWORD_HD_2"] = "hd2-secret";
  Config c = load_config(file, &lookup_fake);
  fake_env().clear();

  EXPECT_EQ(c.file, file);
  EXPECT_EQ(c.site.code, "CEN");
  EXPECT_EQ(c.site.database, "CM_CEN");
  EXPECT_EQ(c.state_path, dir.path() / "state/sitekeeper.db");
  EXPECT_EQ(c.archive.path, dir.path() / "archive");
  EXPECT_EQ(c.archive.keep, 7);
  EXPECT_EQ(c.archive.max_age, std::chrono::hours(120));
  EXPECT_EQ(c.archive.after_backup,
            (std::vector<std::string>{"/usr/local/bin/copy-offsite", "{backup}"}));

  ASSERT_EQ(c.servers.size(), 4u);
  const ServerConfig& cm1 = c.server("cm1");
  EXPECT_EQ(cm1.name, "cm1");
  EXPECT_EQ(cm1.engine, "postgresql");
  EXPECT_EQ(cm1.transport, "native");
  EXPECT_EQ(cm1.host, "127.0.0.1");
  EXPECT_EQ(cm1.port, 5432);
  EXPECT_EQ(cm1.user, "sitekeeper");
  EXPECT_EQ(cm1.password_file, dir.path() / "secrets/cm1.pw");
  EXPECT_EQ(cm1.password, "cm1-secret");
  EXPECT_EQ(cm1.password_source, "file");
  EXPECT_EQ(cm1.odbc_driver, "PostgreSQL Unicode");
  EXPECT_EQ(cm1.data_dir, "/var/lib/postgresql/15/cm1");
  EXPECT_EQ(cm1.bin_dir, "/usr/lib/postgresql/15/bin");
  const ServerConfig& cm2 = c.server("cm2");
  EXPECT_EQ(cm2.transport, "odbc");
  EXPECT_EQ(cm2.port, 5433);
  EXPECT_EQ(cm2.data_dir, dir.path() / "clusters/cm2");
  EXPECT_EQ(cm2.password_source, "");
  EXPECT_EQ(c.server("hd1").user, "postgres");  // header defaults
  EXPECT_EQ(c.server("hd 2").password, "hd2-secret");
  EXPECT_EQ(c.server("hd 2").password_source, "environment");
  EXPECT_THROW(c.server("nope"), Error);

  EXPECT_EQ(c.roles.active, "cm1");
  EXPECT_EQ(c.roles.standby, "cm2");
  EXPECT_EQ(c.roles.replicas, (std::vector<std::string>{"hd1", "hd 2"}));

  EXPECT_EQ(c.replica.readers, (std::vector<std::string>{"helpdesk", "Help Desk \"EU\""}));
  EXPECT_EQ(c.replica.jobs, 2);
  EXPECT_EQ(c.replica.swap_timeout, std::chrono::seconds(5));
  EXPECT_EQ(c.replica.validate, (std::vector<std::string>{"SELECT count(*) FROM site_systems"}));

  EXPECT_EQ(c.failover.mode, "automatic");
  EXPECT_EQ(c.failover.probe_interval, std::chrono::seconds(1));
  EXPECT_EQ(c.failover.probe_timeout, std::chrono::seconds(1));
  EXPECT_EQ(c.failover.failures, 3);
  EXPECT_EQ(c.failover.max_lag, 16u << 20);
  EXPECT_EQ(c.failover.serial_headroom, 1000);
  EXPECT_EQ(c.failover.fence, (std::vector<std::string>{"/usr/local/bin/fence", "{server}"}));
  EXPECT_EQ(c.failover.alias, (std::vector<std::string>{"/usr/local/bin/point-alias", "{server}"}));

  ASSERT_EQ(c.schedules.size(), 3u);
  const ScheduleConfig& b = c.schedules[0];
  EXPECT_EQ(b.job, "backup");
  EXPECT_EQ(b.cron, "0 2 * * *");
  EXPECT_EQ(b.timezone, "UTC");
  EXPECT_TRUE(b.catch_up);
  EXPECT_EQ(b.retries, 2);
  EXPECT_EQ(b.retry_delay, std::chrono::minutes(5));
  EXPECT_EQ(b.pos.line, 59);
  EXPECT_EQ(b.cron_pos.line, 61);
  EXPECT_EQ(b.cron_pos.column, 8);
  EXPECT_EQ(b.timezone_pos.line, 62);
  const ScheduleConfig& r = c.schedules[1];
  EXPECT_EQ(r.job, "refresh");
  EXPECT_EQ(r.after, "backup");
  EXPECT_EQ(r.delay, std::chrono::hours(2));
  EXPECT_FALSE(r.every);
  EXPECT_EQ(c.schedules[2].every, std::chrono::hours(1));

  EXPECT_EQ(c.http.listen, "127.0.0.1:8008");
  EXPECT_EQ(c.alerts.command,
            (std::vector<std::string>{"/usr/local/bin/page-oncall", "{job}", "{message}"}));
}

TEST(CoreConfig, DefaultsOfAMinimalConfig) {
  TempDir dir;
  Config c = load_config(dir.write("sk.toml", kBase), &lookup_fake);
  EXPECT_EQ(c.state_path, dir.path() / "state/sitekeeper.db");
  EXPECT_EQ(c.archive.path, dir.path() / "archive");
  EXPECT_EQ(c.archive.keep, 7);
  EXPECT_EQ(c.archive.max_age, std::chrono::hours(24 * 5));
  EXPECT_EQ(c.failover.mode, "manual");
  EXPECT_EQ(c.failover.max_lag, 16u << 20);
  EXPECT_EQ(c.replica.jobs, 2);
  EXPECT_TRUE(c.http.listen.empty());
  EXPECT_TRUE(c.schedules.empty());
  EXPECT_TRUE(c.roles.standby.empty());
}

TEST(CoreConfig, CopyDestinationsInOrderWithTheirRates) {
  TempDir dir;
  Config c = load_config(dir.write("sk.toml", kBase + "[[archive.copy]]\npath = \"/mnt/offsite/cen/\"\nrate = \"10MB/s\"\n"
                                                      "[[archive.copy]]\npath = \"/mnt/second\"\nrate = \"512 kB/s\"\n"),
                         &lookup_fake);
  ASSERT_EQ(c.archive.copies.size(), 2u);
  EXPECT_EQ(c.archive.copies[0].path, "/mnt/offsite/cen");
  EXPECT_EQ(c.archive.copies[0].rate, 10u << 20);
  EXPECT_EQ(c.archive.copies[1].path, "/mnt/second");
  EXPECT_EQ(c.archive.copies[1].rate, 512u << 10);
  EXPECT_TRUE(load_config(dir.write("sk.toml", kBase), &lookup_fake).archive.copies.empty());
}

// Only what the server can bind without a name lookup, so a bad value fails at load, not at start.
TEST(CoreConfig, ListenAcceptsIpAddressesAndBracketedIpv6) {
  for (const char* listen : {"0.0.0.0:8008", "[::1]:8008", "127.0.0.1:1", "[::]:65535", "[2001:db8::1]:8008"}) {
    TempDir dir;
    Config c = load_config(
        dir.write("sk.toml", kBase + "[http]\nlisten = \"" + listen + "\"\n"), &lookup_fake);
    EXPECT_EQ(c.http.listen, listen);
  }
}

TEST(CoreConfig, SqlServerDefaultsToOdbc) {
  TempDir dir;
  Config c = load_config(
      dir.write("sk.toml", kBase + "[servers.ms]\nengine = \"sqlserver\"\n"), &lookup_fake);
  EXPECT_EQ(c.server("ms").transport, "odbc");
  EXPECT_EQ(c.server("ms").port, 1433);
}

TEST(CoreConfig, RelativePathsFollowTheConfigFile) {
  TempDir dir;
  fs::path file = dir.write("etc/sk.toml", kBase + R"([servers.lite]
engine = "sqlite"
data_dir = "../data/lite"
[state]
path = "../var/state.db"
[archive]
path = ")" + (dir.path() / "archive with space").string() + R"("
)");
  // Loaded through a relative path from another folder: Config::file is still absolute.
  fs::path old = fs::current_path();
  fs::current_path(dir.path());
  Config c = load_config("etc/sk.toml", &lookup_fake);
  fs::current_path(old);
  EXPECT_EQ(c.file, file);
  EXPECT_TRUE(c.file.is_absolute());
  EXPECT_EQ(c.state_path, dir.path() / "var/state.db");
  EXPECT_EQ(c.archive.path, dir.path() / "archive with space");
  EXPECT_EQ(c.server("lite").data_dir, dir.path() / "data/lite");
}

// Every file and folder below `root`, so a test can tell that loading left the disk as it was.
std::vector<fs::path> tree(const fs::path& root) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) out.push_back(fs::relative(e.path(), root));
  std::sort(out.begin(), out.end());
  return out;
}

TEST(CoreConfig, LoadingCreatesNothing) {
  TempDir dir;
  load_config(dir.write("sk.toml", kBase + "[state]\npath = \"var/state/sk.db\"\n[archive]\npath = \"var/archive\"\n"),
              &lookup_fake);
  EXPECT_EQ(tree(dir.path()), std::vector<fs::path>{"sk.toml"});
}

TEST(CoreConfig, UncreatableArchivePathCreatesNoFolder) {
  TempDir dir;
  dir.write("blocker", "not a folder\n");
  fs::path file = dir.write("sk.toml", kBase + "[state]\npath = \"var/state/sk.db\"\n"
                                               "[archive]\npath = \"blocker/deep/archive\"\n");
  try {
    load_config(file, &lookup_fake);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              file.string() + ":11:8: archive.path: expected a folder that sitekeeper can create or write, but " +
                  show_path(dir.path() / "blocker") + " is not a folder");
    EXPECT_NE(e.hint().find("nearest existing one must be a folder"), std::string::npos) << e.hint();
    EXPECT_EQ(e.exit_code(), kUsage);
  }
  EXPECT_EQ(tree(dir.path()), (std::vector<fs::path>{"blocker", "sk.toml"}));
}

TEST(CoreConfig, DefaultStatePathIsCheckedToo) {
  TempDir dir;
  dir.write("state", "a file where the default state folder would go\n");
  std::string err = error_of(dir.write("sk.toml", kBase));
  EXPECT_NE(err.find("sk.toml:1:1: state.path: expected a file that sitekeeper can create or write, but " +
                     show_path(dir.path() / "state") + " is not a folder"),
            std::string::npos)
      << err;
  EXPECT_EQ(tree(dir.path()), (std::vector<fs::path>{"sk.toml", "state"}));
}

TEST(CoreConfig, BrokenSymlinkInAPathIsRefused) {
  TempDir dir;
  fs::create_symlink(dir.path() / "gone", dir.path() / "archive");
  std::string err = error_of(dir.write("sk.toml", kBase + "[archive]\npath = \"archive/site\"\n"));
  EXPECT_NE(err.find(":9:8: archive.path: expected a folder that sitekeeper can create or write, but " +
                     show_path(dir.path() / "archive") + " is a broken symbolic link"),
            std::string::npos)
      << err;
}

TEST(CoreConfig, ExistingStateFileAndArchiveFolderAreFine) {
  TempDir dir;
  dir.write("var/sk.db", "");
  fs::create_directories(dir.path() / "archive");
  fs::create_symlink(dir.path() / "archive", dir.path() / "archive link");
  Config c = load_config(
      dir.write("sk.toml", kBase + "[state]\npath = \"var/sk.db\"\n[archive]\npath = \"archive link\"\n"),
      &lookup_fake);
  EXPECT_EQ(c.state_path, dir.path() / "var/sk.db");
  EXPECT_EQ(c.archive.path, dir.path() / "archive link");
}

TEST(CoreConfig, MultiLineQueriesAndEmptyStringsWhereTheyMeanSomething) {
  TempDir dir;
  Config c = load_config(dir.write("sk.toml", kBase + R"([replica]
validate = ["""
SELECT count(*)
	FROM sites"""]
[http]
listen = ""
[[schedule]]
job = "backup"
every = "1h30m"
timezone = "Europe/Berlin"
[failover]
fence = ["/usr/local/bin/fence", "--reason", "lost {server}"]
)"),
                         &lookup_fake);
  EXPECT_EQ(c.replica.validate.at(0), "SELECT count(*)\n\tFROM sites");
  EXPECT_TRUE(c.http.listen.empty());
  EXPECT_EQ(c.schedules.at(0).every, std::chrono::minutes(90));
  EXPECT_EQ(c.schedules.at(0).timezone, "Europe/Berlin");
  EXPECT_EQ(c.failover.fence.size(), 3u);
}

TEST(CoreConfig, ServerAndRoleNamesMayHoldSpacesQuotesAndCase) {
  TempDir dir;
  Config c = load_config(dir.write("sk.toml", R"([site]
database = "Site DB \"Main\""
[servers."Main Server"]
[servers."hd é"]
[roles]
active = "Main Server"
replicas = ["hd é"]
[replica]
readers = ["Help Desk"]
)"),
                         &lookup_fake);
  EXPECT_EQ(c.site.database, "Site DB \"Main\"");
  EXPECT_EQ(c.roles.replicas.at(0), "hd é");
}

// --- passwords (invariant 7) ---

const std::string kPassword = "Tr0ub4dor&3-unique";

std::string with_server(const std::string& lines) {
  return "[site]\ndatabase = \"x\"\n[roles]\nactive = \"cm1\"\n[servers.cm1]\n" + lines;
}

TEST(CoreConfigPassword, PlainPasswordInPrivateConfig) {
  TempDir dir;
  Config c = load_config(dir.write("sk.toml", with_server("password = \"" + kPassword + "\"\n"),
                                   kOwnerOnly),
                         &lookup_fake);
  EXPECT_EQ(c.server("cm1").password, kPassword);
  EXPECT_EQ(c.server("cm1").password_source, "config");
}

TEST(CoreConfigPassword, PlainPasswordInReadableConfigIsRefused) {
  TempDir dir;
  fs::path file = dir.write("sk.toml", with_server("password = \"" + kPassword + "\"\n"));
  try {
    load_config(file, &lookup_fake);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("sk.toml:6:12: servers.cm1.password:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("readable by group or others"), std::string::npos) << msg;
    EXPECT_NE(e.hint().find("chmod 600"), std::string::npos) << e.hint();
    EXPECT_NE(e.hint().find("password_file"), std::string::npos) << e.hint();
    EXPECT_EQ(msg.find(kPassword), std::string::npos);
    EXPECT_EQ(e.hint().find(kPassword), std::string::npos);
  }
}

TEST(CoreConfigPassword, GroupReadableConfigIsRefusedToo) {
  std::string err = load_error(with_server("password = \"" + kPassword + "\"\n"),
                               kOwnerOnly | fs::perms::group_read);
  EXPECT_NE(err.find("readable by group or others"), std::string::npos) << err;
}

TEST(CoreConfigPassword, FromFileFirstLineOnly) {
  TempDir dir;
  dir.write("pw/cm1 pw", kPassword + "\nsecond line\n", kOwnerOnly);
  Config c = load_config(dir.write("sk.toml", with_server("password_file = \"pw/cm1 pw\"\n")),
                         &lookup_fake);
  EXPECT_EQ(c.server("cm1").password, kPassword);
  EXPECT_EQ(c.server("cm1").password_source, "file");
  EXPECT_EQ(c.server("cm1").password_file, dir.path() / "pw/cm1 pw");
}

TEST(CoreConfigPassword, ReadablePasswordFileIsRefusedByName) {
  TempDir dir;
  dir.write("cm1.pw", kPassword + "\n");  // 0644
  try {
    load_config(dir.write("sk.toml", with_server("password_file = \"cm1.pw\"\n")), &lookup_fake);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("sk.toml:6:17: servers.cm1.password_file:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("cm1.pw"), std::string::npos) << msg;
    EXPECT_NE(msg.find("readable by group or others"), std::string::npos) << msg;
    EXPECT_NE(e.hint().find("chmod 600"), std::string::npos) << e.hint();
    EXPECT_EQ(msg.find(kPassword), std::string::npos);
  }
}

TEST(CoreConfigPassword, MissingPasswordFile) {
  std::string err = load_error(with_server("password_file = \"missing.pw\"\n"));
  EXPECT_NE(err.find("servers.cm1.password_file: expected a readable file"), std::string::npos)
      << err;
}

TEST(CoreConfigPassword, EmptyPasswordFileIsRefused) {
  TempDir dir;
  dir.write("cm1.pw", "\nsecond line\n", kOwnerOnly);
  std::string err = error_of(dir.write("sk.toml", with_server("password_file = \"cm1.pw\"\n")));
  EXPECT_NE(err.find("sk.toml:6:17: servers.cm1.password_file: expected a password on the first line of "),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("cm1.pw\", got an empty line"), std::string::npos) << err;
}

TEST(CoreConfigPassword, PasswordAndPasswordFileTogether) {
  TempDir dir;
  dir.write("cm1.pw", "x\n", kOwnerOnly);
  fs::path file = dir.write(
      "sk.toml", with_server("password = \"" + kPassword + "\"\npassword_file = \"cm1.pw\"\n"),
      kOwnerOnly);
  try {
    load_config(file, &lookup_fake);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("expected only one of password and password_file"),
              std::string::npos);
    EXPECT_EQ(std::string(e.what()).find(kPassword), std::string::npos);
  }
}

TEST(CoreConfigPassword, FromEnvironment) {
  TempDir dir;
  fake_env().clear();
  fake_env()["SITEKEEPER_PASSWORD_CM_1_EAST"] = kPassword;
  Config c = load_config(
      dir.write("sk.toml", "[site]\ndatabase = \"x\"\n[roles]\nactive = \"cm-1 east\"\n"
                           "[servers.\"cm-1 east\"]\n"),
      &lookup_fake);
  fake_env().clear();
  EXPECT_EQ(c.server("cm-1 east").password, kPassword);
  EXPECT_EQ(c.server("cm-1 east").password_source, "environment");
}

TEST(CoreConfigPassword, ConfigWinsOverEnvironment) {
  TempDir dir;
  fake_env()["SITEKEEPER_PASSWORD_CM1"] = "from-env";
  Config c = load_config(
      dir.write("sk.toml", with_server("password = \"" + kPassword + "\"\n"), kOwnerOnly),
      &lookup_fake);
  fake_env().clear();
  EXPECT_EQ(c.server("cm1").password, kPassword);
}

TEST(CoreConfigPassword, NullLookupUsesGetenv) {
  TempDir dir;
  setenv("SITEKEEPER_PASSWORD_CM1", "real-env", 1);
  Config c = load_config(dir.write("sk.toml", with_server("")));
  unsetenv("SITEKEEPER_PASSWORD_CM1");
  EXPECT_EQ(c.server("cm1").password, "real-env");
}

TEST(CoreConfigPassword, NeverInAnyErrorMessage) {
  // A numeric password of the wrong type, a password beside other errors, a typo'd key holding
  // it: none of them may echo the secret.
  const std::string cases[] = {
      with_server("password = 918273645\n"),
      with_server("password = \"" + kPassword + "\"\nport = 0\n"),
      with_server("pasword = \"" + kPassword + "\"\n"),
      with_server("password = [\"" + kPassword + "\"]\n"),
      with_server("password = \"" + kPassword + "\"\n") + "[roles]\n",  // TOML error
  };
  for (const auto& toml : cases) {
    for (fs::perms p : {kOwnerOnly, kOwnerOnly | fs::perms::others_read}) {
      std::string err = load_error(toml, p);
      EXPECT_FALSE(err.empty()) << toml;
      EXPECT_EQ(err.find(kPassword), std::string::npos) << err;
      EXPECT_EQ(err.find("918273645"), std::string::npos) << err;
    }
  }
}

// --- http: token and TLS files ---

const std::string kToken = "9f86d081884c7d659a2feaa0c55ad015";

// Loads kBase plus `http` (an [http] section) from dir/etc/sk.toml; the error text, or "" when it loads.
std::string http_error(TempDir& dir, const std::string& http, Config* out = nullptr) {
  fs::path file = dir.write("etc/sk.toml", kBase + "[http]\n" + http, kOwnerOnly);
  try {
    Config c = load_config(file, &lookup_fake);
    if (out) *out = std::move(c);
  } catch (const ConfigError& e) {
    return std::string(e.what()) + "\nHINT: " + e.hint();
  }
  return "";
}

TEST(CoreConfigHttp, TokenFileRelativeToTheConfigWithoutItsNewline) {
  TempDir dir;
  dir.write("etc/secrets/http.token", kToken + "\n", kOwnerOnly);
  Config c;
  ASSERT_EQ(http_error(dir, "token_file = \"secrets/http.token\"\n", &c), "");
  EXPECT_EQ(c.http.token, kToken);
  EXPECT_EQ(c.http.token_file, dir.path() / "etc/secrets/http.token");
  dir.write("etc/secrets/http.token", kToken + "\r\n", kOwnerOnly);
  ASSERT_EQ(http_error(dir, "token_file = \"secrets/http.token\"\n", &c), "");
  EXPECT_EQ(c.http.token, kToken);
}

TEST(CoreConfigHttp, NoTokenByDefault) {
  TempDir dir;
  Config c;
  ASSERT_EQ(http_error(dir, "listen = \"127.0.0.1:8008\"\n", &c), "");
  EXPECT_TRUE(c.http.token.empty());
  EXPECT_TRUE(c.http.tls_cert_pem.empty());
  EXPECT_EQ(c.http.max_connections, 64);
}

TEST(CoreConfigHttp, ReadableTokenFileIsRefusedWithoutShowingIt) {
  TempDir dir;
  dir.write("etc/http.token", kToken + "\n");  // 0644
  std::string err = http_error(dir, "token_file = \"http.token\"\n");
  EXPECT_NE(err.find("sk.toml:9:14: http.token_file: expected a file that only its owner can read"),
            std::string::npos) << err;
  EXPECT_NE(err.find("chmod 600"), std::string::npos) << err;
  EXPECT_EQ(err.find(kToken), std::string::npos) << err;
}

TEST(CoreConfigHttp, BadTokensAreRefusedWithoutShowingThem) {
  const std::pair<std::string, std::string> cases[] = {
      {"\n", "is empty"},
      {"", "is empty"},
      {kToken + " " + kToken + "\n", "without spaces or control characters"},
      {kToken + "\n" + kToken + "\n", "without spaces or control characters"},
      {"short-secret\n", "expected a token of at least 16 characters"},
  };
  for (const auto& [text, expected] : cases) {
    TempDir dir;
    dir.write("etc/http.token", text, kOwnerOnly);
    std::string err = http_error(dir, "token_file = \"http.token\"\n");
    EXPECT_NE(err.find("sk.toml:9:14: http.token_file: " + std::string("expected")), std::string::npos) << err;
    EXPECT_NE(err.find(expected), std::string::npos) << err;
    EXPECT_NE(err.find("openssl rand"), std::string::npos) << err;
    EXPECT_EQ(err.find(kToken), std::string::npos) << err;
    EXPECT_EQ(err.find("short-secret"), std::string::npos) << err;
  }
}

TEST(CoreConfigHttp, TlsPairLoadsRelativeToTheConfig) {
  TempDir dir;
  auto pair = test::self_signed_cert();
  dir.write("etc/tls/cert.pem", pair.cert_pem);
  dir.write("etc/tls/key.pem", pair.key_pem, kOwnerOnly);
  Config c;
  ASSERT_EQ(http_error(dir, "tls_cert = \"tls/cert.pem\"\ntls_key = \"tls/key.pem\"\nmax_connections = 10\n", &c), "");
  EXPECT_EQ(c.http.tls_cert, dir.path() / "etc/tls/cert.pem");
  EXPECT_EQ(c.http.tls_key, dir.path() / "etc/tls/key.pem");
  EXPECT_EQ(c.http.tls_cert_pem, pair.cert_pem);
  EXPECT_EQ(c.http.tls_key_pem, pair.key_pem);
  EXPECT_EQ(c.http.max_connections, 10);
}

TEST(CoreConfigHttp, ReadableTlsKeyIsRefused) {
  TempDir dir;
  auto pair = test::self_signed_cert();
  dir.write("etc/cert.pem", pair.cert_pem);
  dir.write("etc/key.pem", pair.key_pem);  // 0644
  std::string err = http_error(dir, "tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n");
  EXPECT_NE(err.find("sk.toml:10:11: http.tls_key: expected a file that only its owner can read"), std::string::npos)
      << err;
  EXPECT_NE(err.find("chmod 600"), std::string::npos) << err;
}

TEST(CoreConfigHttp, TlsFilesThatAreNotPemAreRefused) {
  TempDir dir;
  auto pair = test::self_signed_cert();
  dir.write("etc/cert.pem", "not a certificate\n");
  dir.write("etc/key.pem", "not a key\n", kOwnerOnly);
  std::string err = http_error(dir, "tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n");
  EXPECT_NE(err.find("sk.toml:9:12: http.tls_cert: expected a PEM certificate, but"), std::string::npos) << err;
  EXPECT_NE(err.find("sk.toml:10:11: http.tls_key: expected an unencrypted PEM private key, but"), std::string::npos)
      << err;
  // The certificate and key swapped: neither file holds what its key names.
  dir.write("etc/cert.pem", pair.key_pem);
  dir.write("etc/key.pem", pair.cert_pem, kOwnerOnly);
  err = http_error(dir, "tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n");
  EXPECT_NE(err.find("http.tls_cert: expected a PEM certificate"), std::string::npos) << err;
  EXPECT_NE(err.find("http.tls_key: expected an unencrypted PEM private key"), std::string::npos) << err;
  EXPECT_EQ(err.find("PRIVATE KEY"), std::string::npos) << err;
}

TEST(CoreConfigHttp, KeyOfAnotherCertificateIsRefused) {
  TempDir dir;
  dir.write("etc/cert.pem", test::self_signed_cert().cert_pem);
  dir.write("etc/key.pem", test::self_signed_cert().key_pem, kOwnerOnly);
  std::string err = http_error(dir, "tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n");
  EXPECT_NE(err.find("sk.toml:10:11: http.tls_key: expected the private key of tls_cert, but"), std::string::npos)
      << err;
}

// An encrypted key is refused at once: a daemon has no terminal to ask for its passphrase on.
TEST(CoreConfigHttp, EncryptedTlsKeyIsRefusedWithoutAPrompt) {
  TempDir dir;
  auto pair = test::self_signed_cert();
  std::unique_ptr<BIO, decltype(&BIO_free)> in(BIO_new_mem_buf(pair.key_pem.data(), -1), &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr),
                                                          &EVP_PKEY_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), &BIO_free);
  char pass[] = "passphrase";
  ASSERT_TRUE(PEM_write_bio_PrivateKey(out.get(), key.get(), EVP_aes_256_cbc(), nullptr, 0, nullptr, pass));
  char* data = nullptr;
  long n = BIO_get_mem_data(out.get(), &data);
  dir.write("etc/cert.pem", pair.cert_pem);
  dir.write("etc/key.pem", std::string(data, static_cast<std::size_t>(n)), kOwnerOnly);
  std::string err = http_error(dir, "tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n");
  EXPECT_NE(err.find("http.tls_key: expected an unencrypted PEM private key"), std::string::npos) << err;
}

// [archive.secrets]: the passphrase comes from a private file (less one trailing newline) or the
// environment, is at least 8 characters, and never appears in a message.
const std::string kPassphrase = "correct horse battery";

std::string with_secrets(const std::string& lines) {
  return kBase + "[archive.secrets]\nfiles = [\"/etc/site/tls.key\", \"/etc/sitekeeper/sitekeeper.toml\"]\n" + lines;
}

TEST(CoreConfigSecrets, FromFileLessOneTrailingNewline) {
  TempDir dir;
  dir.write("secrets/archive pass", kPassphrase + "\n", kOwnerOnly);
  Config c = load_config(dir.write("sk.toml", with_secrets("passphrase_file = \"secrets/archive pass\"\n")), &lookup_fake);
  const auto& s = c.archive.secrets;
  EXPECT_EQ(s.passphrase, kPassphrase);
  EXPECT_EQ(s.passphrase_source, "file");
  EXPECT_EQ(s.passphrase_file, dir.path() / "secrets/archive pass");
  ASSERT_EQ(s.files.size(), 2u);
  EXPECT_EQ(s.files[0], "/etc/site/tls.key");
}

TEST(CoreConfigSecrets, OnlyOneNewlineIsRemoved) {
  TempDir dir;
  dir.write("pp", kPassphrase + "\r\n\n", kOwnerOnly);
  Config c = load_config(dir.write("sk.toml", with_secrets("passphrase_file = \"pp\"\n")), &lookup_fake);
  EXPECT_EQ(c.archive.secrets.passphrase, kPassphrase + "\r\n");
}

TEST(CoreConfigSecrets, FromEnvironment) {
  TempDir dir;
  fake_env().clear();
  fake_env()["SITEKEEPER_SECRETS_PASSPHRASE"] = kPassphrase;
  Config c = load_config(dir.write("sk.toml", with_secrets("")), &lookup_fake);
  fake_env().clear();
  EXPECT_EQ(c.archive.secrets.passphrase, kPassphrase);
  EXPECT_EQ(c.archive.secrets.passphrase_source, "environment");
}

TEST(CoreConfigSecrets, EnvironmentAloneServesARestoreMachine) {
  // A new server's config may list no files: the passphrase still reaches restore-secrets.
  TempDir dir;
  fake_env()["SITEKEEPER_SECRETS_PASSPHRASE"] = kPassphrase;
  Config c = load_config(dir.write("sk.toml", kBase), &lookup_fake);
  fake_env().clear();
  EXPECT_TRUE(c.archive.secrets.files.empty());
  EXPECT_EQ(c.archive.secrets.passphrase, kPassphrase);
}

TEST(CoreConfigSecrets, ShortPassphraseIsRefusedWithTheReason) {
  TempDir dir;
  dir.write("pp", "seven77\n", kOwnerOnly);  // 7 characters once the newline is gone
  try {
    load_config(dir.write("sk.toml", with_secrets("passphrase_file = \"pp\"\n")), &lookup_fake);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("sk.toml:10:19: archive.secrets.passphrase_file: expected a passphrase of at least 8 characters"),
              std::string::npos) << msg;
    EXPECT_NE(msg.find("too easy to guess"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("seven77"), std::string::npos) << msg;
    EXPECT_EQ(e.hint().find("seven77"), std::string::npos) << e.hint();
  }
  dir.write("pp", "eight888\n", kOwnerOnly);
  EXPECT_EQ(load_config(dir.path() / "sk.toml", &lookup_fake).archive.secrets.passphrase, "eight888");
}

TEST(CoreConfigSecrets, ShortEnvironmentPassphraseIsRefused) {
  fake_env()["SITEKEEPER_SECRETS_PASSPHRASE"] = "short";
  std::string err = load_error(with_secrets(""));
  fake_env().clear();
  EXPECT_NE(err.find("sk.toml:8:1: archive.secrets: expected a passphrase of at least 8 characters, but "
                     "SITEKEEPER_SECRETS_PASSPHRASE holds a shorter one"),
            std::string::npos) << err;
  EXPECT_EQ(err.find("short\""), std::string::npos) << err;
}

TEST(CoreConfigSecrets, ReadablePassphraseFileIsRefused) {
  TempDir dir;
  dir.write("pp", kPassphrase + "\n", kOwnerOnly | fs::perms::group_read);
  try {
    load_config(dir.write("sk.toml", with_secrets("passphrase_file = \"pp\"\n")), &lookup_fake);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("archive.secrets.passphrase_file: expected a file that only its owner can read"),
              std::string::npos) << msg;
    EXPECT_NE(e.hint().find("chmod 600"), std::string::npos) << e.hint();
    EXPECT_EQ(msg.find(kPassphrase), std::string::npos) << msg;
  }
}


// --- [dcs]: several managers on etcd ---

const std::string kEtcdPassword = "etcd-pw-5e884898da28047151d0e56f8dc6292773603d0d";

// Loads `toml` from dir/etc/sk.toml; the error text and hint, or "" when it loads.
std::string dcs_error(TempDir& dir, const std::string& toml, Config* out = nullptr) {
  fs::path file = dir.write("etc/sk.toml", toml, kOwnerOnly);
  try {
    Config c = load_config(file, &lookup_fake);
    if (out) *out = std::move(c);
  } catch (const ConfigError& e) {
    return std::string(e.what()) + "\nHINT: " + e.hint();
  }
  return "";
}

TEST(CoreConfigDcs, AbsentMeansOneManager) {
  TempDir dir;
  Config c = load_config(dir.write("sk.toml", kBase), &lookup_fake);
  EXPECT_FALSE(c.dcs.enabled());
  EXPECT_TRUE(c.dcs.name.empty());
  EXPECT_TRUE(c.dcs.prefix.empty());
}

TEST(CoreConfigDcs, Defaults) {
  TempDir dir;
  Config c;
  ASSERT_EQ(dcs_error(dir, kDcsOk, &c), "");
  EXPECT_TRUE(c.dcs.enabled());
  EXPECT_EQ(c.dcs.etcd, std::vector<std::string>{"http://127.0.0.1:2379"});
  EXPECT_EQ(c.dcs.name, "mgr1");
  EXPECT_EQ(c.dcs.ttl, std::chrono::seconds(10));
  EXPECT_EQ(c.dcs.prefix, "/sitekeeper/CEN");
  EXPECT_TRUE(c.dcs.user.empty());
  EXPECT_TRUE(c.dcs.password.empty());
  EXPECT_TRUE(c.dcs.password_file.empty());
  EXPECT_TRUE(c.dcs.ca_file.empty());
  EXPECT_TRUE(c.dcs.cert_file.empty());
  EXPECT_TRUE(c.dcs.key_file.empty());
}

TEST(CoreConfigDcs, EndpointsNamesAndBoundsThatAreAccepted) {
  TempDir dir;
  Config c;
  ASSERT_EQ(dcs_error(dir, kDcsHead +
                               "etcd = [\"http://10.0.0.1:2379\", \"http://[fd00::2]:2379\", \"http://etcd-3.site.example:1\", "
                               "\"http://etcd1:65535\", \"http://etcd1:2380\"]\n"
                               "name = \"" + std::string(63, 'm') + "\"\nttl = \"300s\"\nprefix = \"/a/B-1_x.y\"\n",
                      &c),
            "");
  EXPECT_EQ(c.dcs.etcd.size(), 5u);
  EXPECT_EQ(c.dcs.name, std::string(63, 'm'));
  EXPECT_EQ(c.dcs.ttl, std::chrono::minutes(5));
  EXPECT_EQ(c.dcs.prefix, "/a/B-1_x.y");
  for (const char* name : {"mgr_1", "m.2", "M-3", "9", "a..b"}) {
    ASSERT_EQ(dcs_error(dir, kDcsHead + "etcd = [\"http://127.0.0.1:2379\"]\nname = \"" + name + "\"\nttl = \"2s\"\n", &c), "")
        << name;
    EXPECT_EQ(c.dcs.name, name);
    EXPECT_EQ(c.dcs.ttl, std::chrono::seconds(2));
  }
  ASSERT_EQ(dcs_error(dir, kDcsOk + "ttl = \"1m\"\nprefix = \"/x\"\n", &c), "");
  EXPECT_EQ(c.dcs.ttl, std::chrono::seconds(60));
  EXPECT_EQ(c.dcs.prefix, "/x");
}

TEST(CoreConfigDcs, PasswordFileRelativeToTheConfig) {
  TempDir dir;
  dir.write("etc/secrets/etcd pw", kEtcdPassword + "\r\nsecond line\n", kOwnerOnly);
  Config c;
  ASSERT_EQ(dcs_error(dir, kDcsOk + "user = \"sitekeeper\"\npassword_file = \"secrets/etcd pw\"\n", &c), "");
  EXPECT_EQ(c.dcs.user, "sitekeeper");
  EXPECT_EQ(c.dcs.password, kEtcdPassword);
  EXPECT_EQ(c.dcs.password_file, dir.path() / "etc/secrets/etcd pw");
}

TEST(CoreConfigDcs, ReadablePasswordFileIsRefusedWithoutShowingIt) {
  TempDir dir;
  dir.write("etc/etcd.pw", kEtcdPassword + "\n", kOwnerOnly | fs::perms::group_read);
  std::string err = dcs_error(dir, kDcsOk + "user = \"sitekeeper\"\npassword_file = \"etcd.pw\"\n");
  EXPECT_NE(err.find("sk.toml:13:17: dcs.password_file: expected a file that only its owner can read, but "),
            std::string::npos) << err;
  EXPECT_NE(err.find("etcd.pw\" is readable by group or others"), std::string::npos) << err;
  EXPECT_NE(err.find("HINT: run chmod 600 "), std::string::npos) << err;
  EXPECT_EQ(err.find(kEtcdPassword), std::string::npos) << err;
}

TEST(CoreConfigDcs, PasswordNeverInAMessage) {
  TempDir dir;
  dir.write("etc/etcd.pw", "\n" + kEtcdPassword + "\n", kOwnerOnly);  // first line empty
  std::string err = dcs_error(dir, kDcsOk + "user = \"sitekeeper\"\npassword_file = \"etcd.pw\"\nttl = \"1s\"\n");
  EXPECT_NE(err.find("sk.toml:13:17: dcs.password_file: expected a password on the first line of "), std::string::npos)
      << err;
  EXPECT_NE(err.find("sk.toml:14:7: dcs.ttl:"), std::string::npos) << err;
  EXPECT_EQ(err.find(kEtcdPassword), std::string::npos) << err;
  // The password given in the config instead is an unknown key, and its value is not shown either.
  err = dcs_error(dir, kDcsOk + "password = \"" + kEtcdPassword + "\"\n");
  EXPECT_NE(err.find("dcs.password: unknown key"), std::string::npos) << err;
  EXPECT_EQ(err.find(kEtcdPassword), std::string::npos) << err;
}

TEST(CoreConfigDcs, TlsFilesRelativeToTheConfig) {
  TempDir dir;
  auto ca = test::self_signed_cert();
  auto client = test::self_signed_cert();
  dir.write("etc/tls/ca.pem", ca.cert_pem);
  dir.write("etc/tls/client.pem", client.cert_pem);
  dir.write("etc/tls/client.key", client.key_pem, kOwnerOnly);
  Config c;
  ASSERT_EQ(dcs_error(dir, dcs_etcd("\"https://etcd1:2379\", \"https://etcd2:2379\"") +
                               "ca_file = \"tls/ca.pem\"\ncert_file = \"tls/client.pem\"\nkey_file = \"tls/client.key\"\n",
                      &c),
            "");
  EXPECT_EQ(c.dcs.ca_file, dir.path() / "etc/tls/ca.pem");
  EXPECT_EQ(c.dcs.cert_file, dir.path() / "etc/tls/client.pem");
  EXPECT_EQ(c.dcs.key_file, dir.path() / "etc/tls/client.key");
  // The system's CAs and no client certificate: https:// alone is enough.
  ASSERT_EQ(dcs_error(dir, dcs_etcd("\"https://etcd1:2379\""), &c), "");
  EXPECT_TRUE(c.dcs.ca_file.empty());
}

TEST(CoreConfigDcs, TlsFilesThatDoNotHoldWhatTheyNameAreRefused) {
  TempDir dir;
  auto pair = test::self_signed_cert();
  dir.write("etc/ca.pem", "not a certificate\n");
  dir.write("etc/c.pem", pair.cert_pem);
  dir.write("etc/k.pem", test::self_signed_cert().key_pem, kOwnerOnly);  // another certificate's key
  const std::string tls = "ca_file = \"ca.pem\"\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n";
  std::string err = dcs_error(dir, dcs_etcd("\"https://etcd1:2379\"") + tls);
  EXPECT_NE(err.find("sk.toml:12:11: dcs.ca_file: expected a PEM certificate, but "), std::string::npos) << err;
  EXPECT_NE(err.find("sk.toml:14:12: dcs.key_file: expected the private key of cert_file, but "), std::string::npos)
      << err;
  EXPECT_EQ(err.find("PRIVATE KEY"), std::string::npos) << err;
  // A client key that others can read is refused like [http] tls_key.
  dir.write("etc/ca.pem", pair.cert_pem);
  dir.write("etc/k.pem", pair.key_pem);  // 0644
  err = dcs_error(dir, dcs_etcd("\"https://etcd1:2379\"") + tls);
  EXPECT_NE(err.find("sk.toml:14:12: dcs.key_file: expected a file that only its owner can read"), std::string::npos)
      << err;
  EXPECT_EQ(err.find("dcs.ca_file"), std::string::npos) << err;
}

TEST(CoreConfigDcs, ErrorsCarryHints) {
  TempDir dir;
  const std::pair<std::string, std::string> cases[] = {
      {dcs_etcd("\"etcd1:2379\""), "--advertise-client-urls"},
      {kDcsOk + "ttl = \"1s\"\n", "10s\" by default"},
      {kDcsOk + "prefix = \"x\"\n", "the same on every manager of the site"},
      {kDcsHead + "etcd = [\"http://127.0.0.1:2379\"]\nname = \"a/b\"\n", "a name of its own for each manager of the site"},
      {kDcsOk + "user = \"sk\"\n", "password_file = \"FILE\""},
      {kDcsOk + "ca_file = \"ca.pem\"\n", "https://HOST:2379"},
      {"[site]\ncode = \"CEN\"\ndatabase = \"x\"\n[servers.cm1]\n[roles]\nactive = \"cm1\"\n[dcs]\n"
       "etcd = [\"http://127.0.0.1:2379\"]\nname = \"mgr1\"\n",
       "set listen = \"0.0.0.0:8008\""},
  };
  for (const auto& [toml, hint] : cases) {
    std::string err = dcs_error(dir, toml);
    const auto at = err.find("\nHINT: ");
    ASSERT_NE(at, std::string::npos) << toml;
    EXPECT_NE(err.find(hint, at), std::string::npos) << err;
  }
}

TEST(CoreConfigDcs, EveryProblemOfTheTableInOnePass) {
  TempDir dir;
  std::string err = dcs_error(dir, kDcsHead + "etcd = [\"ftp://x:1\"]\nname = \"-\"\nttl = \"1s\"\nprefix = \"p\"\n");
  EXPECT_NE(err.find("sk.toml:10:9: dcs.etcd[0]:"), std::string::npos) << err;
  EXPECT_NE(err.find("sk.toml:11:8: dcs.name:"), std::string::npos) << err;
  EXPECT_NE(err.find("sk.toml:12:7: dcs.ttl:"), std::string::npos) << err;
  EXPECT_NE(err.find("sk.toml:13:10: dcs.prefix:"), std::string::npos) << err;
}

}  // namespace
}  // namespace sk
