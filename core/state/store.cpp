#include "core/state/store.hpp"

#include <chrono>

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/fsutil.hpp"

namespace sk {

namespace {

// Marks the file as ours in the SQLite header, so another program's database is never migrated.
constexpr int kApplicationId = 0x536b5354;  // "SkST"

// migrations[i] takes the schema from version i to i + 1. SOCI runs one statement per call, so a
// migration is a list of statements. Append only: a released migration never changes.
const std::vector<std::vector<const char*>> kMigrations = {
    {
        "CREATE TABLE job_runs ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " job TEXT NOT NULL,"
        " target TEXT NOT NULL DEFAULT '',"
        " started_at TEXT NOT NULL,"
        " started_ms INTEGER NOT NULL,"  // epoch ms, for an exact duration
        " ended_at TEXT NOT NULL DEFAULT '',"
        " outcome TEXT NOT NULL,"
        " message TEXT NOT NULL DEFAULT '',"
        " duration_ms INTEGER NOT NULL DEFAULT 0)",
        "CREATE INDEX job_runs_by_job ON job_runs (job, id)",
        "CREATE TABLE generations ("
        " id TEXT PRIMARY KEY,"
        " created_at TEXT NOT NULL,"
        " status TEXT NOT NULL,"
        " verified_at TEXT NOT NULL DEFAULT '',"
        " deep_verified_at TEXT NOT NULL DEFAULT '',"
        " size_bytes INTEGER NOT NULL DEFAULT 0,"
        " message TEXT NOT NULL DEFAULT '')",
        "CREATE TABLE replica_serving ("
        " replica TEXT PRIMARY KEY,"
        " backup_id TEXT NOT NULL,"
        " backup_time TEXT NOT NULL,"
        " restored_at TEXT NOT NULL)",
        "CREATE TABLE alerts ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " at TEXT NOT NULL,"
        " job TEXT NOT NULL,"
        " message TEXT NOT NULL)",
        "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    },
    {
        // What each replica served when: the status page's freshness timeline.
        "CREATE TABLE serving_history ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " replica TEXT NOT NULL,"
        " backup_id TEXT NOT NULL,"
        " backup_time TEXT NOT NULL,"
        " restored_at TEXT NOT NULL,"
        " restored_ms INTEGER NOT NULL)",
        "CREATE INDEX serving_history_by_time ON serving_history (restored_ms)",
        // The standby's lag as the HA loop saw it: the status page's lag plot.
        "CREATE TABLE lag_samples ("
        " at_ms INTEGER NOT NULL,"
        " lag_bytes INTEGER NOT NULL,"
        " lag_seconds REAL NOT NULL,"
        " state TEXT NOT NULL)",
        "CREATE INDEX lag_samples_by_time ON lag_samples (at_ms)",
    },
    {
        // Which generation each database of a replica serves: a site of several databases must
        // never be served at a mix of generations unnoticed.
        "CREATE TABLE replica_databases ("
        " replica TEXT NOT NULL,"
        " database TEXT NOT NULL,"
        " backup_id TEXT NOT NULL,"
        " PRIMARY KEY (replica, database))",
    },
};

std::string now_iso() { return iso_utc(std::chrono::system_clock::now()); }

long long now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// SOCI's sqlite3 backend splits its connect string on spaces; a quoted value may hold spaces but
// no quote.
std::string connect_string(const std::filesystem::path& file) {
  std::string p = file.string();
  if (p.find('"') != std::string::npos)
    throw Error("cannot open the state store " + show_path(file) + ": its path holds a double quote",
                "choose a state.path without \"");
  return "db=\"" + p + "\" timeout=10";
}

int pragma_int(soci::session& db, const char* pragma) {
  int v = 0;
  db << pragma, soci::into(v);
  return v;
}

int count_tables(soci::session& db) {
  int n = 0;
  db << "SELECT count(*) FROM sqlite_master WHERE type = 'table'", soci::into(n);
  return n;
}

// Prepares `sql` on a statement whose intos are set, binds its parameters and executes it; the
// caller then fetches row by row.
template <class Bind>
void run_query(soci::statement& st, const std::string& sql, Bind bind) {
  bind(st);
  st.alloc();
  st.prepare(sql);
  st.define_and_bind();
  st.execute();
}

const char* const kRunColumns =
    "SELECT id, job, target, started_at, ended_at, outcome, message, duration_ms FROM job_runs ";

}  // namespace

StateStore::StateStore(const std::filesystem::path& file) {
  std::error_code ec;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
  if (ec)
    throw Error("cannot create the folder of the state store " + show_path(file) + ": " +
                ec.message());
  try {
    db_ = std::make_unique<soci::session>(soci::sqlite3, connect_string(file));
    // The first read of the header is where SQLite notices a file that is not a database.
    int app_id = pragma_int(*db_, "PRAGMA application_id");
    int version = pragma_int(*db_, "PRAGMA user_version");
    // Without our application id only a fresh file (no version, no tables) may become a store.
    bool foreign = app_id != 0 ? app_id != kApplicationId : version != 0 || count_tables(*db_) > 0;
    if (foreign)
      throw Error(show_path(file) + " is an SQLite database but not a sitekeeper state store",
                  "point state.path at a new file or an existing state store");
    if (version > kSchemaVersion)
      throw Error("the state store " + show_path(file) + " has schema version " +
                      std::to_string(version) + ", newer than this sitekeeper knows (" +
                      std::to_string(kSchemaVersion) + ")",
                  "run the sitekeeper version that wrote it, or a newer one");
    std::string mode;
    *db_ << "PRAGMA journal_mode = WAL", soci::into(mode);
    migrate();
    // The store holds alert text, hosts and the failover journal: for the manager's eyes only, whatever
    // the umask of whoever first created it. SQLite gives its -wal and -shm files the database's mode.
    std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::replace, ec);
  } catch (const Error&) {
    throw;
  } catch (const soci::sqlite3_soci_error& e) {
    // The file exists but is not (or no longer) a database. soci-sqlite3.h brings the codes.
    if (e.result() == SQLITE_NOTADB || e.result() == SQLITE_CORRUPT)
      throw Error(show_path(file) + " is not an SQLite database, so not a sitekeeper state store",
                  "point state.path at a new file or an existing state store");
    throw Error("cannot open the state store " + show_path(file) + ": " + e.get_error_message());
  } catch (const soci::soci_error& e) {
    throw Error("cannot open the state store " + show_path(file) + ": " + e.get_error_message(),
                "is it an SQLite file written by sitekeeper?");
  }
}

StateStore::~StateStore() = default;

void StateStore::migrate() {
  if (kMigrations.size() != static_cast<std::size_t>(kSchemaVersion))
    throw Error("internal: kSchemaVersion and the migration list disagree");
  for (int v = pragma_int(*db_, "PRAGMA user_version"); v < kSchemaVersion; ++v) {
    soci::transaction tx(*db_);
    for (const char* sql : kMigrations[v]) *db_ << sql;
    // PRAGMA takes no bound parameters; these are integer constants of this file, not input.
    *db_ << "PRAGMA application_id = " + std::to_string(kApplicationId);
    *db_ << "PRAGMA user_version = " + std::to_string(v + 1);
    tx.commit();
  }
}

int StateStore::schema_version() {
  std::lock_guard lock(mu_);
  return pragma_int(*db_, "PRAGMA user_version");
}

std::int64_t StateStore::begin_run(const std::string& job, const std::string& target) {
  std::lock_guard lock(mu_);
  std::string at = now_iso(), outcome = "running";
  long long ms = now_ms();
  soci::transaction tx(*db_);
  *db_ << "INSERT INTO job_runs (job, target, started_at, started_ms, outcome)"
          " VALUES (:job, :target, :at, :ms, :outcome)",
      soci::use(job), soci::use(target), soci::use(at), soci::use(ms), soci::use(outcome);
  long long id = 0;
  *db_ << "SELECT last_insert_rowid()", soci::into(id);
  tx.commit();
  return id;
}

void StateStore::end_run(std::int64_t id, const std::string& outcome, const std::string& message) {
  std::lock_guard lock(mu_);
  std::string at = now_iso();
  long long ms = now_ms(), run = id;
  *db_ << "UPDATE job_runs SET ended_at = :at, outcome = :outcome, message = :message,"
          " duration_ms = max(0, :ms - started_ms) WHERE id = :id",
      soci::use(at), soci::use(outcome), soci::use(message), soci::use(ms), soci::use(run);
}

namespace {

// Runs a job_runs query whose parameters are bound by `bind`, collecting every row.
template <class Bind>
std::vector<JobRun> query_runs(soci::session& db, const std::string& where, Bind bind) {
  std::vector<JobRun> out;
  JobRun r;
  long long id = 0, duration = 0;
  soci::statement st(db);
  st.exchange(soci::into(id));
  st.exchange(soci::into(r.job));
  st.exchange(soci::into(r.target));
  st.exchange(soci::into(r.started_at));
  st.exchange(soci::into(r.ended_at));
  st.exchange(soci::into(r.outcome));
  st.exchange(soci::into(r.message));
  st.exchange(soci::into(duration));
  run_query(st, kRunColumns + where, bind);
  while (st.fetch()) {
    r.id = id;
    r.duration_ms = duration;
    out.push_back(r);
  }
  return out;
}

}  // namespace

std::vector<JobRun> StateStore::runs(int limit, const std::string& job) {
  std::lock_guard lock(mu_);
  long long lim = limit > 0 ? limit : -1;  // SQLite: a negative LIMIT means none
  if (job.empty())
    return query_runs(*db_, "ORDER BY id DESC LIMIT :lim",
                      [&](soci::statement& st) { st.exchange(soci::use(lim)); });
  return query_runs(*db_, "WHERE job = :job ORDER BY id DESC LIMIT :lim", [&](soci::statement& st) {
    st.exchange(soci::use(job));
    st.exchange(soci::use(lim));
  });
}

std::optional<JobRun> StateStore::last_run(const std::string& job, const std::string& outcome) {
  std::lock_guard lock(mu_);
  std::vector<JobRun> rows;
  if (outcome.empty())
    rows = query_runs(*db_, "WHERE job = :job ORDER BY id DESC LIMIT 1",
                      [&](soci::statement& st) { st.exchange(soci::use(job)); });
  else
    rows = query_runs(*db_, "WHERE job = :job AND outcome = :outcome ORDER BY id DESC LIMIT 1",
                      [&](soci::statement& st) {
                        st.exchange(soci::use(job));
                        st.exchange(soci::use(outcome));
                      });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::map<std::pair<std::string, std::string>, long long> StateStore::run_counts() {
  std::lock_guard lock(mu_);
  std::map<std::pair<std::string, std::string>, long long> out;
  soci::rowset<soci::row> rows =
      (db_->prepare << "SELECT job, outcome, count(*) FROM job_runs WHERE outcome <> 'running' GROUP BY job, outcome");
  for (const auto& r : rows) {
    // An aggregate has no declared type: SOCI's sqlite3 backend may hand it over as any of these.
    long long n = 0;
    switch (r.get_properties(2).get_data_type()) {
      case soci::dt_integer: n = r.get<int>(2); break;
      case soci::dt_long_long: n = r.get<long long>(2); break;
      case soci::dt_double: n = static_cast<long long>(r.get<double>(2)); break;
      default: n = std::stoll(r.get<std::string>(2)); break;
    }
    out[{r.get<std::string>(0), r.get<std::string>(1)}] = n;
  }
  return out;
}

void StateStore::put_generation(const GenerationRecord& g) {
  std::lock_guard lock(mu_);
  long long size = g.size_bytes;
  *db_ << "INSERT INTO generations (id, created_at, status, verified_at, deep_verified_at,"
          " size_bytes, message) VALUES (:id, :created, :status, :verified, :deep, :size, :message)"
          " ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at,"
          " status = excluded.status, verified_at = excluded.verified_at,"
          " deep_verified_at = excluded.deep_verified_at, size_bytes = excluded.size_bytes,"
          " message = excluded.message",
      soci::use(g.id), soci::use(g.created_at), soci::use(g.status), soci::use(g.verified_at),
      soci::use(g.deep_verified_at), soci::use(size), soci::use(g.message);
}

namespace {

template <class Bind>
std::vector<GenerationRecord> query_generations(soci::session& db, const std::string& where,
                                                Bind bind) {
  std::vector<GenerationRecord> out;
  GenerationRecord g;
  long long size = 0;
  soci::statement st(db);
  st.exchange(soci::into(g.id));
  st.exchange(soci::into(g.created_at));
  st.exchange(soci::into(g.status));
  st.exchange(soci::into(g.verified_at));
  st.exchange(soci::into(g.deep_verified_at));
  st.exchange(soci::into(size));
  st.exchange(soci::into(g.message));
  run_query(st,
            "SELECT id, created_at, status, verified_at, deep_verified_at, size_bytes, message"
            " FROM generations " + where,
            bind);
  while (st.fetch()) {
    g.size_bytes = size;
    out.push_back(g);
  }
  return out;
}

}  // namespace

std::optional<GenerationRecord> StateStore::generation(const std::string& id) {
  std::lock_guard lock(mu_);
  auto rows = query_generations(*db_, "WHERE id = :id",
                                [&](soci::statement& st) { st.exchange(soci::use(id)); });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<GenerationRecord> StateStore::generations() {
  std::lock_guard lock(mu_);
  return query_generations(*db_, "ORDER BY created_at DESC, id DESC", [](soci::statement&) {});
}

void StateStore::set_serving(const ReplicaServing& s, const std::vector<std::string>& databases) {
  std::lock_guard lock(mu_);
  soci::transaction tx(*db_);
  for (const auto& d : databases)
    *db_ << "INSERT INTO replica_databases (replica, database, backup_id) VALUES (:replica, :db, :id)"
            " ON CONFLICT (replica, database) DO UPDATE SET backup_id = excluded.backup_id",
        soci::use(s.replica), soci::use(d), soci::use(s.backup_id);
  *db_ << "INSERT INTO replica_serving (replica, backup_id, backup_time, restored_at)"
          " VALUES (:replica, :id, :time, :restored) ON CONFLICT (replica) DO UPDATE SET"
          " backup_id = excluded.backup_id, backup_time = excluded.backup_time,"
          " restored_at = excluded.restored_at",
      soci::use(s.replica), soci::use(s.backup_id), soci::use(s.backup_time),
      soci::use(s.restored_at);
  const long long at = now_ms();
  *db_ << "INSERT INTO serving_history (replica, backup_id, backup_time, restored_at, restored_ms)"
          " VALUES (:replica, :id, :time, :restored, :ms)",
      soci::use(s.replica), soci::use(s.backup_id), soci::use(s.backup_time), soci::use(s.restored_at), soci::use(at);
  tx.commit();
}

std::map<std::string, std::string> StateStore::serving_databases(const std::string& replica) {
  std::lock_guard lock(mu_);
  std::map<std::string, std::string> out;
  std::string db, id;
  soci::statement st = (db_->prepare << "SELECT database, backup_id FROM replica_databases WHERE replica = :replica",
                        soci::into(db), soci::into(id), soci::use(replica));
  st.execute();
  while (st.fetch()) out[db] = id;
  return out;
}

std::vector<ReplicaServing> StateStore::serving_history(long long since_ms) {
  std::lock_guard lock(mu_);
  std::vector<ReplicaServing> out;
  ReplicaServing r;
  soci::statement st = (db_->prepare << "SELECT replica, backup_id, backup_time, restored_at FROM serving_history"
                                        " WHERE restored_ms >= :since ORDER BY id",
                        soci::into(r.replica), soci::into(r.backup_id), soci::into(r.backup_time),
                        soci::into(r.restored_at), soci::use(since_ms));
  st.execute();
  while (st.fetch()) out.push_back(r);
  return out;
}

void StateStore::add_lag_sample(const LagSample& l) {
  std::lock_guard lock(mu_);
  *db_ << "INSERT INTO lag_samples (at_ms, lag_bytes, lag_seconds, state) VALUES (:at, :b, :s, :st)",
      soci::use(l.at_ms), soci::use(l.lag_bytes), soci::use(l.lag_seconds), soci::use(l.state);
  // Two days are kept: the page plots hours, and the table stays small.
  const long long horizon = l.at_ms - 48LL * 3600 * 1000;
  *db_ << "DELETE FROM lag_samples WHERE at_ms < :h", soci::use(horizon);
}

std::vector<LagSample> StateStore::lag_samples(long long since_ms) {
  std::lock_guard lock(mu_);
  std::vector<LagSample> out;
  LagSample l;
  soci::statement st = (db_->prepare << "SELECT at_ms, lag_bytes, lag_seconds, state FROM lag_samples"
                                        " WHERE at_ms >= :since ORDER BY at_ms",
                        soci::into(l.at_ms), soci::into(l.lag_bytes), soci::into(l.lag_seconds), soci::into(l.state),
                        soci::use(since_ms));
  st.execute();
  while (st.fetch()) out.push_back(l);
  return out;
}

std::optional<ReplicaServing> StateStore::serving(const std::string& replica) {
  std::lock_guard lock(mu_);
  ReplicaServing s;
  *db_ << "SELECT replica, backup_id, backup_time, restored_at FROM replica_serving"
          " WHERE replica = :replica",
      soci::into(s.replica), soci::into(s.backup_id), soci::into(s.backup_time),
      soci::into(s.restored_at), soci::use(replica);
  if (!db_->got_data()) return std::nullopt;
  return s;
}

void StateStore::add_alert(const std::string& job, const std::string& message) {
  std::lock_guard lock(mu_);
  std::string at = now_iso();
  *db_ << "INSERT INTO alerts (at, job, message) VALUES (:at, :job, :message)", soci::use(at),
      soci::use(job), soci::use(message);
}

std::vector<Alert> StateStore::alerts(int limit) {
  std::lock_guard lock(mu_);
  std::vector<Alert> out;
  Alert a;
  long long id = 0, lim = limit > 0 ? limit : -1;
  soci::statement st = (db_->prepare << "SELECT id, at, job, message FROM alerts"
                                        " ORDER BY id DESC LIMIT :lim",
                        soci::into(id), soci::into(a.at), soci::into(a.job), soci::into(a.message),
                        soci::use(lim));
  st.execute();
  while (st.fetch()) {
    a.id = id;
    out.push_back(a);
  }
  return out;
}

void StateStore::put(const std::string& key, const std::string& value) {
  std::lock_guard lock(mu_);
  *db_ << "INSERT INTO kv (key, value) VALUES (:key, :value)"
          " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      soci::use(key), soci::use(value);
}

bool StateStore::put_if(const std::string& key, const std::string& expected, const std::string& value) {
  std::lock_guard lock(mu_);
  soci::statement st = (db_->prepare << "INSERT INTO kv (key, value) VALUES (:key, :value)"
                                         " ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE kv.value = :expected",
                        soci::use(key), soci::use(value), soci::use(expected));
  st.execute(true);
  return st.get_affected_rows() == 1;
}

std::optional<std::string> StateStore::get(const std::string& key) {
  std::lock_guard lock(mu_);
  std::string value;
  *db_ << "SELECT value FROM kv WHERE key = :key", soci::into(value), soci::use(key);
  if (!db_->got_data()) return std::nullopt;
  return value;
}

}  // namespace sk
