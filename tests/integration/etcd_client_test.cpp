// sitekeeper's etcd client (dcs/etcd_http.hpp) against a real 3-member etcd 3.4 cluster: the calls the
// election makes, what happens when members die, authentication.
#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "dcs/etcd_http.hpp"
#include "etcd_cluster.hpp"
#include "tests/unit/support/tls.hpp"

namespace sk::test {
namespace {

using namespace std::chrono_literals;
using dcs::Compare;
using dcs::Op;
using Clock = std::chrono::steady_clock;

#define SK_REQUIRE_ETCD()                                          \
  do {                                                             \
    if (auto why = EtcdCluster::missing(); !why.empty()) GTEST_SKIP() << why; \
  } while (0)

dcs::EtcdHttp client_of(const EtcdCluster& c, std::chrono::milliseconds timeout = 1000ms,
                        const std::string& user = "", const std::string& password = "") {
  dcs::EtcdHttpOptions o;
  o.endpoints = c.endpoints();
  o.timeout = timeout;
  o.user = user;
  o.password = password;
  return dcs::EtcdHttp(o);
}

Op put(const std::string& key, const std::string& value, long long lease = 0) {
  return {Op::Kind::kPut, key, value, lease};
}

Compare absent(const std::string& key) {
  return {key, Compare::Target::kCreateRevision, Compare::Result::kEqual, "", 0};
}

// A put that only the test makes: no compare, always applied.
long long put_now(dcs::Etcd& etcd, const std::string& key, const std::string& value, long long lease = 0) {
  const auto r = etcd.txn({}, {put(key, value, lease)});
  EXPECT_TRUE(r.succeeded);
  return r.revision;
}

TEST(EtcdClient, PutGetAndListSinceARevision) {
  SK_REQUIRE_ETCD();
  EtcdCluster cluster;
  auto etcd = client_of(cluster);
  EXPECT_FALSE(etcd.get("/sk/site/leader").has_value());

  const std::string binary("v\0\xff\n", 4);  // values are bytes, not text
  const long long r1 = put_now(etcd, "/sk/site/a", binary);
  const long long r2 = put_now(etcd, "/sk/site/b", "2");
  put_now(etcd, "/sk/other/c", "3");
  put_now(etcd, "/sk/sitf", "not under /sk/site/");

  const auto a = etcd.get("/sk/site/a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->key, "/sk/site/a");
  EXPECT_EQ(a->value, binary);
  EXPECT_EQ(a->create_revision, r1);
  EXPECT_EQ(a->mod_revision, r1);
  EXPECT_EQ(a->lease, 0);

  const auto all = etcd.list("/sk/site/");
  ASSERT_EQ(all.kvs.size(), 2u);
  EXPECT_EQ(all.kvs[0].key, "/sk/site/a");
  EXPECT_EQ(all.kvs[1].key, "/sk/site/b");
  EXPECT_GE(all.revision, r2 + 2);

  const auto since = etcd.list("/sk/site/", r2);
  ASSERT_EQ(since.kvs.size(), 1u);
  EXPECT_EQ(since.kvs[0].key, "/sk/site/b");
  EXPECT_TRUE(etcd.list("/sk/site/", all.revision + 1).kvs.empty());
  EXPECT_GE(etcd.list("").kvs.size(), 4u);  // the empty prefix: every key
}

TEST(EtcdClient, TxnCreatesOnceAndComparesRevisionsAndValues) {
  SK_REQUIRE_ETCD();
  EtcdCluster cluster;
  auto etcd = client_of(cluster);
  const auto first = etcd.txn({absent("/sk/leader")}, {put("/sk/leader", "m1")}, {});
  EXPECT_TRUE(first.succeeded);
  const auto second = etcd.txn({absent("/sk/leader")}, {put("/sk/leader", "m2")}, {put("/sk/lost", "m2")});
  EXPECT_FALSE(second.succeeded);
  EXPECT_EQ(etcd.get("/sk/leader")->value, "m1");
  EXPECT_EQ(etcd.get("/sk/lost")->value, "m2");  // `otherwise` was applied
  EXPECT_GT(second.revision, first.revision);

  const long long mod = etcd.get("/sk/leader")->mod_revision;
  const Compare same_mod{"/sk/leader", Compare::Target::kModRevision, Compare::Result::kEqual, "", mod};
  const Compare is_m1{"/sk/leader", Compare::Target::kValue, Compare::Result::kEqual, "m1", 0};
  const Compare not_m1{"/sk/leader", Compare::Target::kValue, Compare::Result::kNotEqual, "m1", 0};
  const Compare newer{"/sk/leader", Compare::Target::kModRevision, Compare::Result::kGreater, "", mod};
  const Compare older{"/sk/leader", Compare::Target::kModRevision, Compare::Result::kLess, "", mod + 1};
  EXPECT_FALSE(etcd.txn({is_m1, not_m1}, {put("/sk/leader", "x")}).succeeded);  // all must hold
  EXPECT_FALSE(etcd.txn({newer}, {put("/sk/leader", "x")}).succeeded);
  EXPECT_TRUE(etcd.txn({same_mod, is_m1, older}, {put("/sk/leader", "m1b")}).succeeded);
  EXPECT_EQ(etcd.get("/sk/leader")->value, "m1b");

  put_now(etcd, "/sk/members/a", "1");
  put_now(etcd, "/sk/members/b", "2");
  put_now(etcd, "/sk/membersx", "kept");
  EXPECT_TRUE(etcd.txn({}, {{Op::Kind::kDeletePrefix, "/sk/members/", "", 0}, {Op::Kind::kDelete, "/sk/lost", "", 0}})
                  .succeeded);
  EXPECT_TRUE(etcd.list("/sk/members/").kvs.empty());
  EXPECT_FALSE(etcd.get("/sk/lost").has_value());
  EXPECT_TRUE(etcd.get("/sk/membersx").has_value());
}

TEST(EtcdClient, AKeyOfALeaseLivesWhileRenewedAndGoesWhenNot) {
  SK_REQUIRE_ETCD();
  EtcdCluster cluster;
  auto etcd = client_of(cluster);
  const long long lease = etcd.grant(2s);
  ASSERT_NE(lease, 0);
  ASSERT_TRUE(etcd.txn({absent("/sk/leader")}, {put("/sk/leader", "m1", lease)}).succeeded);
  EXPECT_EQ(etcd.get("/sk/leader")->lease, lease);

  // Renewed for twice its TTL: the key stays.
  const auto renew_until = Clock::now() + 4s;
  while (Clock::now() < renew_until) {
    EXPECT_GE(etcd.keepalive(lease), 1);
    ASSERT_TRUE(etcd.get("/sk/leader").has_value());
    std::this_thread::sleep_for(300ms);
  }
  // Not renewed any more: it goes within the TTL (and etcd's lease checks, every 500 ms).
  const auto stopped = Clock::now();
  wait_until([&] { return !etcd.get("/sk/leader").has_value(); }, 15s, "the key of the expired lease is gone");
  EXPECT_GE(Clock::now() - stopped, 1s);
  EXPECT_EQ(etcd.keepalive(lease), 0);  // a lease that is gone is not renewed
  EXPECT_NO_THROW(etcd.revoke(lease));  // nor an error to revoke
}

TEST(EtcdClient, RevokeDeletesTheKeysAtOnce) {
  SK_REQUIRE_ETCD();
  EtcdCluster cluster;
  auto etcd = client_of(cluster);
  const long long lease = etcd.grant(60s);
  put_now(etcd, "/sk/leader", "m1", lease);
  put_now(etcd, "/sk/members/m1", "up", lease);
  etcd.revoke(lease);
  EXPECT_FALSE(etcd.get("/sk/leader").has_value());
  EXPECT_TRUE(etcd.list("/sk/members/").kvs.empty());
  EXPECT_EQ(etcd.keepalive(lease), 0);
}

// Every call the election makes, once.
void every_call(dcs::Etcd& etcd, const std::string& tag) {
  const long long lease = etcd.grant(30s);
  EXPECT_GE(etcd.keepalive(lease), 1);
  EXPECT_TRUE(etcd.txn({absent("/sk/" + tag)}, {put("/sk/" + tag, tag, lease)}).succeeded);
  EXPECT_EQ(etcd.get("/sk/" + tag)->value, tag);
  EXPECT_FALSE(etcd.list("/sk/").kvs.empty());
  etcd.revoke(lease);
  EXPECT_FALSE(etcd.get("/sk/" + tag).has_value());
}

TEST(EtcdClient, ServesSeveralThreadsAtOnce) {
  SK_REQUIRE_ETCD();
  EtcdCluster cluster;
  auto etcd = client_of(cluster);
  const long long lease = etcd.grant(30s);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < 25; ++k) {
        try {
          const std::string key = "/sk/t" + std::to_string(t) + "/" + std::to_string(k);
          if (!etcd.txn({absent(key)}, {put(key, "v", lease)}).succeeded) ++failures;
          if (!etcd.get(key) || etcd.keepalive(lease) < 1) ++failures;
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(etcd.list("/sk/").kvs.size(), 100u);
}

TEST(EtcdClient, OneMemberDownEveryCallGoesToTheNextOne) {
  SK_REQUIRE_ETCD();
  EtcdCluster cluster;
  const int leader = cluster.leader();
  const int follower = (leader + 1) % cluster.size();
  // The follower first: the client uses it, holds a connection to it, and prefers it.
  dcs::EtcdHttpOptions o;
  o.endpoints = {cluster.endpoint(follower)};
  for (int i = 0; i < cluster.size(); ++i)
    if (i != follower) o.endpoints.push_back(cluster.endpoint(i));
  o.timeout = 1000ms;
  dcs::EtcdHttp etcd(o);
  every_call(etcd, "before");
  put_now(etcd, "/sk/kept", "1");

  cluster.kill(follower);
  auto start = Clock::now();
  ASSERT_NO_THROW(every_call(etcd, "follower-down")) << cluster.logs();
  EXPECT_LT(Clock::now() - start, 3s);  // refused at once, then the next member answers
  cluster.start(follower);
  cluster.wait_healthy();

  // The leader: the others answer once they elected a new one (about a second: election-timeout).
  cluster.kill(leader);
  start = Clock::now();
  wait_until([&] { return etcd.get("/sk/kept").has_value(); }, 30s, "a new leader answers");
  std::printf("[ measure  ] leader killed: the client read again after %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count()));
  ASSERT_NO_THROW(every_call(etcd, "leader-down")) << cluster.logs();
}

TEST(EtcdClient, WithoutQuorumCallsFailInBoundedTimeThenWorkAgain) {
  SK_REQUIRE_ETCD();
  EtcdCluster cluster;
  const auto timeout = 1000ms;
  auto etcd = client_of(cluster, timeout);
  const long long lease = etcd.grant(60s);
  put_now(etcd, "/sk/leader", "m1", lease);

  // The leader and another member die; the survivor is a follower. (A surviving leader would renew
  // leases on its own until it steps down, an election timeout later: etcd's lessor lives on the
  // leader, so the election must not trust a renewal for its whole TTL.)
  const int survivor = (cluster.leader() + 1) % cluster.size();
  const int dead = (survivor + 1) % cluster.size();
  for (int i = 0; i < cluster.size(); ++i)
    if (i != survivor) cluster.kill(i);
  // The client may try each endpoint once per call: at most timeout × endpoints, with slack for the
  // connects that are refused.
  const auto bound = 3 * timeout * 3 / 2;
  const auto expect_bounded_failure = [&](const char* what, auto&& call) {
    const auto start = Clock::now();
    try {
      call();
      ADD_FAILURE() << what << " returned without a quorum";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("etcd did not answer"), std::string::npos) << m;
      EXPECT_NE(m.find(cluster.endpoint(dead) + ": connection refused"), std::string::npos) << m;
      EXPECT_NE(m.find(cluster.endpoint(survivor) + ": "), std::string::npos) << m;
      EXPECT_FALSE(e.hint().empty());
    }
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    std::printf("[ measure  ] %s without quorum failed after %lld ms (timeout %lld ms, 3 endpoints)\n", what,
                static_cast<long long>(took.count()), static_cast<long long>(timeout.count()));
    EXPECT_LE(took, bound) << what;
  };
  expect_bounded_failure("get", [&] { etcd.get("/sk/leader"); });  // linearizable: no stale answer
  expect_bounded_failure("keepalive", [&] { etcd.keepalive(lease); });
  expect_bounded_failure("list", [&] { etcd.list("/sk/"); });
  expect_bounded_failure("txn", [&] { etcd.txn({}, {put("/sk/leader", "m2")}); });
  expect_bounded_failure("grant", [&] { etcd.grant(10s); });

  for (int i = 0; i < cluster.size(); ++i) cluster.start(i);
  cluster.wait_healthy();
  wait_until([&] { return etcd.get("/sk/leader").has_value(); }, 30s, "the client reads again");
  EXPECT_GE(etcd.keepalive(lease), 1);
  every_call(etcd, "after");
}

// What the election must allow for: etcd renews a lease on the leader alone, so a leader cut off from
// the majority goes on renewing until it steps down (CheckQuorum, about an election timeout later),
// while reads fail at once.
TEST(EtcdClient, ASurvivingLeaderStopsRenewingOnceItStepsDown) {
  SK_REQUIRE_ETCD();
  EtcdCluster cluster;
  const int leader = cluster.leader();
  dcs::EtcdHttpOptions o;
  o.endpoints = {cluster.endpoint(leader)};
  o.timeout = 1000ms;
  dcs::EtcdHttp etcd(o);
  const long long lease = etcd.grant(60s);
  for (int i = 0; i < cluster.size(); ++i)
    if (i != leader) cluster.kill(i);
  const auto killed = Clock::now();
  EXPECT_THROW(etcd.get("/sk/leader"), Error);  // a linearizable read needs the majority
  wait_until(
      [&] {
        try {
          etcd.keepalive(lease);
          return false;
        } catch (const Error&) {
          return true;
        }
      },
      10s, "the cut-off leader stops renewing");
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed);
  std::printf("[ measure  ] a leader without quorum renewed leases for up to %lld ms (election timeout 1000 ms)\n",
              static_cast<long long>(took.count()));
  EXPECT_LT(took, 8s);  // CheckQuorum steps down within two election timeouts; slack for a loaded machine
}

TEST(EtcdClient, AuthenticatesWithThePasswordAndSaysWhenItIsWrong) {
  SK_REQUIRE_ETCD();
  EtcdCluster cluster;
  cluster.etcdctl({"user", "add", "root:root-pw"});
  cluster.etcdctl({"role", "add", "sitekeeper"});
  cluster.etcdctl({"role", "grant-permission", "sitekeeper", "--prefix=true", "readwrite", "/sk/"});
  cluster.etcdctl({"user", "add", "sk:sk-pw"});
  cluster.etcdctl({"user", "grant-role", "sk", "sitekeeper"});
  cluster.etcdctl({"auth", "enable"});
  cluster.set_admin("root:root-pw");

  auto etcd = client_of(cluster, 1000ms, "sk", "sk-pw");
  every_call(etcd, "auth");
  try {
    etcd.get("/elsewhere");
    ADD_FAILURE() << "read outside the role's prefix";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("permission denied"), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("'sk'"), std::string::npos) << e.hint();
  }

  // etcd's simple tokens live in the members' memory: after a restart of all of them the client's
  // token is unknown, and it authenticates again (on connections the members closed).
  put_now(etcd, "/sk/kept", "1");
  for (int i = 0; i < cluster.size(); ++i) cluster.stop(i);
  for (int i = 0; i < cluster.size(); ++i) cluster.start(i);
  cluster.wait_healthy();
  wait_until([&] { return etcd.get("/sk/kept").has_value(); }, 30s, "the client reads with a new token");

  for (const auto& [user, password] : {std::pair{"sk", "wrong"}, std::pair{"nobody", "sk-pw"}}) {
    auto bad = client_of(cluster, 1000ms, user, password);
    const auto start = Clock::now();
    try {
      bad.get("/sk/kept");
      ADD_FAILURE() << "a wrong password was accepted";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find(std::string("etcd refused the user '") + user + "': etcdserver: authentication failed"),
                std::string::npos)
          << m;
      EXPECT_EQ(m.find(password), std::string::npos) << m;
      EXPECT_NE(e.hint().find("password_file"), std::string::npos);
    }
    EXPECT_LT(Clock::now() - start, 3s);  // refused at once, not after trying every member
  }

  auto anonymous = client_of(cluster);
  try {
    anonymous.get("/sk/kept");
    ADD_FAILURE() << "read without a user on a cluster with authentication";
  } catch (const Error& e) {
    EXPECT_NE(e.hint().find("set [dcs] user"), std::string::npos) << e.what() << " / " << e.hint();
  }
}

TEST(EtcdClient, SpeaksTlsAndChecksTheServersCertificate) {
  SK_REQUIRE_ETCD();
  TempDir dir((std::filesystem::temp_directory_path() / "sk-etcd-tls-").string());
  const auto pair = self_signed_cert("127.0.0.1");  // for IP 127.0.0.1 and localhost: its own CA
  const auto cert = dir / "server.crt";
  const auto key = dir / "server.key";
  std::ofstream(cert) << pair.cert_pem;
  std::ofstream(key) << pair.key_pem;
  EtcdClusterOptions co;
  co.members = 1;
  co.cert_file = cert;
  co.key_file = key;
  co.ca_file = cert;
  EtcdCluster cluster(co);
  ASSERT_EQ(cluster.endpoint(0).rfind("https://127.0.0.1:", 0), 0u);

  dcs::EtcdHttpOptions o;
  o.endpoints = cluster.endpoints();
  o.ca_file = cert;
  {
    dcs::EtcdHttp etcd(o);
    every_call(etcd, "tls");
  }
  // The same name, another way: localhost is in the certificate too.
  o.endpoints = {"https://localhost:" + cluster.endpoint(0).substr(cluster.endpoint(0).rfind(':') + 1)};
  {
    dcs::EtcdHttp etcd(o);
    EXPECT_NO_THROW(etcd.get("/sk/x"));
  }
  // A name the certificate does not hold, for the same address (getaddrinfo reads "127.1" as
  // 127.0.0.1): the host name check refuses it.
  o.endpoints = {"https://127.1:" + cluster.endpoint(0).substr(cluster.endpoint(0).rfind(':') + 1)};
  {
    dcs::EtcdHttp etcd(o);
    try {
      etcd.get("/sk/x");
      ADD_FAILURE() << "a certificate for another name was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("tls handshake failed: certificate verify failed"), std::string::npos)
          << e.what();
    }
  }
  // Without the CA (the system's CAs only) the certificate is not trusted.
  o.endpoints = cluster.endpoints();
  o.ca_file.clear();
  dcs::EtcdHttp untrusting(o);
  try {
    untrusting.get("/sk/x");
    ADD_FAILURE() << "an untrusted certificate was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(cluster.endpoint(0) + ": tls handshake failed: certificate verify failed"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace sk::test
