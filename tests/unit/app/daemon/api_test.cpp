// The HTTP API's routes on hand-made health snapshots: what a load balancer's check gets for each
// server in each state, HEAD and OPTIONS like GET without a body, and the checks' hysteresis.
#include "app/daemon/api.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace {

using namespace sk;
using namespace sk::daemon;

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cfg = std::make_shared<Config>();
    cfg->site = {"CEN", {"CM_CEN"}, "CM_CEN"};
    cfg->archive.max_age = std::chrono::hours(26);
    for (const char* n : {"cm1", "cm2", "hd1", "hd2"}) {
      ServerConfig s;
      s.name = n;
      s.host = "127.0.0.1";
      s.port = 5432;
      cfg->servers[n] = s;
    }
    cfg->roles.active = "cm1";
    cfg->roles.standby = "cm2";
    cfg->roles.replicas = {"hd1", "hd2"};
    cfg_ = cfg;

    snap_.active = "cm1";
    snap_.standby = "cm2";
    snap_.replicas = {"hd1", "hd2"};
    snap_.max_age = cfg->archive.max_age;
    add("cm1", "active", true);
    add("cm2", "standby", true);
    add("hd1", "replica", true, "20261130T020000Z", 3600);
    add("hd2", "replica", true, "20261130T020000Z", 7200);

    src_.loaded = [this] { return cfg_; };
    src_.effective = [this] { return cfg_; };
    src_.health = [this] { return snap_; };
    src_.decision = [] { return "no action: the active answers"; };
    src_.status = [] { return nlohmann::json{{"ok", true}}; };
    src_.metrics = [] { return std::string("sitekeeper_up 1\n"); };
  }

  void add(const std::string& name, const std::string& role, bool up, const std::string& backup = "",
           long long age = -1) {
    ServerHealth h;
    h.name = name;
    h.role = role;
    h.up = up;
    h.known = true;
    h.reachable = up;
    h.reason = up ? "" : name + " does not answer: connection refused";
    h.backup_id = backup;
    h.age_seconds = age;
    snap_.servers[name] = h;
  }

  HttpResponse get(const std::string& target, const std::string& method = "GET") {
    return handle(src_, HttpRequest{method, target, ""});
  }
  nlohmann::json body(const HttpResponse& r) { return nlohmann::json::parse(r.body); }

  std::shared_ptr<Config> cfg_;
  HealthSnapshot snap_;
  ApiSources src_;
};

// [dcs]: a manager that lost touch with etcd answers from its last known state with the same status
// codes (HAProxy routes as it was told last) and says how stale that state is.
TEST_F(ApiTest, WithSeveralManagersEveryCheckNamesTheLeaderAndAStaleOneSaysHowStale) {
  nlohmann::json manager = {{"name", "mgr2"}, {"leader", "mgr1"}, {"leading", false}, {"stale", false},
                            {"stale_seconds", 0.1}};
  src_.manager = [&] { return manager; };
  auto header = [](const HttpResponse& r, const std::string& name) -> std::string {
    for (const auto& [k, v] : r.headers)
      if (k == name) return v;
    return "(none)";
  };
  auto fresh = get("/replica/hd1");
  EXPECT_EQ(fresh.status, 200);
  EXPECT_EQ(body(fresh)["manager"]["leader"], "mgr1");
  EXPECT_EQ(header(fresh, "X-Sitekeeper-Leader"), "mgr1");
  EXPECT_EQ(header(fresh, "X-Sitekeeper-Stale"), "(none)");
  manager["stale"] = true;
  manager["stale_seconds"] = 12.34;
  for (const char* path : {"/health", "/active", "/active/cm1", "/standby/cm2", "/replica", "/replica/hd1"}) {
    auto r = get(path);
    EXPECT_EQ(r.status, 200) << path << ": the verdict stays the last known one";
    EXPECT_EQ(header(r, "X-Sitekeeper-Stale"), "12.3") << path;
    EXPECT_TRUE(body(r)["manager"]["stale"].get<bool>()) << path;
  }
  snap_.servers["hd1"].up = false;
  EXPECT_EQ(get("/replica/hd1").status, 503) << "a stale answer is still the verdict";
  manager["stale_seconds"] = nullptr;  // etcd never answered
  EXPECT_EQ(header(get("/health"), "X-Sitekeeper-Stale"), "unknown");
  // A HEAD check gets the headers without a body.
  auto head = get("/active", "HEAD");
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(header(head, "X-Sitekeeper-Leader"), "mgr1");
}

TEST_F(ApiTest, EachReplicaIsJudgedByItsOwnName) {
  snap_.servers["hd2"].up = false;
  snap_.servers["hd2"].reachable = false;
  snap_.servers["hd2"].reason = "hd2 does not answer: connection refused";
  EXPECT_EQ(get("/replica/hd1").status, 200);
  auto r = get("/replica/hd2");
  EXPECT_EQ(r.status, 503) << "a dead replica must fail its own check while another is healthy";
  EXPECT_EQ(body(r)["error"], "hd2 does not answer: connection refused");
  EXPECT_FALSE(body(r)["reachable"].get<bool>());
}

TEST_F(ApiTest, AReplicaServingAnOldCopyFailsAndTheQueryCanRelaxMaxAge) {
  snap_.servers["hd2"].age_seconds = 30 * 3600;
  auto r = get("/replica/hd2");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body(r)["error"], "hd2 serves a copy older than 1d 2h");
  EXPECT_EQ(get("/replica/hd2?max_age=2d").status, 200);
  EXPECT_EQ(get("/replica/hd2?max_age=soon").status, 400);
}

TEST_F(ApiTest, AReplicaNeverRefreshedOrNotProbedIsNotServed) {
  snap_.servers["hd1"].backup_id.clear();
  EXPECT_EQ(body(get("/replica/hd1"))["error"], "hd1 was never refreshed");
  snap_.servers["hd2"].known = false;
  EXPECT_EQ(body(get("/replica/hd2"))["error"], "not probed yet");
}

TEST_F(ApiTest, AReplicaServingAMixOfGenerationsIsNotServed) {
  snap_.servers["hd1"].mixed = "hd1 serves a mix of generations: CM_CEN 20261130T020000Z, CM_REP never restored";
  auto r = get("/replica/hd1");
  EXPECT_EQ(r.status, 503) << "help-desk queries across the databases would read two different nights";
  EXPECT_EQ(body(r)["error"], snap_.servers["hd1"].mixed);
  EXPECT_EQ(body(get("/replica"))["name"], "hd2") << "the any-replica check picks the consistent one";
}

TEST_F(ApiTest, UnknownServersAre404AndServersInAnotherRoleAre503) {
  EXPECT_EQ(get("/replica/nosuch").status, 404);
  EXPECT_EQ(get("/active/nosuch").status, 404);
  EXPECT_EQ(get("/standby/nosuch").status, 404);
  auto r = get("/replica/cm1");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body(r)["error"], "cm1 is not a replica");
  r = get("/active/cm2");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body(r)["error"], "cm2 is not the active server; cm1 is");
  r = get("/standby/cm1");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body(r)["error"], "cm1 is not the standby; cm2 is");
}

TEST_F(ApiTest, TheActiveCheckFollowsTheRolesInForce) {
  EXPECT_EQ(get("/active/cm1").status, 200);
  EXPECT_EQ(get("/active").status, 200);
  // After a failover the snapshot says cm2 is the active: the write frontend must move with it.
  snap_.active = "cm2";
  snap_.standby = "";
  snap_.servers["cm2"].role = "active";
  snap_.servers["cm1"].role = "standby";
  snap_.servers["cm1"].up = false;
  EXPECT_EQ(get("/active/cm2").status, 200);
  EXPECT_EQ(get("/active/cm1").status, 503);
}

TEST_F(ApiTest, ADownActiveIs503WithTheReasonAndTheDecision) {
  snap_.servers["cm1"].up = false;
  snap_.servers["cm1"].reason = "cm1 does not answer: timeout";
  auto r = get("/active/cm1");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body(r)["error"], "cm1 does not answer: timeout");
  EXPECT_EQ(body(r)["decision"], "no action: the active answers");
}

TEST_F(ApiTest, HeadAndOptionsAnswerLikeGetWithoutABody) {
  snap_.servers["hd2"].up = false;
  for (const char* m : {"HEAD", "OPTIONS"}) {
    auto ok = get("/replica/hd1", m);
    EXPECT_EQ(ok.status, 200) << m;
    EXPECT_TRUE(ok.body.empty()) << m;
    auto bad = get("/replica/hd2", m);
    EXPECT_EQ(bad.status, 503) << m;
    EXPECT_TRUE(bad.body.empty()) << m;
  }
  auto opt = get("/active/cm1", "OPTIONS");
  ASSERT_EQ(opt.headers.size(), 1u);
  EXPECT_EQ(opt.headers[0].first, "Allow");
  auto post = get("/replica/hd1", "POST");
  EXPECT_EQ(post.status, 405);
}

TEST_F(ApiTest, TheAnyReplicaCheckPicksTheFreshestHealthyOne) {
  auto r = get("/replica");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body(r)["name"], "hd1");
  snap_.servers["hd1"].up = false;
  EXPECT_EQ(body(get("/replica"))["name"], "hd2");
  snap_.servers["hd2"].up = false;
  r = get("/replica");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(body(r)["replicas"].size(), 2u);
}

TEST_F(ApiTest, ATokenGuardsTheSiteStateButNotTheChecks) {
  cfg_->http.token = "s3cret";
  EXPECT_EQ(get("/replica/hd1").status, 200);
  EXPECT_EQ(get("/active/cm1", "HEAD").status, 200);
  EXPECT_EQ(get("/status").status, 401);
  EXPECT_EQ(get("/metrics").status, 401);
  EXPECT_EQ(handle(src_, HttpRequest{"GET", "/status", "Bearer s3cret"}).status, 200);
  EXPECT_FALSE(open_to_all("/history"));
  EXPECT_TRUE(open_to_all("/standby/cm2"));
}

TEST_F(ApiTest, UnknownPathsAre404) {
  EXPECT_EQ(get("/nope").status, 404);
  EXPECT_EQ(get("/replica/").status, 404);
}

TEST(Hysteresis, ChangesOnlyAfterAgreeingProbes) {
  Hysteresis h(2, 3);
  EXPECT_FALSE(h.known());
  EXPECT_TRUE(h.observe(true)) << "the first probe decides: there is nothing to flap from";
  EXPECT_TRUE(h.up());
  EXPECT_FALSE(h.observe(false));
  EXPECT_FALSE(h.observe(false));
  EXPECT_TRUE(h.up()) << "fall = 3: two bad probes keep the server up";
  EXPECT_TRUE(h.observe(false));
  EXPECT_FALSE(h.up());
  EXPECT_FALSE(h.observe(true));
  EXPECT_TRUE(h.observe(true)) << "rise = 2";
  EXPECT_TRUE(h.up());
}

TEST(Hysteresis, AFlappingServerKeepsItsVerdict) {
  Hysteresis h(2, 2);
  h.observe(true);
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(h.observe(false));
    EXPECT_FALSE(h.observe(true));
  }
  EXPECT_TRUE(h.up());
}

TEST(Hysteresis, AVerdictKeptFromTheLastDaemonNeedsAFullStreakToChange) {
  Hysteresis h(2, 2);
  h.assume(true);
  EXPECT_TRUE(h.known());
  EXPECT_FALSE(h.observe(false)) << "a restart must not take a healthy server out on one probe";
  EXPECT_TRUE(h.observe(false));
  EXPECT_FALSE(h.up());
}

}  // namespace
