#pragma once
// A forwarding engine for tests: every named operation of the wrapped engine is logged in a SimWorld
// as "server.op" and may be made to fail, hang or succeed (SimWorld::fault) before it reaches the
// wrapped engine. A hang waits as a silent server would: as long as the bound the caller set with
// bound_connect (then fails, as a bounded connect does), or a long time when nothing bounds it.
// Thread-safety: as the wrapped engine (one thread at a time).
#include <memory>
#include <optional>
#include <string>

#include "sql/engine.hpp"
#include "support/sim_site.hpp"

namespace sk::test {

class FaultyEngine : public sql::Engine {
 public:
  FaultyEngine(std::string server, std::unique_ptr<sql::Engine> inner, std::shared_ptr<SimWorld> world)
      : server_(std::move(server)), inner_(std::move(inner)), w_(std::move(world)) {}

  std::string dialect() const override { return inner_->dialect(); }
  bool supports(sql::Duty d) const override { return inner_->supports(d); }
  std::vector<std::string> describe(sql::Duty d, const sql::StepText& t) const override { return inner_->describe(d, t); }
  std::uint64_t wal_distance(const std::string& a, const std::string& b) override { return inner_->wal_distance(a, b); }
  void keep_sessions() override { inner_->keep_sessions(); }
  void warm_up(const std::string& db) override { inner_->warm_up(db); }
  void bound_connect(std::chrono::milliseconds t) override {
    bound_ = t;
    inner_->bound_connect(t);
  }
  sql::ProbeInfo probe(std::chrono::milliseconds t) override {
    w_->enter(server_, "probe", bound_);
    return inner_->probe(t);
  }
  bool database_exists(const std::string& db) override {
    w_->enter(server_, "database_exists", bound_);
    return inner_->database_exists(db);
  }
  void backup(const std::string& db, const fs::path& out, int jobs, const CancelToken* c) override {
    w_->enter(server_, "backup", bound_);
    inner_->backup(db, out, jobs, c);
  }
  void check_snapshot(const fs::path& p) override {
    w_->enter(server_, "check_snapshot", bound_);
    inner_->check_snapshot(p);
  }
  void restore_to_staging(const std::string& st, const fs::path& p, int jobs, const CancelToken* c) override {
    w_->enter(server_, "restore_to_staging", bound_);
    inner_->restore_to_staging(st, p, jobs, c);
  }
  void drop_database(const std::string& db) override {
    w_->enter(server_, "drop_database", bound_);
    inner_->drop_database(db);
  }
  void integrity_check(const std::string& db, const CancelToken* c) override {
    w_->enter(server_, "integrity_check", bound_);
    inner_->integrity_check(db, c);
  }
  void make_read_only(const std::string& db, const std::vector<std::string>& r) override {
    w_->enter(server_, "make_read_only", bound_);
    inner_->make_read_only(db, r);
  }
  sql::ValidationReport validate(const std::string& db, const std::vector<std::string>& q, const std::vector<std::string>& r) override {
    w_->enter(server_, "validate", bound_);
    return inner_->validate(db, q, r);
  }
  void swap_in(const std::string& l, const std::string& st, std::chrono::milliseconds t) override {
    w_->enter(server_, "swap_in", bound_);
    inner_->swap_in(l, st, t);
  }
  sql::PermissionScript capture_permissions(const std::string& db) override {
    w_->enter(server_, "capture_permissions", bound_);
    return inner_->capture_permissions(db);
  }
  sql::RoleUndo replay_roles(const sql::PermissionScript& p, const sql::RoleReplay& h) override {
    w_->enter(server_, "replay_roles", bound_);
    return inner_->replay_roles(p, h);
  }
  void undo_roles(const sql::RoleUndo& u) override {
    w_->enter(server_, "undo_roles", bound_);
    inner_->undo_roles(u);
  }
  void replay_grants(const sql::PermissionScript& p, const std::string& db) override {
    w_->enter(server_, "replay_grants", bound_);
    inner_->replay_grants(p, db);
  }
  nlohmann::json capture_profile(const std::string& db) override {
    w_->enter(server_, "capture_profile", bound_);
    return inner_->capture_profile(db);
  }
  sql::ReplicationState replication_state() override {
    w_->enter(server_, "replication_state", bound_);
    return inner_->replication_state();
  }
  std::vector<sql::SerialValue> read_serials(const std::string& db) override {
    w_->enter(server_, "read_serials", bound_);
    return inner_->read_serials(db);
  }
  void resync_serials(const std::string& db, const std::vector<sql::SerialValue>& t) override {
    w_->enter(server_, "resync_serials", bound_);
    inner_->resync_serials(db, t);
  }
  std::string promote_closed(const std::string& db) override {
    w_->enter(server_, "promote_closed", bound_);
    return inner_->promote_closed(db);
  }
  void open_to_clients(const std::string& db, const std::string& t) override {
    w_->enter(server_, "open_to_clients", bound_);
    inner_->open_to_clients(db, t);
  }
  std::string fence(const std::string& db) override {
    w_->enter(server_, "fence", bound_);
    return inner_->fence(db);
  }
  void unfence(const std::string& db) override {
    w_->enter(server_, "unfence", bound_);
    inner_->unfence(db);
  }
  std::vector<std::string> apply_profile(const std::string& db, const nlohmann::json& p) override {
    w_->enter(server_, "apply_profile", bound_);
    return inner_->apply_profile(db, p);
  }
  std::string wal_position() override {
    w_->enter(server_, "wal_position", bound_);
    return inner_->wal_position();
  }
  void smoke_test(const std::string& db) override {
    w_->enter(server_, "smoke_test", bound_);
    inner_->smoke_test(db);
  }
  long read_epoch() override {
    w_->enter(server_, "read_epoch", bound_);
    return inner_->read_epoch();
  }
  void write_epoch(long e) override {
    w_->enter(server_, "write_epoch", bound_);
    inner_->write_epoch(e);
  }
  void lift_read_only(const std::string& db) override {
    w_->enter(server_, "lift_read_only", bound_);
    inner_->lift_read_only(db);
  }
  void checkpoint() override {
    w_->enter(server_, "checkpoint", bound_);
    inner_->checkpoint();
  }
  void prepare_for_standby(const std::string& s) override {
    w_->enter(server_, "prepare_for_standby", bound_);
    inner_->prepare_for_standby(s);
  }
  std::string kept_for_standby(const std::string& s) override {
    w_->enter(server_, "kept_for_standby", bound_);
    return inner_->kept_for_standby(s);
  }
  void set_synchronous_standby(const std::string& s) override {
    w_->enter(server_, "set_synchronous_standby", bound_);
    inner_->set_synchronous_standby(s);
  }
  void build_standby(const ServerConfig& p, const sql::StandbyTiming& t) override {
    w_->enter(server_, "build_standby", bound_);
    inner_->build_standby(p, t);
  }
  void follow(const ServerConfig& p, const sql::StandbyTiming& t) override {
    w_->enter(server_, "follow", bound_);
    inner_->follow(p, t);
  }
  void rewind_onto(const ServerConfig& p, const sql::StandbyTiming& t) override {
    w_->enter(server_, "rewind_onto", bound_);
    inner_->rewind_onto(p, t);
  }
  void stop_server() override {
    w_->enter(server_, "stop_server", bound_);
    inner_->stop_server();
  }
  bool server_running() override {
    w_->enter(server_, "server_running", bound_);
    return inner_->server_running();
  }
  void base_backup(const fs::path& out, const CancelToken* c) override {
    w_->enter(server_, "base_backup", bound_);
    inner_->base_backup(out, c);
  }
  void verify_base_backup(const fs::path& b, const fs::path& s, const CancelToken* c) override {
    w_->enter(server_, "verify_base_backup", bound_);
    inner_->verify_base_backup(b, s, c);
  }
  WalCoverage wal_coverage(const fs::path& b, const fs::path& w, const std::string& u) override {
    w_->enter(server_, "wal_coverage", bound_);
    return inner_->wal_coverage(b, w, u);
  }
  void prepare_recovery(const fs::path& b, const fs::path& w, const RecoveryTarget& t, const fs::path& own,
                        const CancelToken* c) override {
    w_->enter(server_, "prepare_recovery", bound_);
    inner_->prepare_recovery(b, w, t, own, c);
  }
  RecoveryEnd finish_recovery(const CancelToken* c) override {
    w_->enter(server_, "finish_recovery", bound_);
    return inner_->finish_recovery(c);
  }
  std::vector<std::string> describe_recovery(const fs::path& b, const fs::path& w, const RecoveryTarget& t) const override {
    return inner_->describe_recovery(b, w, t);
  }
 private:
  std::string server_;
  std::unique_ptr<sql::Engine> inner_;
  std::shared_ptr<SimWorld> w_;
  std::optional<std::chrono::milliseconds> bound_;
};

// A factory handing out FaultyEngine(SimEngine) for the servers of `world`; `unsupported` duties are
// refused by every engine it makes.
inline sql::EngineFactory sim_engines(std::shared_ptr<SimWorld> world, std::set<sql::Duty> unsupported = {}) {
  return [world, unsupported](const ServerConfig& s) -> std::unique_ptr<sql::Engine> {
    return std::make_unique<FaultyEngine>(s.name, std::make_unique<SimEngine>(s.name, world, unsupported, s.data_dir), world);
  };
}

}  // namespace sk::test
