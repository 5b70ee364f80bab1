// The election and its step-down against a fake etcd and a fake clock: who leads, when a leader must
// stop acting by its own clock, and that a deposed leader's writes to the shared state fail.
#include "dcs/election.hpp"

#include <gtest/gtest.h>

#include "dcs/shared_state.hpp"
#include "support/fake_clock.hpp"
#include "support/fake_etcd.hpp"

namespace sk::dcs {
namespace {

using namespace std::chrono_literals;

class ElectionTest : public ::testing::Test {
 protected:
  std::shared_ptr<test::FakeClock> clock = std::make_shared<test::FakeClock>(Clock::time_point(1'800'000'000s));
  test::FakeEtcd etcd{clock};

  ElectionOptions options(const std::string& name) {
    return ElectionOptions{"CEN", "/sitekeeper/CEN", name, "{\"name\":\"" + name + "\",\"api\":\"127.0.0.1:8008\"}", 10s};
  }
  // Ticks every election at its own interval for `d` of fake time.
  void run_for(std::chrono::milliseconds d, std::initializer_list<Election*> all) {
    for (auto t = 0ms; t < d; t += 250ms) {
      for (auto* e : all) e->tick();
      clock->advance(250ms);
    }
  }
};

TEST_F(ElectionTest, TheFirstManagerTakesAFreeKeyAndTheOthersFollowIt) {
  Election a(etcd, clock, options("mgr1")), b(etcd, clock, options("mgr2"));
  auto la = a.tick();
  EXPECT_TRUE(la.leading);
  EXPECT_EQ(la.sentence, "took the lead of site CEN (term " + std::to_string(la.term) + "): no manager held it");
  EXPECT_TRUE(a.may_act());
  auto lb = b.tick();
  EXPECT_FALSE(lb.leading);
  EXPECT_EQ(lb.leader, "mgr1");
  EXPECT_EQ(lb.sentence, "following mgr1, which leads site CEN");
  EXPECT_FALSE(b.may_act());
  // The key is bound to the leader's lease, and each manager has a member key.
  auto key = etcd.peek("/sitekeeper/CEN/leader");
  ASSERT_TRUE(key);
  EXPECT_NE(key->lease, 0);
  EXPECT_TRUE(etcd.peek("/sitekeeper/CEN/members/mgr1"));
  EXPECT_TRUE(etcd.peek("/sitekeeper/CEN/members/mgr2"));
  // Steady: at its next renewal the leader says it keeps the lead, and then says so in the same words.
  clock->advance(2s);
  EXPECT_EQ(a.tick().sentence, "leading site CEN as mgr1 (term " + std::to_string(la.term) + ")");
  clock->advance(2s);
  EXPECT_EQ(a.tick().sentence, "leading site CEN as mgr1 (term " + std::to_string(la.term) + ")");
}

TEST_F(ElectionTest, TheLeaderRenewsFiveTimesPerTtlAndAFollowerPollsFourTimesASecond) {
  Election a(etcd, clock, options("mgr1")), b(etcd, clock, options("mgr2"));
  run_for(1s, {&a, &b});
  const int before = etcd.calls;
  run_for(10s, {&a});
  // Five renewals in ten seconds, each a keepalive and a read of the key.
  EXPECT_EQ(etcd.calls - before, 10);
  const int before_b = etcd.calls;
  run_for(10s, {&b});
  // 40 reads of the key, and five renewals of its member lease.
  EXPECT_EQ(etcd.calls - before_b, 45);
}

TEST_F(ElectionTest, ALeaderThatCannotRenewStopsActingBeforeItsLeaseCanHaveExpired) {
  Election a(etcd, clock, options("mgr1"));
  ASSERT_TRUE(a.tick().leading);
  const auto renewed = clock->steady_now();
  etcd.down = true;
  // Ticks keep failing; acting stops at ttl - max(1 s, ttl/4) = 7.5 s after the last renewal was sent,
  // whether or not the election thread ticks.
  clock->advance(7400ms);
  EXPECT_TRUE(a.may_act());
  auto l = a.tick();
  EXPECT_TRUE(l.leading);
  EXPECT_NE(l.sentence.find("cannot renew the lease of mgr1 for site CEN"), std::string::npos) << l.sentence;
  clock->advance(100ms);
  EXPECT_FALSE(a.may_act()) << "no tick needed: may_act reads the clock";
  l = a.tick();
  EXPECT_FALSE(l.leading);
  EXPECT_EQ(l.sentence, "stopped acting for site CEN: the lease was last renewed 7.5 s ago and could expire at any "
                        "moment (ttl 10 s); no jobs and no promotion until this manager leads again");
  // The lease itself lives until 10 s after the renewal, on etcd's side.
  etcd.down = false;
  EXPECT_LT(clock->steady_now(), renewed + 10s);
  EXPECT_TRUE(etcd.peek("/sitekeeper/CEN/leader"));
}

TEST_F(ElectionTest, WhenTheLeaderDiesAFollowerLeadsWithinTheTtlAndAQuarterSecond) {
  Election a(etcd, clock, options("mgr1")), b(etcd, clock, options("mgr2"));
  run_for(3s, {&a, &b});
  ASSERT_TRUE(a.may_act());
  const auto killed = clock->steady_now();  // a stops ticking: kill -9
  std::chrono::steady_clock::duration took{};
  for (int i = 0; i < 100 && !b.may_act(); ++i) {
    clock->advance(250ms);
    b.tick();
    took = clock->steady_now() - killed;
  }
  EXPECT_TRUE(b.may_act());
  EXPECT_LE(took, 10s + 250ms);
  EXPECT_FALSE(a.may_act()) << "a's own clock stopped it before b took over";
}

TEST_F(ElectionTest, ADeposedLeadersWriteToTheSharedStateFails) {
  Election a(etcd, clock, options("mgr1")), b(etcd, clock, options("mgr2"));
  auto la = a.tick();
  b.tick();
  SharedState sa(etcd, "/sitekeeper/CEN", "CEN", "mgr1");
  sa.set_term(la.term, [&] { return a.may_act(); });
  sa.put("kv/epoch", "3");
  EXPECT_EQ(etcd.peek("/sitekeeper/CEN/state/kv/epoch")->value, "3");
  // a is cut off from etcd long enough for its lease to go; b takes over.
  for (int i = 0; i < 48; ++i) {
    clock->advance(250ms);
    b.tick();
  }
  ASSERT_TRUE(b.may_act());
  // Suppose a's clock were wrong and it still believed it may act: its term is gone, the write fails.
  SharedState stale(etcd, "/sitekeeper/CEN", "CEN", "mgr1");
  stale.set_term(la.term, [] { return true; });
  try {
    stale.put("kv/epoch", "4");
    FAIL() << "a deposed leader wrote";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lost the lead"), std::string::npos) << e.what();
    EXPECT_EQ(e.exit_code(), kRefused);
  }
  EXPECT_EQ(etcd.peek("/sitekeeper/CEN/state/kv/epoch")->value, "3");
  // And a's own view: it may not act, so it does not even try.
  EXPECT_THROW(sa.put("kv/epoch", "5"), Error);
}

TEST_F(ElectionTest, AResignedLeaderIsFollowedAtTheNextTickNotAfterTheTtl) {
  Election a(etcd, clock, options("mgr1")), b(etcd, clock, options("mgr2"));
  a.tick();
  b.tick();
  a.resign();
  EXPECT_FALSE(a.may_act());
  clock->advance(250ms);
  auto lb = b.tick();
  EXPECT_TRUE(lb.leading) << lb.sentence;
}

TEST_F(ElectionTest, ALeaderBackInTouchWithinItsLeaseResumesTheLead) {
  Election a(etcd, clock, options("mgr1")), b(etcd, clock, options("mgr2"));
  const auto la = a.tick();
  b.tick();
  etcd.down = true;
  clock->advance(7600ms);
  EXPECT_FALSE(a.tick().leading);
  etcd.down = false;
  // 7.8 s after the last renewal the lease still holds: the key is still a's, nobody led meanwhile.
  clock->advance(200ms);
  auto l = a.tick();
  EXPECT_TRUE(l.leading) << l.sentence;
  EXPECT_EQ(l.term, la.term);
  EXPECT_EQ(l.sentence, "resumed the lead of site CEN (term " + std::to_string(la.term) + "): etcd answers and the lease held");
  EXPECT_TRUE(a.may_act());
  EXPECT_FALSE(b.tick().leading);
}

TEST_F(ElectionTest, ALeaderWhoseLeaseExpiredWhileEtcdWasAwayDoesNotLeadAgainUntilTheKeyIsFree) {
  Election a(etcd, clock, options("mgr1")), b(etcd, clock, options("mgr2"));
  a.tick();
  b.tick();
  etcd.down = true;
  clock->advance(11s);  // a's lease is gone on etcd's side; b, which could not reach etcd either, did not lead
  a.tick();
  etcd.down = false;
  auto lb = b.tick();
  auto la = a.tick();
  EXPECT_NE(lb.leading, la.leading) << "exactly one leads: " << lb.sentence << " / " << la.sentence;
}

TEST_F(ElectionTest, WithoutEtcdNoManagerLeads) {
  etcd.down = true;
  Election a(etcd, clock, options("mgr1"));
  auto l = a.tick();
  EXPECT_FALSE(l.leading);
  EXPECT_FALSE(l.etcd_answers);
  EXPECT_EQ(l.sentence, "etcd does not answer mgr1 (site CEN): etcd did not answer: 127.0.0.1:2379: connection "
                        "refused; not leading");
  EXPECT_FALSE(a.may_act());
}

TEST_F(ElectionTest, SharedPutIfIsAtomicAndNamesALostLead) {
  Election a(etcd, clock, options("mgr1"));
  auto la = a.tick();
  SharedState sa(etcd, "/sitekeeper/CEN", "CEN", "mgr1");
  sa.set_term(la.term, [&] { return a.may_act(); });
  EXPECT_TRUE(sa.put_if("kv/journal.open", "null", "{\"run\":1}"));   // missing: set
  EXPECT_FALSE(sa.put_if("kv/journal.open", "null", "{\"run\":2}"));  // holds another value
  EXPECT_TRUE(sa.put_if("kv/journal.open", "{\"run\":1}", "null"));
  SharedState none(etcd, "/sitekeeper/CEN", "CEN", "mgr2");
  none.set_term(0, nullptr, "mgr1");
  try {
    none.put("kv/paused", "1");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "manager mgr2 does not lead (the leader: mgr1); the write of kv/paused to site "
                                     "CEN's shared state was refused");
    EXPECT_FALSE(e.hint().empty());
  }
}


// A transaction whose answer was lost and that the client sent again to another member: the second
// one's comparison fails on the first one's write. The claim is ours all the same.
TEST_F(ElectionTest, APutIfWhoseFirstAttemptWasAppliedCountsAsDone) {
  struct Replaying : test::FakeEtcd {
    using FakeEtcd::FakeEtcd;
    bool replay = false;
    TxnResult txn(const std::vector<Compare>& when, const std::vector<Op>& then, const std::vector<Op>& otherwise) override {
      if (!replay) return FakeEtcd::txn(when, then, otherwise);
      replay = false;
      FakeEtcd::txn(when, then, otherwise);         // applied, answer lost
      return FakeEtcd::txn(when, then, otherwise);  // sent again: its comparison fails
    }
  } etcd2(clock);
  Election a(etcd2, clock, options("mgr1"));
  auto la = a.tick();
  SharedState sa(etcd2, "/sitekeeper/CEN", "CEN", "mgr1");
  sa.set_term(la.term, [&] { return a.may_act(); });
  etcd2.replay = true;
  EXPECT_TRUE(sa.put_if("kv/journal.open", "null", "{\"run\":1}"));
  EXPECT_EQ(etcd2.peek("/sitekeeper/CEN/state/kv/journal.open")->value, "{\"run\":1}");
}

}  // namespace
}  // namespace sk::dcs
