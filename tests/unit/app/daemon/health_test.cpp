// A restarted daemon answers with the verdicts the last one kept, before its own first probe; a kept
// replica verdict must carry what the replica serves, or GET /replica/NAME would say "never refreshed"
// (503) and a load balancer would take a healthy replica out at every restart.
#include "app/daemon/health.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>

#include "core/clock.hpp"
#include "core/units.hpp"

namespace sk::daemon {
namespace {

namespace fs = std::filesystem;

TEST(HealthMonitor, AKeptReplicaVerdictCarriesWhatTheReplicaServes) {
  std::string tmpl = (fs::temp_directory_path() / "sk health é XXXXXX").string();
  ASSERT_TRUE(::mkdtemp(tmpl.data()));
  const fs::path dir = tmpl;
  struct Remove {
    fs::path p;
    ~Remove() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } remove{dir};

  auto cfg = std::make_shared<Config>();
  cfg->site = {"CEN", {"CM_CEN"}, "CM_CEN"};
  for (const char* n : {"cm1", "hd1"}) cfg->servers[n].name = n;
  cfg->roles.active = "cm1";
  cfg->roles.replicas = {"hd1"};
  cfg->health.interval = std::chrono::hours(1);  // one round, at start

  StateStore state(dir / "state.db");
  const std::string backup_time = iso_utc(system_clock()->now() - std::chrono::hours(2));
  state.set_serving({"hd1", "20261201T0100Z", backup_time, backup_time});
  state.put("health.replica:hd1", R"({"up":true,"reason":"","at":"2026-12-01T01:00:00Z"})");

  Metrics metrics;
  // The first probe waits until the test has looked: what it sees is the kept verdict alone, not one
  // the first round filled in. Then every probe fails (no server here).
  std::promise<void> looked;
  std::shared_future<void> go = looked.get_future().share();
  sql::EngineFactory engines = [go](const ServerConfig&) -> std::unique_ptr<sql::Engine> {
    go.wait();
    throw std::runtime_error("no server in a unit test");
  };
  HealthMonitor monitor([cfg] { return std::shared_ptr<const Config>(cfg); }, state, engines, metrics);
  const auto snap = monitor.snapshot();
  looked.set_value();
  monitor.stop();
  ASSERT_TRUE(snap.servers.count("hd1"));
  const auto& hd1 = snap.servers.at("hd1");
  EXPECT_TRUE(hd1.up);
  EXPECT_EQ(hd1.backup_id, "20261201T0100Z");
  EXPECT_EQ(hd1.backup_time, backup_time);
  EXPECT_GE(hd1.age_seconds, 2 * 3600 - 60);
  EXPECT_LE(hd1.age_seconds, 2 * 3600 + 60);
}

}  // namespace
}  // namespace sk::daemon
