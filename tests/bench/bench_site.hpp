// What the benchmarks that work on the benchmark site database share: the database itself (the demo
// site grown to at least 500 MB, or SK_BENCH_ROWS rows), the sitekeeper config that names the clusters,
// `sitekeeper` runs with their timestamped log lines, the bare `pg_restore` peer, and libpq sessions.
//
// Header-only (CMake builds each bench from one .cpp plus the harness). Failures throw
// std::runtime_error with the command's output; the benches turn that into a non-zero exit.
// REQUIRES: the harness (pg_cluster.hpp) and libpq; SK_BINARY names the sitekeeper binary.
#pragma once
#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <string>
#include <utility>
#include <vector>

#include "bench_util.hpp"
#include "pg_cluster.hpp"

#ifndef SK_BINARY
#error "SK_BINARY must name the sitekeeper binary"
#endif

namespace sk::bench {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;
using Wall = std::chrono::system_clock;

inline constexpr const char* kDb = "CM_CEN";
inline constexpr const char* kReader = "helpdesk";
inline constexpr const char* kReaderPassword = "helpdesk-demo";  // set by demo/site_schema.sql
inline constexpr int kJobs = 2;
inline constexpr std::uint64_t kMinSizeBytes = 500ull * 1024 * 1024;
inline constexpr long kDefaultRows = 1000000;

// ----- numbers and names -------------------------------------------------------------------------------

inline double secs(Steady::duration d) { return std::chrono::duration<double>(d).count(); }
inline double msecs(Steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

inline std::string fmt(double v, int prec = 2) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(prec) << v;
  return s.str();
}

inline std::string mib(std::uint64_t bytes) { return fmt(static_cast<double>(bytes) / (1024.0 * 1024.0), 1) + " MiB"; }

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// A positive integer from the environment; nullopt when unset, throws when it is anything else.
inline std::optional<long> env_long(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long n = std::strtol(v, &end, 10);
  if (errno || *end || n <= 0) throw std::runtime_error(std::string(name) + " must be a positive integer, got '" + v + "'");
  return n;
}

// What a benchmark of the site database takes from its environment: SK_BENCH_ROWS (the size; unset: the
// database grown to the 500 MB floor), SK_BENCH_ROUNDS, and the source tree its SQL comes from.
struct SiteBenchOptions {
  long rows = kDefaultRows;
  bool rows_from_env = false;
  int rounds = 1;
  fs::path src;

  // Throws std::runtime_error for a value that is no positive integer, or a tree without
  // demo/make_big_site.sql.
  void read_env() {
    if (auto r = env_long("SK_BENCH_ROWS")) {
      rows = *r;
      rows_from_env = true;
    }
    if (auto r = env_long("SK_BENCH_ROUNDS")) rounds = static_cast<int>(*r);
    src = source_dir();
    if (!fs::exists(src / "demo" / "make_big_site.sql"))
      throw std::runtime_error("no demo/make_big_site.sql under " + src.string() + "; set SK_SOURCE_DIR");
  }
};

// The main() of a site benchmark `name`: progress unbuffered, the options read from the environment,
// a header line, then `body(bench)`, whose result ends the last line ("done", "done; every goal met").
// Exit 0 when the measurement ran (a goal missed is not a failure), 1 on a real error.
template <class Bench, class Body>
int site_bench_main(const char* name, Body body) {
  try {
    std::cout.setf(std::ios::unitbuf);  // progress shows as it happens
    Bench b;
    b.read_env();
    std::cout << name << ": sitekeeper " << SK_BINARY << ", rows = " << b.rows
              << (b.rows_from_env ? " (SK_BENCH_ROWS)" : " (default; database grown to >= 500 MB)") << ", rounds = "
              << b.rounds << ", jobs = " << kJobs << ", " << std::thread::hardware_concurrency() << " CPUs\n";
    const std::string result = body(b);
    std::cout << "\n" << name << ": " << result << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << name << ": ERROR: " << e.what() << "\n";
    return 1;
  }
}

// Removes a bench folder (make_bench_dir) at the end of a run, after its servers stopped; "" is nothing.
inline void remove_bench_dir(const fs::path& dir) {
  std::error_code ec;
  if (!dir.empty()) fs::remove_all(dir, ec);
}

inline std::uint64_t tree_size(const fs::path& dir) {
  std::uint64_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) n += e.file_size();
  return n;
}

// An SQL identifier, double-quoted.
inline std::string qi(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// The 1-minute load average, or "?" (the machine is shared: a figure needs its context).
inline std::string load_average() {
  double l[1] = {0};
  return getloadavg(l, 1) == 1 ? fmt(l[0]) : "?";
}

// A new folder whose name has a space and a non-ASCII character, as the product must cope with.
inline fs::path make_bench_dir() {
  char tmpl[] = "/tmp/sk bench \xC3\xA9-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  return tmpl;
}

// ----- libpq -----------------------------------------------------------------------------------------

struct Conn {
  PGconn* c = nullptr;
  explicit Conn(const std::string& conninfo) : c(PQconnectdb(conninfo.c_str())) {
    if (!c || PQstatus(c) != CONNECTION_OK) {
      std::string err = c ? PQerrorMessage(c) : "out of memory";
      if (c) PQfinish(c);
      c = nullptr;
      throw std::runtime_error("connect failed: " + err);
    }
    PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);  // "does not exist, skipping" is expected
  }
  ~Conn() {
    if (c) PQfinish(c);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Runs one statement; returns the first column of the first row (empty when no rows).
  std::string exec(const std::string& sql) {
    PGresult* r = PQexec(c, sql.c_str());
    const auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      std::string err = PQresultErrorMessage(r);
      PQclear(r);
      throw std::runtime_error("SQL failed: " + sql + ": " + err);
    }
    std::string v = (st == PGRES_TUPLES_OK && PQntuples(r) > 0) ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    return v;
  }
};

inline std::string conninfo(const test::PgCluster& c, const std::string& db, const std::string& user, const std::string& pw,
                            const std::string& app) {
  return "host=" + c.host() + " port=" + std::to_string(c.port()) + " dbname=" + conninfo_value(db) +
         " user=" + conninfo_value(user) + " password=" + conninfo_value(pw) +
         " connect_timeout=5 application_name=" + conninfo_value(app);
}

inline std::string admin(const test::PgCluster& c, const std::string& db = "postgres") {
  return conninfo(c, db, c.superuser(), c.password(), "sk_bench");
}

inline void checkpoint(const test::PgCluster& c) {
  Conn k(admin(c));
  k.exec("CHECKPOINT");
}

// ----- clusters and the site database ----------------------------------------------------------------

// Server settings for every benchmark cluster (the harness adds fsync=off), and how the benches print them.
inline std::vector<std::pair<std::string, std::string>> bench_settings() {
  return {{"shared_buffers", "'256MB'"}, {"max_wal_size", "'4GB'"}, {"checkpoint_timeout", "'30min'"}};
}
inline constexpr const char* kBenchSettingsText = "shared_buffers=256MB, max_wal_size=4GB, checkpoint_timeout=30min; harness: fsync=off";

inline std::uint64_t site_size(const test::PgCluster& c) {
  Conn k(admin(c, kDb));
  return std::stoull(k.exec("SELECT pg_database_size(current_database())"));
}

// Creates kDb on `active` from demo/site_schema.sql and demo/make_big_site.sql with `rows` rows; unless
// `exact_rows`, grows it until it reaches kMinSizeBytes (throws when it does not). Ends with a CHECKPOINT
// and prints what it loaded. Returns the database size in bytes.
inline std::uint64_t load_big_site(const test::PgCluster& active, const fs::path& src, long rows, bool exact_rows) {
  const auto t = Steady::now();
  active.psql("CREATE DATABASE " + qi(kDb));
  active.psql_file(src / "demo" / "site_schema.sql", kDb);
  active.psql_file(src / "demo" / "make_big_site.sql", kDb, {{"rows", std::to_string(rows)}});
  long loaded = rows;
  std::uint64_t size = site_size(active);
  // The size per row depends on the server (alignment, TOAST); grow until the floor is reached.
  for (int i = 0; !exact_rows && size < kMinSizeBytes && i < 3; ++i) {
    const double missing = static_cast<double>(kMinSizeBytes) / static_cast<double>(size) - 1.0;
    const long more = std::max(10000L, static_cast<long>(std::ceil(loaded * missing * 1.05)));
    std::cout << "site database is " << mib(size) << " after " << loaded << " rows: adding " << more << " rows to pass "
              << mib(kMinSizeBytes) << "\n";
    active.psql_file(src / "demo" / "make_big_site.sql", kDb, {{"rows", std::to_string(more)}});
    loaded += more;
    size = site_size(active);
  }
  if (!exact_rows && size < kMinSizeBytes)
    throw std::runtime_error("site database is only " + mib(size) + ", below the 500 MB floor");
  Conn c(admin(active, kDb));
  c.exec("CHECKPOINT");
  std::cout << "site database " << kDb << ": pg_database_size = " << size << " bytes (" << mib(size) << "), "
            << c.exec("SELECT count(*) FROM status_messages") << " status_messages, "
            << c.exec("SELECT count(*) FROM resources") << " resources; loaded " << loaded << " rows in "
            << fmt(secs(Steady::now() - t), 1) << " s" << (exact_rows ? " (SK_BENCH_ROWS: no size floor)" : "") << "\n";
  return size;
}

// ----- the sitekeeper config -----------------------------------------------------------------------------

struct SiteConfig {
  fs::path dir;                        // the config, secrets/pw and state/ go here
  std::string archive = "site archive";  // relative to dir, or absolute (a shared archive)
  std::vector<std::pair<std::string, const test::PgCluster*>> servers;  // every cluster shares the harness password
  std::string active;
  std::vector<std::string> replicas;
  std::vector<std::string> kinds = {};     // [archive] kinds; empty: not written (logical only)
  std::vector<std::string> physical = {};  // servers with refresh = "physical"
  fs::path config() const { return dir / "sitekeeper.toml"; }
};

// Writes dir/sitekeeper.toml (mode 0600) and dir/secrets/pw: [site], [state], [archive], a [servers.X]
// per server, [roles] and [replica] (readers = helpdesk, jobs = kJobs, the validation queries).
inline void write_site_config(const SiteConfig& s) {
  if (s.servers.empty()) throw std::runtime_error("write_site_config: no servers");
  fs::create_directories(s.dir / "secrets");
  fs::permissions(s.dir / "secrets", fs::perms::owner_all);
  s.servers.front().second->write_password_file(s.dir / "secrets" / "pw");
  std::ofstream f(s.config());
  f << "[site]\ncode = \"CEN\"\ndatabase = " << toml_string(kDb) << "\n\n"
    << "[state]\npath = \"state/sitekeeper.db\"\n\n"
    << "[archive]\npath = " << toml_string(s.archive) << "\nkeep = 3\nmax_age = \"5d\"\n";
  if (!s.kinds.empty()) {
    f << "kinds = [";
    for (size_t i = 0; i < s.kinds.size(); ++i) f << (i ? ", " : "") << toml_string(s.kinds[i]);
    f << "]\n";
  }
  f << "\n";
  for (const auto& [name, c] : s.servers) {
    f << "[servers." << name << "]\nengine = \"postgresql\"\ntransport = \"native\"\nhost = \"127.0.0.1\"\n"
      << "port = " << c->port() << "\nuser = " << toml_string(c->superuser()) << "\npassword_file = \"secrets/pw\"\n"
      << "data_dir = " << toml_string(c->data_dir().string()) << "\nbin_dir = " << toml_string(test::kPgBinDir) << "\n";
    if (std::find(s.physical.begin(), s.physical.end(), name) != s.physical.end()) f << "refresh = \"physical\"\n";
    f << "\n";
  }
  f << "[roles]\nactive = " << toml_string(s.active) << "\nreplicas = [";
  for (size_t i = 0; i < s.replicas.size(); ++i) f << (i ? ", " : "") << toml_string(s.replicas[i]);
  f << "]\n\n"
    << "[replica]\nreaders = [\"" << kReader << "\"]\njobs = " << kJobs << "\nswap_timeout = \"10s\"\n"
    << "validate = [\"SELECT count(*) FROM sites\", \"SELECT count(*) FROM status_messages\"]\n";
  f.close();
  if (!f) throw std::runtime_error("cannot write " + s.config().string());
  fs::permissions(s.config(), fs::perms::owner_read | fs::perms::owner_write);
}

// The newest complete generation in `archive`: {id, its snapshot folder}. Throws when there is none.
inline std::pair<std::string, fs::path> newest_snapshot(const fs::path& archive) {
  std::vector<std::string> ids;
  for (const auto& e : fs::directory_iterator(archive))
    if (e.is_directory() && fs::exists(e.path() / "COMPLETE")) ids.push_back(e.path().filename().string());
  std::sort(ids.begin(), ids.end());
  if (ids.empty()) throw std::runtime_error("backup left no complete generation in " + archive.string());
  return {ids.back(), archive / ids.back() / "snapshot"};
}

// ----- sitekeeper runs and their logs ----------------------------------------------------------------

struct LogLine {
  Wall::time_point at;
  std::string text;  // after the timestamp
};

// Lines that start with spdlog's "%Y-%m-%dT%H:%M:%S.%e" (local time).
inline std::vector<LogLine> parse_log(const std::string& err) {
  std::vector<LogLine> out;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    if (line.size() < 24 || line[4] != '-' || line[10] != 'T' || line[19] != '.') continue;
    std::tm tm{};
    if (!strptime(line.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) continue;
    tm.tm_isdst = -1;
    const std::time_t t = std::mktime(&tm);
    const int ms = std::atoi(line.substr(20, 3).c_str());
    out.push_back({Wall::from_time_t(t) + std::chrono::milliseconds(ms), line.substr(24)});
  }
  return out;
}

struct SkRun {
  double seconds = 0;
  Wall::time_point started, ended;  // wall clock around the process
  Steady::time_point steady_started, steady_ended;
  std::vector<LogLine> log;
  std::string out, err;
};

// `sitekeeper --config CONFIG --log-level info ARGS...`, timed; throws with its output when it fails.
inline SkRun run_sitekeeper(const fs::path& config, std::vector<std::string> args, const std::string& what) {
  std::vector<std::string> argv = {SK_BINARY, "--config", config.string(), "--log-level", "info"};
  argv.insert(argv.end(), args.begin(), args.end());
  SkRun r;
  test::RunOptions ro;
  ro.timeout = std::chrono::hours(2);
  r.started = Wall::now();
  r.steady_started = Steady::now();
  const int rc = test::run_command(argv, {}, &r.out, &r.err, ro);
  r.steady_ended = Steady::now();
  r.ended = Wall::now();
  r.seconds = secs(r.steady_ended - r.steady_started);
  if (rc != 0)
    throw std::runtime_error("sitekeeper " + what + " failed (exit " + std::to_string(rc) + ")\nstdout:\n" + tail(r.out) +
                             "\nstderr:\n" + tail(r.err));
  r.log = parse_log(r.err);
  return r;
}

// ----- the bare tool ---------------------------------------------------------------------------------

struct BareRun {
  double create = 0, restore = 0;
};

// CREATE DATABASE `db` TEMPLATE template0 + `pg_restore -j kJobs -d db SNAPSHOT` on `c`, each timed; a
// DROP and a CHECKPOINT before and a DROP after are not. `pgoptions` empty: the tool exactly as an
// operator types it; otherwise PGOPTIONS for its sessions. REQUIRES: the roles the dump names exist on
// `c` (else pg_restore reports errors and this throws).
inline BareRun bare_restore(const test::PgCluster& c, const fs::path& snapshot, const std::string& pgoptions = "",
                            const std::string& db = "bare") {
  BareRun r;
  {
    Conn k(admin(c));
    k.exec("DROP DATABASE IF EXISTS " + qi(db));
    k.exec("CHECKPOINT");  // every timed run starts from a clean buffer pool
    const auto t0 = Steady::now();
    k.exec("CREATE DATABASE " + qi(db) + " TEMPLATE template0");
    r.create = secs(Steady::now() - t0);
  }
  const std::vector<std::string> argv = {std::string(test::kPgBinDir) + "/pg_restore", "-j", std::to_string(kJobs),
                                         "-h", c.host(), "-p", std::to_string(c.port()),
                                         "-U", c.superuser(), "-d", db, snapshot.string()};
  test::Environment env = {{"PGPASSWORD", c.password()}, {"PGDATABASE", std::nullopt},
                           {"PGHOST", std::nullopt},     {"PGPORT", std::nullopt},
                           {"PGSERVICE", std::nullopt}};
  env["PGOPTIONS"] = pgoptions.empty() ? std::nullopt : std::optional<std::string>(pgoptions);
  std::string out, err;
  test::RunOptions ro;
  ro.timeout = std::chrono::hours(2);
  const auto t0 = Steady::now();
  const int rc = test::run_command(argv, env, &out, &err, ro);
  r.restore = secs(Steady::now() - t0);
  if (rc != 0) throw std::runtime_error("bare pg_restore failed (exit " + std::to_string(rc) + "):\n" + tail(out + err));
  Conn k(admin(c));
  k.exec("DROP DATABASE " + qi(db));  // keeps the server's state the same for the next run
  return r;
}

}  // namespace sk::bench
