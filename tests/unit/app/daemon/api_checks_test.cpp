// The server checks' answers: the status code for an HTTP check, and the verdict in the reason phrase
// for an HAProxy agent check ("up", or "down #<why>"). The sources are fixed snapshots: no thread, no
// database.
#include "app/daemon/api.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace sk::daemon {
namespace {

struct Fixture {
  std::shared_ptr<Config> cfg = std::make_shared<Config>();
  HealthSnapshot snap;
  ApiSources src;

  Fixture() {
    cfg->site = {"CEN", {"CM_CEN"}, "CM_CEN"};
    for (const char* n : {"cm1", "cm2", "hd1", "hd2"}) cfg->servers[n].name = n;
    snap.active = "cm1";
    snap.standby = "cm2";
    snap.replicas = {"hd1", "hd2"};
    snap.max_age = std::chrono::hours(24);
    add("cm1", "active", true);
    add("cm2", "standby", true);
    add("hd1", "replica", true).backup_id = "20261201T0100Z";
    // hd2 does not answer: its probe's reason ends with libpq's newline.
    auto& hd2 = add("hd2", "replica", false);
    hd2.backup_id = "20261201T0100Z";
    hd2.reason = "hd2 does not answer: connection refused\n";
    src.loaded = [this] { return std::shared_ptr<const Config>(cfg); };
    src.effective = src.loaded;
    src.health = [this] { return snap; };
  }
  ServerHealth& add(const std::string& name, const std::string& role, bool up) {
    auto& h = snap.servers[name];
    h.name = name;
    h.role = role;
    h.up = up;
    h.known = true;
    h.reachable = up;
    h.age_seconds = 3600;
    return h;
  }
  HttpResponse get(const std::string& target, const std::string& method = "GET") const {
    return handle(src, {method, target, ""});
  }
};

TEST(ApiChecks, AFitServerIsUpInTheReasonPhrase) {
  Fixture f;
  for (const char* t : {"/replica/hd1", "/active/cm1", "/active", "/standby/cm2"}) {
    auto r = f.get(t);
    EXPECT_EQ(r.status, 200) << t;
    EXPECT_EQ(r.reason, "up") << t;
  }
}

TEST(ApiChecks, AnUnfitServerIsDownWithItsReason) {
  Fixture f;
  auto r = f.get("/replica/hd2");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.reason, "down #hd2 does not answer: connection refused\n");  // the server makes it one line
  r = f.get("/active/cm2");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.reason, "down #cm2 is not the active server; cm1 is");
  r = f.get("/replica/cm1");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.reason, "down #cm1 is not a replica");
  r = f.get("/replica/hd1?max_age=10m");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.reason.rfind("down #hd1 serves a copy older than", 0), 0u) << r.reason;
  r = f.get("/standby/nosuch");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.reason, "down #no server nosuch");
}

TEST(ApiChecks, HeadAndOptionsCarryTheVerdictWithoutABody) {
  Fixture f;
  for (const char* m : {"HEAD", "OPTIONS"}) {
    auto up = f.get("/replica/hd1", m);
    EXPECT_EQ(up.reason, "up") << m;
    EXPECT_TRUE(up.body.empty()) << m;
    auto down = f.get("/replica/hd2", m);
    EXPECT_EQ(down.reason.rfind("down #", 0), 0u) << m;
    EXPECT_TRUE(down.body.empty()) << m;
  }
}

TEST(ApiChecks, OtherEndpointsKeepTheStandardReasonPhrase) {
  Fixture f;
  for (const char* t : {"/health", "/replica", "/replicas", "/nowhere"}) EXPECT_EQ(f.get(t).reason, "") << t;
}

}  // namespace
}  // namespace sk::daemon
