#include "core/state/store.hpp"

#include <chrono>

#include <nlohmann/json.hpp>
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
    {
        // With [dcs] the site's state lives in etcd and every manager keeps a copy here: a run or an
        // alert is known by its origin (which manager, when, its id there), so a copy applied twice
        // stays one row.
        "ALTER TABLE job_runs ADD COLUMN manager TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE job_runs ADD COLUMN origin TEXT",
        "CREATE UNIQUE INDEX job_runs_by_origin ON job_runs (origin)",
        "CREATE INDEX job_runs_by_start ON job_runs (job, started_ms)",
        "ALTER TABLE alerts ADD COLUMN origin TEXT",
        "CREATE UNIQUE INDEX alerts_by_origin ON alerts (origin)",
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
    "SELECT id, job, target, started_at, ended_at, outcome, message, duration_ms, started_ms, manager,"
    " coalesce(origin, '') FROM job_runs ";
// Newest first by when they started: with [dcs] a run copied from another manager gets a local id
// later than runs that started after it.
const char* const kNewestFirst = " ORDER BY started_ms DESC, id DESC";

nlohmann::json run_json(const JobRun& r) {
  return {{"job", r.job},         {"target", r.target},     {"started_at", r.started_at},
          {"started_ms", r.started_ms}, {"ended_at", r.ended_at}, {"outcome", r.outcome},
          {"message", r.message}, {"duration_ms", r.duration_ms}, {"manager", r.manager}};
}

// A value read from the shared state that is not what its path needs: refused whole.
[[noreturn]] void bad_shared(const std::string& path, const std::string& why) {
  throw Error("the shared state's " + path + " is not a sitekeeper record: " + why,
              "was it written by a newer sitekeeper, or by hand?");
}

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

void StateStore::set_mirror(std::shared_ptr<StateMirror> mirror, std::string manager) {
  std::lock_guard lock(mu_);
  mirror_ = std::move(mirror);
  manager_ = std::move(manager);
}

bool StateStore::local_key(const std::string& key) {
  return key.rfind("health.", 0) == 0 || key.rfind("daemon.", 0) == 0;
}

namespace {
thread_local const CancelToken* tls_writer = nullptr;

void refuse_if_cancelled(const std::string& path) {
  if (tls_writer && tls_writer->cancelled())
    throw Error("the write of " + path + " was refused: the operation it belongs to was cancelled (its manager "
                "stopped leading or is stopping)",
                "the leading manager redoes or resumes it", kRefused);
}
}  // namespace

WriterScope::WriterScope(const CancelToken* token) : previous_(tls_writer) { tls_writer = token; }
WriterScope::~WriterScope() { tls_writer = previous_; }
const CancelToken* WriterScope::current() { return tls_writer; }

void StateStore::mirror_put(const std::string& path, const std::string& value) {
  if (!mirror_) return;
  refuse_if_cancelled(path);
  mirror_->put(path, value);
}

std::int64_t StateStore::begin_run(const std::string& job, const std::string& target) {
  std::lock_guard lock(mu_);
  JobRun r;
  r.job = job;
  r.target = target;
  r.outcome = "running";
  r.manager = manager_;
  r.started_ms = now_ms();
  r.started_at = iso_utc(std::chrono::system_clock::time_point(std::chrono::milliseconds(r.started_ms)));
  soci::transaction tx(*db_);
  *db_ << "INSERT INTO job_runs (job, target, started_at, started_ms, outcome, manager)"
          " VALUES (:job, :target, :at, :ms, :outcome, :manager)",
      soci::use(r.job), soci::use(r.target), soci::use(r.started_at), soci::use(r.started_ms), soci::use(r.outcome),
      soci::use(r.manager);
  long long id = 0;
  *db_ << "SELECT last_insert_rowid()", soci::into(id);
  if (mirror_) {
    std::string origin = manager_ + "." + std::to_string(r.started_ms) + "." + std::to_string(id);
    *db_ << "UPDATE job_runs SET origin = :origin WHERE id = :id", soci::use(origin), soci::use(id);
    mirror_put("runs/" + origin, run_json(r).dump());
  }
  tx.commit();  // not reached when the shared state refused the run: the row is rolled back
  return id;
}

namespace {

// Runs a job_runs query whose parameters are bound by `bind`, collecting every row.
template <class Bind>
std::vector<JobRun> query_runs(soci::session& db, const std::string& where, Bind bind) {
  std::vector<JobRun> out;
  JobRun r;
  long long id = 0, duration = 0, started = 0;
  soci::statement st(db);
  st.exchange(soci::into(id));
  st.exchange(soci::into(r.job));
  st.exchange(soci::into(r.target));
  st.exchange(soci::into(r.started_at));
  st.exchange(soci::into(r.ended_at));
  st.exchange(soci::into(r.outcome));
  st.exchange(soci::into(r.message));
  st.exchange(soci::into(duration));
  st.exchange(soci::into(started));
  st.exchange(soci::into(r.manager));
  st.exchange(soci::into(r.origin));
  run_query(st, kRunColumns + where, bind);
  while (st.fetch()) {
    r.id = id;
    r.duration_ms = duration;
    r.started_ms = started;
    out.push_back(r);
  }
  return out;
}

}  // namespace

void StateStore::end_run(std::int64_t id, const std::string& outcome, const std::string& message) {
  std::lock_guard lock(mu_);
  std::string at = now_iso();
  long long ms = now_ms(), run = id;
  soci::transaction tx(*db_);
  *db_ << "UPDATE job_runs SET ended_at = :at, outcome = :outcome, message = :message,"
          " duration_ms = max(0, :ms - started_ms) WHERE id = :id",
      soci::use(at), soci::use(outcome), soci::use(message), soci::use(ms), soci::use(run);
  if (mirror_) {
    auto rows = query_runs(*db_, "WHERE id = :id", [&](soci::statement& st) { st.exchange(soci::use(run)); });
    if (!rows.empty()) {
      JobRun& r = rows.front();
      if (r.origin.empty()) {  // begun before [dcs] was configured: named now
        r.origin = (r.manager.empty() ? manager_ : r.manager) + "." + std::to_string(r.started_ms) + "." +
                   std::to_string(r.id);
        *db_ << "UPDATE job_runs SET origin = :origin WHERE id = :id", soci::use(r.origin), soci::use(run);
      }
      mirror_put("runs/" + r.origin, run_json(r).dump());
    }
  }
  tx.commit();
}

std::vector<JobRun> StateStore::runs(int limit, const std::string& job) {
  std::lock_guard lock(mu_);
  long long lim = limit > 0 ? limit : -1;  // SQLite: a negative LIMIT means none
  if (job.empty())
    return query_runs(*db_, std::string(kNewestFirst) + " LIMIT :lim",
                      [&](soci::statement& st) { st.exchange(soci::use(lim)); });
  return query_runs(*db_, "WHERE job = :job" + std::string(kNewestFirst) + " LIMIT :lim", [&](soci::statement& st) {
    st.exchange(soci::use(job));
    st.exchange(soci::use(lim));
  });
}

std::optional<JobRun> StateStore::last_run(const std::string& job, const std::string& outcome) {
  std::lock_guard lock(mu_);
  std::vector<JobRun> rows;
  if (outcome.empty())
    rows = query_runs(*db_, "WHERE job = :job" + std::string(kNewestFirst) + " LIMIT 1",
                      [&](soci::statement& st) { st.exchange(soci::use(job)); });
  else
    rows = query_runs(*db_, "WHERE job = :job AND outcome = :outcome" + std::string(kNewestFirst) + " LIMIT 1",
                      [&](soci::statement& st) {
                        st.exchange(soci::use(job));
                        st.exchange(soci::use(outcome));
                      });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::optional<JobRun> StateStore::last_run_except(const std::string& job, const std::string& outcome) {
  std::lock_guard lock(mu_);
  auto rows = query_runs(*db_, "WHERE job = :job AND outcome <> :outcome" + std::string(kNewestFirst) + " LIMIT 1",
                         [&](soci::statement& st) {
                           st.exchange(soci::use(job));
                           st.exchange(soci::use(outcome));
                         });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<JobRun> StateStore::running_runs() {
  std::lock_guard lock(mu_);
  return query_runs(*db_, "WHERE outcome = 'running'" + std::string(kNewestFirst), [](soci::statement&) {});
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
  mirror_put("generations/" + g.id, nlohmann::json{{"id", g.id},
                                                   {"created_at", g.created_at},
                                                   {"status", g.status},
                                                   {"verified_at", g.verified_at},
                                                   {"deep_verified_at", g.deep_verified_at},
                                                   {"size_bytes", g.size_bytes},
                                                   {"message", g.message}}
                                        .dump());
  put_generation_locked(g);
}

void StateStore::put_generation_locked(const GenerationRecord& g) {
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
  mirror_put("serving/" + s.replica, nlohmann::json{{"backup_id", s.backup_id},
                                                    {"backup_time", s.backup_time},
                                                    {"restored_at", s.restored_at},
                                                    {"databases", databases}}
                                         .dump());
  set_serving_locked(s, databases);
}

void StateStore::set_serving_locked(const ReplicaServing& s, const std::vector<std::string>& databases) {
  std::optional<soci::transaction> tx;
  if (!in_batch_) tx.emplace(*db_);
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
  if (tx) tx->commit();
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
  mirror_put("probe/lag", nlohmann::json{{"at_ms", l.at_ms}, {"lag_bytes", l.lag_bytes}, {"lag_seconds", l.lag_seconds},
                                         {"state", l.state}}
                              .dump());
  add_lag_sample_locked(l);
}

void StateStore::add_lag_sample_locked(const LagSample& l) {
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
  soci::transaction tx(*db_);
  *db_ << "INSERT INTO alerts (at, job, message) VALUES (:at, :job, :message)", soci::use(at),
      soci::use(job), soci::use(message);
  if (mirror_) {
    long long id = 0;
    *db_ << "SELECT last_insert_rowid()", soci::into(id);
    std::string origin = manager_ + "." + std::to_string(now_ms()) + "." + std::to_string(id);
    *db_ << "UPDATE alerts SET origin = :origin WHERE id = :id", soci::use(origin), soci::use(id);
    mirror_put("alerts/" + origin, nlohmann::json{{"at", at}, {"job", job}, {"message", message}}.dump());
  }
  tx.commit();
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
  if (!local_key(key)) mirror_put("kv/" + key, value);
  put_locked(key, value);
}

void StateStore::put_locked(const std::string& key, const std::string& value) {
  *db_ << "INSERT INTO kv (key, value) VALUES (:key, :value)"
          " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      soci::use(key), soci::use(value);
}

bool StateStore::put_if(const std::string& key, const std::string& expected, const std::string& value) {
  std::lock_guard lock(mu_);
  if (mirror_ && !local_key(key)) {
    // The shared state decides; this file follows it.
    refuse_if_cancelled("kv/" + key);
    if (!mirror_->put_if("kv/" + key, expected, value)) return false;
    put_locked(key, value);
    return true;
  }
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

namespace {

const nlohmann::json& field(const nlohmann::json& j, const char* name, const std::string& path) {
  if (!j.is_object() || !j.contains(name)) bad_shared(path, std::string("it has no ") + name);
  return j.at(name);
}
std::string text_field(const nlohmann::json& j, const char* name, const std::string& path) {
  const auto& v = field(j, name, path);
  if (!v.is_string()) bad_shared(path, std::string(name) + " is not a string");
  return v.get<std::string>();
}
long long number_field(const nlohmann::json& j, const char* name, const std::string& path) {
  const auto& v = field(j, name, path);
  if (!v.is_number()) bad_shared(path, std::string(name) + " is not a number");
  return v.get<long long>();
}

}  // namespace

void StateStore::apply_shared(const std::string& path, const std::string& value) {
  std::lock_guard lock(mu_);
  apply_shared_locked(path, value);
}

void StateStore::apply_shared_all(const std::vector<std::pair<std::string, std::string>>& facts, std::string* skipped) {
  std::lock_guard lock(mu_);
  soci::transaction tx(*db_);
  in_batch_ = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{in_batch_};
  for (const auto& [path, value] : facts) {
    try {
      apply_shared_locked(path, value);
    } catch (const Error& e) {
      if (skipped) *skipped += (skipped->empty() ? "" : "; ") + std::string(e.what());
    }
  }
  tx.commit();
}

void StateStore::apply_shared_locked(const std::string& path, const std::string& value) {
  const auto slash = path.find('/');
  if (slash == std::string::npos || slash + 1 == path.size()) return;
  const std::string table = path.substr(0, slash), name = path.substr(slash + 1);
  if (table == "kv") {
    if (!local_key(name)) put_locked(name, value);
    return;
  }
  if (table != "runs" && table != "alerts" && table != "generations" && table != "serving" && table != "probe") return;
  nlohmann::json j = nlohmann::json::parse(value, nullptr, false);
  if (j.is_discarded()) bad_shared(path, "it is not JSON");
  if (table == "runs") {
    JobRun r;
    r.job = text_field(j, "job", path);
    r.target = text_field(j, "target", path);
    r.started_at = text_field(j, "started_at", path);
    r.started_ms = number_field(j, "started_ms", path);
    r.ended_at = text_field(j, "ended_at", path);
    r.outcome = text_field(j, "outcome", path);
    r.message = text_field(j, "message", path);
    r.duration_ms = number_field(j, "duration_ms", path);
    r.manager = text_field(j, "manager", path);
    long long duration = r.duration_ms;
    *db_ << "INSERT INTO job_runs (job, target, started_at, started_ms, ended_at, outcome, message, duration_ms,"
            " manager, origin) VALUES (:job, :target, :at, :ms, :ended, :outcome, :message, :duration, :manager,"
            " :origin) ON CONFLICT (origin) DO UPDATE SET ended_at = excluded.ended_at, outcome = excluded.outcome,"
            " message = excluded.message, duration_ms = excluded.duration_ms",
        soci::use(r.job), soci::use(r.target), soci::use(r.started_at), soci::use(r.started_ms), soci::use(r.ended_at),
        soci::use(r.outcome), soci::use(r.message), soci::use(duration), soci::use(r.manager), soci::use(name);
  } else if (table == "alerts") {
    std::string at = text_field(j, "at", path), job = text_field(j, "job", path), message = text_field(j, "message", path);
    *db_ << "INSERT INTO alerts (at, job, message, origin) VALUES (:at, :job, :message, :origin)"
            " ON CONFLICT (origin) DO NOTHING",
        soci::use(at), soci::use(job), soci::use(message), soci::use(name);
  } else if (table == "generations") {
    GenerationRecord g;
    g.id = text_field(j, "id", path);
    g.created_at = text_field(j, "created_at", path);
    g.status = text_field(j, "status", path);
    g.verified_at = text_field(j, "verified_at", path);
    g.deep_verified_at = text_field(j, "deep_verified_at", path);
    g.size_bytes = number_field(j, "size_bytes", path);
    g.message = text_field(j, "message", path);
    put_generation_locked(g);
  } else if (table == "serving") {
    ReplicaServing sv{name, text_field(j, "backup_id", path), text_field(j, "backup_time", path),
                      text_field(j, "restored_at", path)};
    const auto& dbs = field(j, "databases", path);
    std::vector<std::string> databases;
    if (!dbs.is_array()) bad_shared(path, "databases is not a list");
    for (const auto& d : dbs) {
      if (!d.is_string()) bad_shared(path, "a database is not a string");
      databases.push_back(d.get<std::string>());
    }
    // The same record seen again (a full read after a restart) adds nothing to the timeline.
    std::string id, restored;
    *db_ << "SELECT backup_id, restored_at FROM replica_serving WHERE replica = :replica", soci::into(id),
        soci::into(restored), soci::use(name);
    if (db_->got_data() && id == sv.backup_id && restored == sv.restored_at) return;
    set_serving_locked(sv, databases);
  } else if (name == "lag") {
    LagSample l{number_field(j, "at_ms", path), number_field(j, "lag_bytes", path), 0.0, text_field(j, "state", path)};
    const auto& sec = field(j, "lag_seconds", path);
    if (!sec.is_number()) bad_shared(path, "lag_seconds is not a number");
    l.lag_seconds = sec.get<double>();
    long long newest = 0;
    soci::indicator ind = soci::i_ok;
    *db_ << "SELECT max(at_ms) FROM lag_samples", soci::into(newest, ind);
    if (ind == soci::i_ok && l.at_ms <= newest) return;
    add_lag_sample_locked(l);
  }
}

}  // namespace sk
