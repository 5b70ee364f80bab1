#pragma once
// The site a refresh test runs against: a real archive and a real state store in a folder whose path
// holds spaces and non-ASCII, the scripted fake engine for every server (cm1 the active, cm2 the
// standby, hd1 and hd2 the replicas, site database CM_CEN), a fake process runner and a fixed clock.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/state/store.hpp"
#include "replicator/archive.hpp"
#include "replicator/backup.hpp"
#include "replicator/context.hpp"
#include "replicator/refresh.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_runner.hpp"
#include "support/files.hpp"
#include "support/scripted_engine.hpp"

namespace sk::test {

class RefreshFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = sk::test::test_dir_path("sk refresh é");
    fs::remove_all(base_);
    fs::create_directories(base_);
    base_ = fs::canonical(base_);

    cfg_.file = base_ / "site config" / "sitekeeper.toml";
    cfg_.site = {"CEN", {"CM_CEN"}, "CM_CEN"};
    cfg_.state_path = base_ / "state dir" / "sitekeeper.db";
    cfg_.archive.path = base_ / "site archive 站点";
    cfg_.archive.keep = 7;
    cfg_.archive.key_file = base_ / "state dir" / "archive.keys";
    for (const char* n : {"cm1", "cm2", "hd1", "hd2"}) {
      ServerConfig s;
      s.name = n;
      s.port = 5432;
      cfg_.servers[n] = s;
    }
    cfg_.roles.active = "cm1";
    cfg_.roles.standby = "cm2";
    cfg_.roles.replicas = {"hd1", "hd2"};
    cfg_.replica.readers = {"helpdesk", "Help Desk é"};
    cfg_.replica.jobs = 2;
    cfg_.replica.validate = {"SELECT count(*) FROM site_systems"};

    state_ = std::make_unique<StateStore>(cfg_.state_path);
    world_ = std::make_shared<World>();
    runner_ = std::make_shared<FakeRunner>();
    clock_ = std::make_shared<FakeClock>(at("2026-11-22T02:00:00Z"));
  }
  void TearDown() override {
    state_.reset();
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  replicator::JobContext ctx(const CancelToken* cancel = nullptr) {
    auto world = world_;
    sql::EngineFactory factory = [world](const ServerConfig& s) -> std::unique_ptr<sql::Engine> {
      return std::make_unique<FakeEngine>(s.name, world);
    };
    return replicator::JobContext{cfg_, *state_, factory, runner_, clock_, cancel};
  }

  // A verified backup taken at `iso`; returns its id.
  std::string backup_at(const std::string& iso) {
    clock_->set(at(iso));
    auto r = replicator::run_backup(ctx());
    EXPECT_EQ(state_->generation(r.id).value_or(GenerationRecord{}).status, "verified") << r.id;
    return r.id;
  }

  fs::path archive_root() const { return fs::canonical(cfg_.archive.path); }
  fs::path snapshot_of(const std::string& id) const { return archive_root() / id / replicator::kSnapshotDir; }

  std::string serving(const std::string& replica) {
    auto s = state_->serving(replica);
    return s ? s->backup_id : "";
  }

  bool has_alert(const std::string& job, const std::string& part) {
    for (const auto& a : state_->alerts(100))
      if (a.job == job && a.message.find(part) != std::string::npos) return true;
    return false;
  }

  static const replicator::ReplicaOutcome* outcome(const replicator::RefreshResult& r, const std::string& replica) {
    for (const auto& o : r.replicas)
      if (o.replica == replica) return &o;
    return nullptr;
  }

  fs::path base_;
  Config cfg_;
  std::unique_ptr<StateStore> state_;
  std::shared_ptr<World> world_;
  std::shared_ptr<FakeRunner> runner_;
  std::shared_ptr<FakeClock> clock_;
};

}  // namespace sk::test
