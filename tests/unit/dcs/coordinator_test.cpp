// The coordinator's thread and watchdog against a fake etcd and a fake clock: a new leader acts only
// once it has read the shared state, and it stops acting when its own window closes even while etcd
// does not answer.
#include "dcs/coordinator.hpp"

#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "support/fake_clock.hpp"
#include "support/fake_etcd.hpp"

namespace sk::dcs {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

bool eventually(const std::function<bool()>& f, std::chrono::milliseconds deadline = 10s) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return f();
}

class CoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sk coordinator XXXXXX").string();
    ASSERT_TRUE(mkdtemp(tmpl.data()));
    dir_ = tmpl;
    store_ = std::make_unique<StateStore>(dir_ / "state.db");
    cfg_.site.code = "CEN";
    cfg_.dcs.etcd = {"http://127.0.0.1:2379"};
    cfg_.dcs.name = "mgr1";
    cfg_.dcs.ttl = 10s;
  }
  void TearDown() override {
    coord_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void make(CoordinatorHooks hooks) {
    auto etcd = std::make_unique<test::FakeEtcd>(clock_);
    etcd_ = etcd.get();
    etcd_->txn({}, {Op{Op::Kind::kPut, "/sitekeeper/CEN/state/kv/epoch", "7", 0}}, {});
    coord_ = std::make_unique<Coordinator>(cfg_, "127.0.0.1:8008", std::move(etcd), *store_, clock_, std::move(hooks));
    store_->set_mirror(coord_->mirror(), "mgr1");
  }
  fs::path dir_;
  Config cfg_;
  std::shared_ptr<test::FakeClock> clock_ = std::make_shared<test::FakeClock>(Clock::time_point(1'800'000'000s));
  std::unique_ptr<StateStore> store_;
  test::FakeEtcd* etcd_ = nullptr;
  std::unique_ptr<Coordinator> coord_;
};

TEST_F(CoordinatorTest, ANewLeaderActsFromTheSharedStateAndItsWritesGoThereFirst) {
  std::atomic<int> leads{0};
  std::optional<std::string> epoch_at_lead;
  CoordinatorHooks hooks;
  hooks.lead = [&](const Leadership&) {
    epoch_at_lead = store_->get("epoch");
    ++leads;
  };
  make(hooks);
  coord_->start();
  ASSERT_TRUE(eventually([&] { return leads.load() == 1; }));
  EXPECT_EQ(epoch_at_lead, "7") << "the shared state is read before the leader acts";
  EXPECT_TRUE(coord_->may_act());
  store_->put("epoch", "8");
  EXPECT_EQ(etcd_->peek("/sitekeeper/CEN/state/kv/epoch")->value, "8");
  const auto v = coord_->view();
  EXPECT_TRUE(v.leadership.leading);
  EXPECT_EQ(v.leadership.leader, "mgr1");
  coord_->stop(true);
  EXPECT_FALSE(etcd_->peek("/sitekeeper/CEN/leader")) << "a stopped leader resigns: the key goes at once";
}

TEST_F(CoordinatorTest, TheWatchdogStopsTheLeaderWhenItsWindowClosesWhileEtcdIsSilent) {
  std::atomic<int> leads{0}, follows{0};
  CoordinatorHooks hooks;
  hooks.lead = [&](const Leadership&) { ++leads; };
  hooks.follow = [&](const Leadership&) { ++follows; };
  make(hooks);
  coord_->start();
  ASSERT_TRUE(eventually([&] { return leads.load() == 1; }));
  etcd_->down = true;
  clock_->advance(7400ms);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(follows.load(), 0) << "still inside the 7.5 s window";
  EXPECT_TRUE(coord_->may_act());
  clock_->advance(200ms);
  ASSERT_TRUE(eventually([&] { return follows.load() == 1; }, 5s));
  EXPECT_FALSE(coord_->may_act());
  EXPECT_THROW(store_->put("epoch", "9"), Error) << "a manager that does not act writes nothing";
  EXPECT_EQ(store_->get("epoch"), "7");
  // etcd back while the lease still holds (9.6 s < 10 s): the same term resumes.
  etcd_->down = false;
  clock_->advance(1ms);
  ASSERT_TRUE(eventually([&] { return leads.load() == 2; }, 5s));
  EXPECT_TRUE(coord_->may_act());
  EXPECT_EQ(follows.load(), 1);
  coord_->stop(true);
}

}  // namespace
}  // namespace sk::dcs
