// The state store with a mirror ([dcs]): each shared write goes to the mirror first, a refused one
// leaves the file as it was, a manager's own keys stay its own, and facts read back from the shared
// state are applied once however often they are read.
#include <cstdlib>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/state/store.hpp"

namespace sk {
namespace {

namespace fs = std::filesystem;

struct RecordingMirror : StateMirror {
  std::map<std::string, std::string> written;
  bool refuse = false;
  void put(const std::string& path, const std::string& value) override {
    if (refuse) throw Error("manager mgr1 does not lead", "", kRefused);
    written[path] = value;
  }
  bool put_if(const std::string& path, const std::string& expected, const std::string& value) override {
    if (refuse) throw Error("manager mgr1 does not lead", "", kRefused);
    auto it = written.find(path);
    if (it != written.end() && it->second != expected) return false;
    written[path] = value;
    return true;
  }
};

class MirrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sk mirror XXXXXX").string();
    ASSERT_TRUE(mkdtemp(tmpl.data()));
    dir_ = tmpl;
    store_ = std::make_unique<StateStore>(dir_ / "state.db");
    store_->set_mirror(mirror_, "mgr1");
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
  std::shared_ptr<RecordingMirror> mirror_ = std::make_shared<RecordingMirror>();
  std::unique_ptr<StateStore> store_;
};

TEST_F(MirrorTest, EverySharedWriteReachesTheMirrorFirstAndAManagersOwnKeysDoNot) {
  const auto id = store_->begin_run("backup", "");
  store_->end_run(id, "ok", "3 files");
  store_->put("epoch", "2");
  store_->put("health.replica.hd1", "{}");
  store_->put("daemon.heartbeat", "{}");
  store_->put_generation({"20261201T020000Z", "2026-12-01T02:00:00Z", "verified", "", "", 10, ""});
  store_->set_serving({"hd1", "20261201T020000Z", "2026-12-01T02:00:00Z", "2026-12-01T04:00:00Z"}, {"CM_CEN"});
  store_->add_alert("backup", "disk full");
  store_->add_lag_sample({1000, 5, 0.5, "streaming"});
  std::vector<std::string> paths;
  for (const auto& [p, v] : mirror_->written) paths.push_back(p.substr(0, p.find('/')));
  EXPECT_EQ(mirror_->written.count("kv/epoch"), 1u);
  EXPECT_EQ(mirror_->written.count("kv/health.replica.hd1"), 0u);
  EXPECT_EQ(mirror_->written.count("kv/daemon.heartbeat"), 0u);
  EXPECT_EQ(mirror_->written.count("generations/20261201T020000Z"), 1u);
  EXPECT_EQ(mirror_->written.count("serving/hd1"), 1u);
  EXPECT_EQ(mirror_->written.count("probe/lag"), 1u);
  const auto run = store_->runs(1).front();
  EXPECT_EQ(run.manager, "mgr1");
  ASSERT_EQ(mirror_->written.count("runs/" + run.origin), 1u) << run.origin;
  EXPECT_NE(mirror_->written["runs/" + run.origin].find("\"outcome\":\"ok\""), std::string::npos);
  EXPECT_EQ(run.origin, "mgr1." + std::to_string(run.started_ms) + "." + std::to_string(run.id));
  EXPECT_EQ(std::count(paths.begin(), paths.end(), "alerts"), 1);
}

TEST_F(MirrorTest, ARefusedWriteLeavesTheFileAsItWas) {
  store_->put("epoch", "2");
  mirror_->refuse = true;
  EXPECT_THROW(store_->begin_run("backup", ""), Error);
  EXPECT_TRUE(store_->runs(10).empty());
  EXPECT_THROW(store_->put("epoch", "3"), Error);
  EXPECT_EQ(store_->get("epoch"), "2");
  EXPECT_THROW(store_->put_if("journal.open", "null", "{}"), Error);
  EXPECT_FALSE(store_->get("journal.open"));
  EXPECT_THROW(store_->set_serving({"hd1", "g", "t", "r"}, {}), Error);
  EXPECT_FALSE(store_->serving("hd1"));
  EXPECT_THROW(store_->add_alert("backup", "x"), Error);
  EXPECT_TRUE(store_->alerts(10).empty());
  EXPECT_THROW(store_->put_generation({"g", "t", "verified", "", "", 0, ""}), Error);
  EXPECT_FALSE(store_->generation("g"));
  // A manager's own verdicts are written whatever the shared state says.
  store_->put("health.replica.hd1", "{\"up\":true}");
  EXPECT_TRUE(store_->get("health.replica.hd1"));
}

TEST_F(MirrorTest, APutIfTheSharedStateRefusesIsNotWrittenHere) {
  mirror_->written["kv/journal.open"] = "{\"run\":\"other\"}";
  EXPECT_FALSE(store_->put_if("journal.open", "null", "{\"run\":\"mine\"}"));
  EXPECT_FALSE(store_->get("journal.open"));
}

TEST_F(MirrorTest, FactsReadBackAreAppliedOnceAndRunsOfEveryManagerAreInStartOrder) {
  const std::string a = R"({"job":"backup","target":"","started_at":"2026-12-01T02:00:00Z","started_ms":1796090400123,)"
                        R"("ended_at":"","outcome":"running","message":"","duration_ms":0,"manager":"mgr2"})";
  store_->apply_shared("runs/mgr2.1796090400123.7", a);
  store_->apply_shared("runs/mgr2.1796090400123.7", a);
  ASSERT_EQ(store_->runs(10).size(), 1u);
  EXPECT_EQ(store_->running_runs().size(), 1u);
  const std::string done = R"({"job":"backup","target":"","started_at":"2026-12-01T02:00:00Z","started_ms":1796090400123,)"
                           R"("ended_at":"2026-12-01T02:00:09Z","outcome":"ok","message":"","duration_ms":9000,"manager":"mgr2"})";
  store_->apply_shared("runs/mgr2.1796090400123.7", done);
  auto runs = store_->runs(10);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].outcome, "ok");
  EXPECT_EQ(runs[0].manager, "mgr2");
  EXPECT_EQ(runs[0].started_ms, 1796090400123);
  // A later run of this manager, and an earlier one of another read afterwards: ordered by start.
  store_->apply_shared("runs/mgr3.1796000000000.1",
                       R"({"job":"backup","target":"","started_at":"2026-11-30T01:06:40Z","started_ms":1796000000000,)"
                       R"("ended_at":"","outcome":"interrupted","message":"","duration_ms":0,"manager":"mgr3"})");
  runs = store_->runs(10);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].manager, "mgr2");
  EXPECT_EQ(store_->last_run("backup")->manager, "mgr2");
  EXPECT_EQ(store_->last_run_except("backup", "ok")->manager, "mgr3");
  // Serving read twice adds one point to the freshness timeline.
  const std::string sv = R"({"backup_id":"g1","backup_time":"t","restored_at":"r","databases":["CM_CEN"]})";
  store_->apply_shared("serving/hd1", sv);
  store_->apply_shared("serving/hd1", sv);
  EXPECT_EQ(store_->serving("hd1")->backup_id, "g1");
  EXPECT_EQ(store_->serving_history(0).size(), 1u);
  EXPECT_EQ(store_->serving_databases("hd1").at("CM_CEN"), "g1");
  store_->apply_shared("kv/epoch", "5");
  EXPECT_EQ(store_->get("epoch"), "5");
  // Nothing read back is written to the mirror: it came from there.
  EXPECT_TRUE(mirror_->written.empty());
}

TEST_F(MirrorTest, AFactThatIsNotASitekeeperRecordIsRefusedWhole) {
  EXPECT_THROW(store_->apply_shared("runs/x", "not json"), Error);
  EXPECT_THROW(store_->apply_shared("runs/x", R"({"job":"backup"})"), Error);
  EXPECT_THROW(store_->apply_shared("serving/hd1", R"({"backup_id":1,"backup_time":"t","restored_at":"r","databases":[]})"),
               Error);
  EXPECT_TRUE(store_->runs(10).empty());
  EXPECT_FALSE(store_->serving("hd1"));
  // Another manager's own keys and unknown tables are not applied.
  store_->apply_shared("kv/health.replica.hd1", "{}");
  store_->apply_shared("future/thing", "{}");
  EXPECT_FALSE(store_->get("health.replica.hd1"));
}


TEST_F(MirrorTest, AWriteOnBehalfOfACancelledOperationIsRefusedAndTheFileUnchanged) {
  CancelToken term;
  {
    WriterScope writer(&term);
    store_->put("epoch", "2");  // the operation still runs: written
    term.cancel();              // its manager lost the lead
    EXPECT_THROW(store_->put("epoch", "3"), Error);
    EXPECT_THROW(store_->put_if("journal.open", "null", "{}"), Error);
    EXPECT_THROW(store_->begin_run("backup", ""), Error);
    store_->put("health.replica.hd1", "{}");  // a manager's own keys are not the site's
  }
  EXPECT_EQ(store_->get("epoch"), "2");
  EXPECT_FALSE(store_->get("journal.open"));
  EXPECT_TRUE(store_->runs(10).empty());
  EXPECT_EQ(mirror_->written.count("kv/epoch"), 1u);
  EXPECT_EQ(mirror_->written["kv/epoch"], "2");
  store_->put("epoch", "4");  // outside the scope: the current lead writes
  EXPECT_EQ(store_->get("epoch"), "4");
}

TEST_F(MirrorTest, AWholeReadOfTheSharedStateIsAppliedAtOnceAndSkipsWhatIsNotARecord) {
  std::string skipped;
  store_->apply_shared_all({{"kv/epoch", "5"},
                            {"runs/x", "not json"},
                            {"serving/hd1", R"({"backup_id":"g1","backup_time":"t","restored_at":"r","databases":["CM_CEN"]})"},
                            {"kv/roles.active", "cm2"}},
                           &skipped);
  EXPECT_EQ(store_->get("epoch"), "5");
  EXPECT_EQ(store_->get("roles.active"), "cm2");
  EXPECT_EQ(store_->serving("hd1")->backup_id, "g1");
  EXPECT_EQ(store_->serving_databases("hd1").at("CM_CEN"), "g1");
  EXPECT_NE(skipped.find("runs/x"), std::string::npos) << skipped;
}

}  // namespace
}  // namespace sk
