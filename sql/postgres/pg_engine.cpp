#include "sql/postgres/pg_engine.hpp"

#include <algorithm>
#include <cstdlib>

#include <soci/soci.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "sql/ident.hpp"
#include "sql/postgres/pg_local.hpp"
#include "sql/postgres/pg_session.hpp"
#include "sql/postgres/pg_sql.hpp"

namespace sk::sql {

namespace {
namespace q = pg::q;
const char* kMaintenanceDb = "postgres";
}  // namespace

PgEngine::PgEngine(ServerConfig server, std::shared_ptr<ProcessRunner> runner)
    : server_(std::move(server)), runner_(std::move(runner)) {}

std::shared_ptr<soci::session> PgEngine::open(const std::string& db) const {
  if (!keep_) return pg::connect(server_, db, connect_timeout_);
  auto& kept = kept_[db];
  if (kept && kept.use_count() > 1) return pg::connect(server_, db, connect_timeout_);  // in use: a second one
  // A round trip is far cheaper than a new session, and a terminated or restarted backend shows here
  // rather than as a failed step.
  if (kept && pg::try_exec(*kept, q::kAlive)) kept.reset();
  // Bounded like a probe session: a kept session to a server that then died silently must fail
  // within the bound, not after TCP's retransmissions.
  if (!kept) kept = pg::connect(server_, db, connect_timeout_, /*probe=*/true);
  return kept;
}

void PgEngine::warm_up(const std::string& db) {
  if (!keep_) return;
  try {
    open(kMaintenanceDb);
    if (!db.empty()) open(db);
  } catch (const std::exception&) {
  }
}

std::string PgEngine::tool(const char* name) const { return (server_.bin_dir / name).string(); }

std::string PgEngine::conn(const std::string& db) const {
  return pg::conninfo(server_, db, connect_timeout_, false);
}

ProcessOptions PgEngine::tool_options(const CancelToken* cancel) const {
  ProcessOptions o;
  if (!server_.password.empty()) o.env["PGPASSWORD"] = server_.password;
  o.env["PGAPPNAME"] = "sitekeeper";
  o.cancel = cancel;
  return o;
}

PgEngine::~PgEngine() = default;

ProbeInfo PgEngine::probe(std::chrono::milliseconds timeout) {
  std::vector<pg::Row> rows;
  // Reuse the last probe's session; on any error drop it and probe once more on a fresh one, so a
  // probe never reports a server down just because an old connection broke.
  for (int attempt = 0; attempt < 2 && rows.empty(); ++attempt) {
    if (!probe_session_) probe_session_ = pg::connect(server_, kMaintenanceDb, timeout, /*probe=*/true);
    try {
      rows = pg::query(*probe_session_, q::kProbe, "probe");
    } catch (const Error&) {
      probe_session_.reset();
      if (attempt == 1) throw;
    }
  }
  ProbeInfo p;
  if (!rows.empty()) {
    std::string v = rows[0][0].value_or("");
    // "PostgreSQL 15.18 (Debian ...) on x86_64..." -> "PostgreSQL 15.18"
    auto sp = v.find(' ', v.find(' ') + 1);
    p.version = v.substr(0, sp);
    p.in_recovery = rows[0][1].value_or("0") == "1";
    p.read_only = p.in_recovery || rows[0][2].value_or("off") == "on";
  }
  return p;
}

bool PgEngine::database_exists(const std::string& db) {
  auto s = open(kMaintenanceDb);
  return pg::query_value(*s, q::database_exists(db), "look up database").has_value();
}

void PgEngine::backup(const std::string& db, const fs::path& out, int jobs, const CancelToken* cancel) {
  check_ident(db, "database");
  // -Fd with -j uses one synchronized snapshot across all workers, so the dump is consistent.
  run_checked(*runner_,
              {tool("pg_dump"), "--format=directory", "--jobs=" + std::to_string(jobs),
               "--file=" + out.string(), "--dbname=" + conn(db)},
              tool_options(cancel));
}

void PgEngine::base_backup(const fs::path& out, const CancelToken* cancel) {
  // Tar format keeps the archive a few files per generation; --wal-method=stream carries the WAL from
  // the start to the end of the copy (on a temporary slot), so the backup is consistent by itself.
  run_checked(*runner_,
              {tool("pg_basebackup"), "--pgdata=" + out.string(), "--format=tar", "--wal-method=stream",
               "--checkpoint=fast", "--manifest-checksums=SHA256", "--no-password", "--dbname=" + conn("postgres")},
              tool_options(cancel));
  for (const char* f : {"base.tar", "pg_wal.tar", "backup_manifest"})
    if (!fs::exists(out / f)) throw Error("pg_basebackup wrote no " + std::string(f) + " into " + show_path(out));
}

void PgEngine::verify_base_backup(const fs::path& backup, const fs::path& scratch, const CancelToken* cancel) {
  struct Remove {
    fs::path p;
    ~Remove() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } remove{scratch};
  if (fs::exists(scratch) && !fs::is_empty(scratch))
    throw SafetyError("scratch folder " + show_path(scratch) + " is not empty", "remove it; it holds an old unpacked copy");
  const fs::path data = scratch / "data";
  fs::create_directories(data);
  unpack_base_backup(*runner_, backup, data, cancel);
  ProcessOptions o;
  o.cancel = cancel;
  try {
    run_checked(*runner_, {tool("pg_verifybackup"), "--ignore=pg_tblspc", data.string()}, o);
  } catch (const Error& e) {
    throw Error(std::string("the physical base backup does not match its backup_manifest: ") + e.what(),
                "take a new backup; this one cannot be restored as it is");
  }
}

void PgEngine::check_snapshot(const fs::path& snapshot) {
  auto r = run_checked(*runner_, {tool("pg_restore"), "--list", snapshot.string()}, tool_options(nullptr));
  if (r.out.find("TABLE DATA") == std::string::npos && r.out.find("; Archive created") == std::string::npos)
    throw Error("pg_restore --list found no table of contents in " + snapshot.string());
}

void PgEngine::drop_database(const std::string& db) {
  auto s = open(kMaintenanceDb);
  // FORCE ends sessions first: a leftover staging copy may still be in use by a killed restore.
  pg::exec(*s, q::drop_database(db), "drop database " + db);
}

void PgEngine::restore_to_staging(const std::string& staging, const fs::path& snapshot, int jobs,
                                  const CancelToken* cancel) {
  drop_database(staging);
  long long server_kb = 0;
  {
    auto s = open(kMaintenanceDb);
    pg::exec(*s, q::create_staging_database(staging), "create staging database " + staging);
    server_kb = std::atoll(pg::query_value(*s, q::kMaintenanceWorkMemKb, "read maintenance_work_mem").value_or("0").c_str());
  }
  ProcessOptions o = tool_options(cancel);
  // The restore session builds every index and constraint: give it memory (at least 256MB, more when
  // the server is set higher, as the replica restore profile advises), and skip waiting for WAL
  // flushes (a crash mid-restore loses only the staging copy, which is rebuilt anyway).
  o.env["PGOPTIONS"] = "-c maintenance_work_mem=" + std::to_string(std::max(server_kb, 256LL * 1024)) +
                       "kB -c synchronous_commit=off";
  run_checked(*runner_,
              {tool("pg_restore"), "--exit-on-error", "--jobs=" + std::to_string(jobs),
               "--dbname=" + conn(staging), snapshot.string()},
              o);
}

void PgEngine::integrity_check(const std::string& db, const CancelToken* cancel) {
  run_checked(*runner_,
              // The positional connection string names exactly one database; a --database pattern
              // would fold case and expand wildcards in names like CM_CEN.
              {tool("pg_amcheck"), "--install-missing", "--heapallindexed", conn(db)},
              tool_options(cancel));
}

ReplicationState PgEngine::replication_state() {
  auto s = open(kMaintenanceDb);
  ReplicationState st;
  auto rows = pg::query(*s, q::kReceiver, "read WAL receiver");
  if (rows.empty()) {
    st.state = "no receiver";
    return st;
  }
  st.state = rows[0][0].value_or("");
  st.seconds_since_message = std::stod(rows[0][1].value_or("1e9"));
  st.lag_bytes = static_cast<std::uint64_t>(std::stod(rows[0][2].value_or("0")));
  st.lag_seconds = std::stod(rows[0][3].value_or("0"));
  st.heard_every = std::stod(rows[0][4].value_or("0")) / 2000.0;
  return st;
}

std::vector<SerialValue> PgEngine::read_serials(const std::string& db) {
  auto s = open(db);
  std::vector<SerialValue> out;
  for (auto& r : pg::query(*s, q::kSequences, "read sequences"))
    out.push_back(SerialValue{r[0].value_or(""), r[1].value_or(""), std::stoll(r[2].value_or("0"))});
  return out;
}

std::unique_ptr<ScratchServer> PgEngine::start_scratch(const fs::path& dir) {
  return start_scratch_cluster(server_, dir, runner_);
}

}  // namespace sk::sql
