#pragma once
// A scripted engine for unit tests: every operation is recorded in a shared World (engines are made per
// thread, so they share one log), and World::on_call may throw to script a failure at any operation.
// backup() writes a small fake snapshot, so the archive around it is real.
// Thread-safety: World is safe from any thread; each FakeEngine is used by one thread, as any Engine.
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "sql/engine.hpp"
#include "support/files.hpp"

namespace sk::test {

struct Call {
  std::string server, op, arg;
};

// Shared by every fake engine a job makes (engines are made per thread): the call log and the script.
struct World {
  std::mutex mu;
  std::vector<Call> calls;
  // Runs at the start of every engine operation, outside the lock; may throw to script a failure.
  std::function<void(const Call&)> on_call;
  // database_exists answers; default: every database exists.
  std::function<bool(const std::string& server, const std::string& db)> exists;
  size_t snapshot_bytes = 64 * 1024;
  bool swaps_together = true;  // supports(Duty::swap_together)
  std::string script = "-- sitekeeper permission script\nCREATE ROLE \"helpdesk\" WITH LOGIN;\n"
                       "GRANT CONNECT ON DATABASE \"CM_CEN\" TO \"helpdesk\";\n";

  // Physical replicas: servers stopped by stop_server (all run until then).
  std::set<std::string> stopped;

  void record(const std::string& server, const std::string& op, const std::string& arg = {}) {
    Call c{server, op, arg};
    {
      std::lock_guard lock(mu);
      calls.push_back(c);
    }
    if (on_call) on_call(c);
  }
  std::vector<Call> log() {
    std::lock_guard lock(mu);
    return calls;
  }
  void clear() {
    std::lock_guard lock(mu);
    calls.clear();
  }
  // The replica duties one server saw, in order (probes and cheap reads left out).
  std::vector<std::string> ops(const std::string& server) {
    std::vector<std::string> out;
    for (const auto& c : log())
      if (c.server == server && c.op != "database_exists" && c.op != "check_snapshot") out.push_back(c.op);
    return out;
  }
  std::vector<Call> calls_of(const std::string& op) {
    std::vector<Call> out;
    for (const auto& c : log())
      if (c.op == op) out.push_back(c);
    return out;
  }
};

class FakeEngine : public sql::Engine {
 public:
  FakeEngine(std::string server, std::shared_ptr<World> w) : server_(std::move(server)), w_(std::move(w)) {}

  std::string dialect() const override { return "postgresql"; }
  sql::ProbeInfo probe(std::chrono::milliseconds) override {
    w_->record(server_, "probe");
    return {"PostgreSQL 15.8", false, false};
  }
  bool database_exists(const std::string& db) override {
    w_->record(server_, "database_exists", db);
    return w_->exists ? w_->exists(server_, db) : true;
  }
  void backup(const std::string& db, const fs::path& out, int, const CancelToken*) override {
    w_->record(server_, "backup", db);
    write(out / "toc.dat", "table of contents of " + db);
    std::string rows(w_->snapshot_bytes, '\0');
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<char>('a' + (i * 7) % 26);
    write(out / "3001.dat", rows);
    write(out / "sub dir é" / "3002.dat", "second table");
  }
  void base_backup(const fs::path& out, const CancelToken*) override {
    w_->record(server_, "base_backup", out.string());
    write(out / "base.tar", "tar of the data directory");
    write(out / "pg_wal.tar", "tar of the WAL");
    write(out / "backup_manifest", "{\"PostgreSQL-Backup-Manifest-Version\": 1}");
  }
  void verify_base_backup(const fs::path& backup, const fs::path& scratch, const CancelToken*) override {
    w_->record(server_, "verify_base_backup", backup.string() + "|" + scratch.string());
  }
  void check_snapshot(const fs::path& snapshot) override {
    w_->record(server_, "check_snapshot", snapshot.string());
    if (!fs::exists(snapshot / "toc.dat")) throw Error("pg_restore: could not open toc.dat");
  }
  void restore_to_staging(const std::string& staging, const fs::path& snapshot, int,
                          const CancelToken*) override {
    w_->record(server_, "restore_to_staging", staging + "|" + snapshot.string());
  }
  void drop_database(const std::string& db) override { w_->record(server_, "drop_database", db); }
  void integrity_check(const std::string& db, const CancelToken*) override {
    w_->record(server_, "integrity_check", db);
  }
  void make_read_only(const std::string& db, const std::vector<std::string>& readers) override {
    std::string r;
    for (const auto& x : readers) r += (r.empty() ? "" : ",") + x;
    w_->record(server_, "make_read_only", db + "|" + r);
  }
  sql::ValidationReport validate(const std::string& db, const std::vector<std::string>& queries,
                                 const std::vector<std::string>& readers) override {
    w_->record(server_, "validate", db + "|" + std::to_string(queries.size()) + "|" + std::to_string(readers.size()));
    return {{"smoke query", "write refused for helpdesk"}};
  }
  void swap_in(const std::string& live, const std::string& staging, std::chrono::milliseconds) override {
    w_->record(server_, "swap_in", live + "|" + staging);
  }
  bool supports(sql::Duty d) const override { return d == sql::Duty::swap_together && w_->swaps_together; }
  void swap_in_all(const std::vector<sql::SwapPair>& swaps, std::chrono::milliseconds timeout) override {
    if (swaps.size() == 1) return swap_in(swaps[0].live, swaps[0].staging, timeout);
    std::string all;
    for (const auto& sw : swaps) all += (all.empty() ? "" : ";") + sw.live + "|" + sw.staging;
    w_->record(server_, "swap_in_all", all);
  }
  sql::PermissionScript capture_permissions(const std::string& db) override {
    w_->record(server_, "capture_permissions", db);
    return {w_->script};
  }
  sql::RoleUndo replay_roles(const sql::PermissionScript& script, const sql::RoleReplay& how) override {
    w_->record(server_, "replay_roles", script.text);
    return {how.replica ? "replica" : "as captured"};
  }
  void undo_roles(const sql::RoleUndo& undo) override { w_->record(server_, "undo_roles", undo.data); }
  void replay_grants(const sql::PermissionScript&, const std::string& db) override {
    w_->record(server_, "replay_grants", db);
  }
  nlohmann::json capture_profile(const std::string& db) override {
    w_->record(server_, "capture_profile", db);
    return {{"engine", "postgresql"}, {"database", db}};
  }
  // A physical copy is a folder holding PG_VERSION and `copy` (which backup it came from).
  void restore_physical_copy(const fs::path& backup, const fs::path& dir, const CancelToken*) override {
    w_->record(server_, "restore_physical_copy", dir.filename().string());
    write(dir / "PG_VERSION", "15");
    write(dir / "copy", "restored from " + backup.parent_path().filename().string());
  }
  ServerConfig start_physical_copy(const fs::path& dir) override {
    w_->record(server_, "start_physical_copy", dir.filename().string());
    ServerConfig c;
    c.name = server_ + " (new copy)";
    c.data_dir = dir;
    return c;
  }
  sql::ValidationReport validate_physical_copy(const std::vector<std::string>& dbs,
                                               const std::vector<std::string>& queries) override {
    w_->record(server_, "validate_physical_copy", std::to_string(dbs.size()) + "|" + std::to_string(queries.size()));
    return {{"paused hot standby", "write refused"}};
  }
  void stop_physical_copy(const fs::path& dir) override {
    w_->record(server_, "stop_physical_copy", dir.filename().string());
  }
  void stop_server() override {
    w_->record(server_, "stop_server");
    std::lock_guard lock(w_->mu);
    w_->stopped.insert(server_);
  }
  void start_server() override {
    w_->record(server_, "start_server");
    std::lock_guard lock(w_->mu);
    w_->stopped.erase(server_);
  }
  bool server_running() override {
    std::lock_guard lock(w_->mu);
    return !w_->stopped.count(server_);
  }

  sql::ReplicationState replication_state() override {
    w_->record(server_, "replication_state");
    return {};
  }
  std::vector<sql::SerialValue> read_serials(const std::string& db) override {
    w_->record(server_, "read_serials", db);
    return {};
  }

 private:
  std::string server_;
  std::shared_ptr<World> w_;
};

}  // namespace sk::test
