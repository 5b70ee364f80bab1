#pragma once
// A simulated site for runbook tests: servers held in memory (reachable or not, primary or in
// recovery, fenced, closed to clients, an epoch, serial values, WAL positions), and an engine that does
// every standby duty on them. SimWorld also holds the call log and the faults that FaultyEngine
// (faulty_engine.hpp) applies, so tests can assert what ran, in which order, and what never ran.
// Thread-safety: SimWorld is safe from any thread (one mutex); engines are used by one thread each.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "sql/engine.hpp"

namespace sk::test {

struct SimServer {
  bool reachable = true;
  bool in_recovery = false;
  bool fenced = false;          // refuses writes: fence() ran
  bool closed = false;          // clients kept out: promote_closed() ran, open_to_clients() not yet
  int connection_limit = -1;
  long epoch = 0;
  std::uint64_t wal = 1000;     // current (primary) or replayed (standby) position
  bool streaming = true;        // a standby's receiver
  double heard_seconds_ago = 0.5;
  std::map<std::string, std::int64_t> serials = {{"public.status_messages_record_id_seq", 100}};
  std::string synchronous;      // synchronous_standby_names
  std::vector<std::string> profile_applied;
  int roles_replayed = 0, grants_replayed = 0;
  std::set<std::string> databases = {"CM_CEN"};
  bool read_only_default = false;  // a replica's database default (make_read_only)
  // A site of several databases: the serials of each further database by its name (a staging copy
  // "<db>__sk_staging" shares its database's); a database not here uses `serials`.
  std::map<std::string, std::map<std::string, std::int64_t>> serials_of;
  // Every operation that names a database, as "op db", in call order; databases closed to clients.
  std::vector<std::string> acted;
  std::set<std::string> closed_dbs;
};

// What a fault does when its operation is called.
struct Fault {
  enum Kind { fail, hang } kind = fail;
  int times = -1;               // how many calls it hits; -1: every call
  std::string message = "simulated failure";
};

class SimWorld {
 public:
  SimWorld() {
    servers["cm1"] = SimServer{};
    SimServer standby;
    standby.in_recovery = true;
    servers["cm2"] = standby;
  }

  std::map<std::string, SimServer> servers;
  // What the archived WAL holds for a physical recovery (Engine::wal_coverage): `wal_missing` names a
  // gap ("" none); the newest WAL file was written at `wal_newest_at`. What the last prepare_recovery
  // was asked to recover to ("end", or the target's time or position).
  std::string wal_missing;
  std::string wal_newest_at = "2026-11-22T03:00:00Z";
  std::string recovered_until;

  // Faults by "server.op" (e.g. "cm2.promote_closed"), or "*.op" for every server.
  void fault(const std::string& key, Fault f) {
    std::lock_guard lock(mu_);
    faults_[key] = f;
  }
  void clear_faults() {
    std::lock_guard lock(mu_);
    faults_.clear();
  }
  // Called at the start of every operation, outside the lock; may throw to script something.
  std::function<void(const std::string& server, const std::string& op)> on_call;

  // Records the call, then applies a fault: throws for fail; for hang, waits like a silent server:
  // `bound` (the engine's connect bound) when set, else a long time, then throws.
  void enter(const std::string& server, const std::string& op, std::optional<std::chrono::milliseconds> bound) {
    std::optional<Fault> f;
    {
      std::lock_guard lock(mu_);
      log_.push_back(server + "." + op);
      for (const auto& key : {server + "." + op, "*." + op}) {
        auto it = faults_.find(key);
        if (it == faults_.end() || it->second.times == 0) continue;
        if (it->second.times > 0) --it->second.times;
        f = it->second;
        break;
      }
    }
    if (on_call) on_call(server, op);
    if (!f) return;
    if (f->kind == Fault::hang) {
      std::this_thread::sleep_for(bound.value_or(std::chrono::seconds(30)));
      throw Error("cannot connect to server " + server + ": no answer (" + f->message + ")");
    }
    throw Error(f->message + " (" + server + "." + op + ")");
  }

  std::vector<std::string> log() {
    std::lock_guard lock(mu_);
    return log_;
  }
  int count(const std::string& call) {
    int n = 0;
    for (const auto& c : log()) n += c == call;
    return n;
  }
  // How many times `op_db` ("op db", SimServer::acted) ran on `server`.
  int acted(const std::string& server, const std::string& op_db) {
    std::lock_guard lock(mu_);
    const auto& a = servers.at(server).acted;
    return static_cast<int>(std::count(a.begin(), a.end(), op_db));
  }
  // Index of the first `call` in the log, or -1.
  int first(const std::string& call) {
    auto l = log();
    for (size_t i = 0; i < l.size(); ++i)
      if (l[i] == call) return static_cast<int>(i);
    return -1;
  }
  void clear_log() {
    std::lock_guard lock(mu_);
    log_.clear();
  }
  std::mutex& mu() { return mu_; }

 private:
  std::mutex mu_;
  std::map<std::string, Fault> faults_;
  std::vector<std::string> log_;
};

// Does what a PostgreSQL engine would do, on a SimServer; unreachable servers throw like a dead one.
// Wrap it in a FaultyEngine (faulty_engine.hpp) for the log and the faults.
class SimEngine : public sql::Engine {
 public:
  SimEngine(std::string name, std::shared_ptr<SimWorld> w, std::set<sql::Duty> unsupported = {}, fs::path data_dir = {})
      : name_(std::move(name)), w_(std::move(w)), unsupported_(std::move(unsupported)), data_dir_(std::move(data_dir)) {}

  std::string dialect() const override { return "postgresql"; }
  bool supports(sql::Duty d) const override { return !unsupported_.count(d); }

  sql::ProbeInfo probe(std::chrono::milliseconds) override {
    auto& s = at("probe");
    return {"PostgreSQL 15.18", s.in_recovery, s.in_recovery || s.fenced};
  }
  bool database_exists(const std::string& db) override { return at("database_exists").databases.count(db) > 0; }
  void backup(const std::string&, const fs::path&, int, const CancelToken*) override { at("backup"); }
  void check_snapshot(const fs::path&) override {}
  void restore_to_staging(const std::string& staging, const fs::path&, int, const CancelToken*) override {
    on("restore", staging).databases.insert(staging);
  }
  void drop_database(const std::string& db) override { at("drop_database").databases.erase(db); }
  void integrity_check(const std::string&, const CancelToken*) override {}
  void make_read_only(const std::string&, const std::vector<std::string>&) override {}
  sql::ValidationReport validate(const std::string&, const std::vector<std::string>&,
                                 const std::vector<std::string>&) override {
    return {};
  }
  void swap_in(const std::string& live, const std::string& staging, std::chrono::milliseconds) override {
    auto& s = on("swap_in", live);
    if (!s.databases.erase(staging)) throw Error("no database " + staging + " on " + name_);
    s.databases.insert(live);
  }
  sql::PermissionScript capture_permissions(const std::string&) override {
    at("capture_permissions");
    return {"-- sitekeeper permission script\nCREATE ROLE \"helpdesk\" WITH LOGIN PASSWORD 'x';\n"
            "GRANT CONNECT ON DATABASE \"CM_CEN\" TO \"helpdesk\";\n"};
  }
  sql::RoleUndo replay_roles(const sql::PermissionScript&, const sql::RoleReplay&) override {
    ++at("replay_roles").roles_replayed;
    return {};
  }
  void replay_grants(const sql::PermissionScript&, const std::string& db) override { ++on("replay_grants", db).grants_replayed; }
  nlohmann::json capture_profile(const std::string&) override {
    at("capture_profile");
    return {{"engine", "postgresql"}, {"alter_system", {{"work_mem", "7MB"}}}};
  }
  sql::ReplicationState replication_state() override {
    auto& s = at("replication_state");
    sql::ReplicationState r;
    r.state = s.in_recovery ? (s.streaming ? "streaming" : "stopped") : "no receiver";
    r.seconds_since_message = s.heard_seconds_ago;
    r.heard_every = 2;
    return r;
  }
  std::vector<sql::SerialValue> read_serials(const std::string& db) override {
    auto& s = at("read_serials");
    std::vector<sql::SerialValue> out;
    for (const auto& [k, v] : serials_in(s, db)) out.push_back({k.substr(0, k.find('.')), k.substr(k.find('.') + 1), v});
    return out;
  }
  void resync_serials(const std::string& db, const std::vector<sql::SerialValue>& targets) override {
    auto& s = writable("resync_serials");
    s.acted.push_back("resync_serials " + db);
    for (const auto& t : targets) {
      auto& v = serials_in(s, db)[t.schema + "." + t.name];
      v = std::max(v, t.value);
    }
  }
  std::string promote_closed(const std::string& db) override {
    auto& s = on("promote_closed", db);
    s.closed_dbs.insert(db);
    const int before = s.closed ? -1 : s.connection_limit;
    s.in_recovery = false;
    s.fenced = false;
    s.closed = true;
    return std::to_string(before);
  }
  void open_to_clients(const std::string& db, const std::string& token) override {
    auto& s = on("open_to_clients", db);
    s.closed_dbs.erase(db);
    s.closed = !s.closed_dbs.empty();
    s.connection_limit = std::stoi(token);
  }
  std::string fence(const std::string& db) override {
    on("fence", db).fenced = true;
    return name_ + " fenced";
  }
  void unfence(const std::string& db) override { on("unfence", db).fenced = false; }
  std::vector<std::string> apply_profile(const std::string& db, const nlohmann::json&) override {
    on("apply_profile", db).profile_applied.push_back("work_mem");
    return {};
  }
  std::string wal_position() override { return std::to_string(at("wal_position").wal); }
  std::uint64_t wal_distance(const std::string& a, const std::string& b) override {
    auto x = std::stoull(a), y = std::stoull(b);
    return x > y ? x - y : 0;
  }
  void smoke_test(const std::string& db) override { writable("smoke_test").acted.push_back("smoke_test " + db); }
  long read_epoch() override { return at("read_epoch").epoch; }
  void write_epoch(long e) override { writable("write_epoch").epoch = e; }
  void checkpoint() override { at("checkpoint"); }
  void lift_read_only(const std::string& db) override { on("lift_read_only", db).read_only_default = false; }
  void prepare_for_standby(const std::string&) override { at("prepare_for_standby"); }
  std::string kept_for_standby(const std::string&) override { return std::to_string(at("kept_for_standby").wal); }
  void set_synchronous_standby(const std::string& s) override { at("set_synchronous_standby").synchronous = s; }
  void build_standby(const ServerConfig&, const sql::StandbyTiming&) override { follow_primary("build_standby"); }
  void follow(const ServerConfig&, const sql::StandbyTiming&) override { follow_primary("follow"); }
  void rewind_onto(const ServerConfig&, const sql::StandbyTiming&) override { follow_primary("rewind_onto"); }
  void stop_server() override {}
  bool server_running() override { return true; }
  std::vector<std::string> describe(sql::Duty d, const sql::StepText& t) const override {
    return {std::string("-- ") + sql::to_string(d) + " on " + t.server};
  }
  // A physical base backup as files with the real names; its recovery on the server's data_dir: the
  // restore needs it empty and leaves PG_VERSION there, the replay brings the site database.
  void base_backup(const fs::path& out, const CancelToken*) override {
    at("base_backup");
    for (const char* f : {"base.tar", "pg_wal.tar", "backup_manifest"}) std::ofstream(out / f) << f;
  }
  // Files only: a stopped server does not matter.
  void verify_base_backup(const fs::path&, const fs::path&, const CancelToken*) override {}
  WalCoverage wal_coverage(const fs::path&, const fs::path&, const std::string&) override {
    std::lock_guard lock(w_->mu());
    return {w_->wal_missing, "000000010000000000000002", "0/2000100", "000000010000000000000005.partial", w_->wal_newest_at};
  }
  void prepare_recovery(const fs::path&, const fs::path&, const RecoveryTarget& t, const fs::path&, const CancelToken*) override {
    std::error_code ec;
    if (fs::exists(data_dir_, ec) && !fs::is_empty(data_dir_, ec)) throw SafetyError(data_dir_.string() + " is not empty");
    fs::create_directories(data_dir_);
    std::ofstream(data_dir_ / "PG_VERSION") << "15\n";
    std::lock_guard lock(w_->mu());
    w_->recovered_until = t.none() ? "end" : t.time + t.lsn;
  }
  RecoveryEnd finish_recovery(const CancelToken*) override {
    if (!fs::exists(data_dir_ / "PG_VERSION")) throw Error("nothing restored in " + data_dir_.string());
    std::lock_guard lock(w_->mu());
    auto& s = w_->servers.at(name_);
    s.reachable = true;
    s.databases = w_->servers.at("cm1").databases;
    s.in_recovery = false;
    return {"2026-11-22T02:59:59.750000Z", "0/5000F28"};
  }
  std::vector<std::string> describe_recovery(const fs::path& backup, const fs::path& wal, const RecoveryTarget& t) const override {
    return {"tar --extract --file=" + (backup / "base.tar").string(), "restore_command from " + wal.string(),
            "recovery_target_time = '" + t.time + "'"};
  }

 private:
  // The server, after the call was logged and its fault applied; throws when it does not answer.
  SimServer& at(const std::string& op) {
    std::lock_guard lock(w_->mu());
    auto& s = w_->servers.at(name_);
    if (!s.reachable) throw Error("cannot connect to server " + name_ + " (" + op + "): connection refused");
    return s;
  }
  // at(op), recording that `op` acted on `db`.
  SimServer& on(const std::string& op, const std::string& db) {
    auto& s = at(op);
    s.acted.push_back(op + " " + db);
    return s;
  }
  // The serials of `db` (or of the database whose staging copy it is).
  static std::map<std::string, std::int64_t>& serials_in(SimServer& s, std::string db) {
    const std::string suffix = "__sk_staging";
    if (db.size() > suffix.size() && db.compare(db.size() - suffix.size(), suffix.size(), suffix) == 0)
      db.resize(db.size() - suffix.size());
    auto it = s.serials_of.find(db);
    return it == s.serials_of.end() ? s.serials : it->second;
  }
  SimServer& writable(const std::string& op) {
    auto& s = at(op);
    if (s.in_recovery || s.fenced) throw Error(name_ + " refuses writes (" + op + ")");
    return s;
  }
  void follow_primary(const std::string& op) {
    auto& s = at(op);
    s.in_recovery = true;
    s.streaming = true;
  }

  std::string name_;
  std::shared_ptr<SimWorld> w_;
  std::set<sql::Duty> unsupported_;
  fs::path data_dir_;
};

}  // namespace sk::test
