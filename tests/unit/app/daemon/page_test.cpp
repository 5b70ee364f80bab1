// The status page as rendered from the status document and the page's data: what a help-desk reader
// must find without JavaScript (names, backup ids, a down replica shown as down, the standby's lag,
// runs, alerts, an open failover), escaping of every value that comes from a config or an error, the
// empty site, the SVG timeline and lag plot, and the headers GET / answers with.
#include "app/daemon/page.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "app/daemon/api.hpp"
#include "core/clock.hpp"
#include "core/units.hpp"
#include "support/page_dom.hpp"

namespace sk::daemon {
namespace {

using json = nlohmann::json;
using sk::test::replica_row;

constexpr long long kNow = 1795000000000;  // 2026-11-18T08:26:40Z

int count(const std::string& hay, const std::string& needle) {
  int n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

json replica(const std::string& name, bool up, const std::string& backup, const std::string& state) {
  return {{"name", name},          {"host", "127.0.0.1"}, {"port", 5433},    {"role", "replica"},
          {"backup_id", backup},   {"backup_time", "2026-11-18T02:00:00Z"}, {"restored_at", "2026-11-18T04:00:00Z"},
          {"age_seconds", 23200},  {"reachable", up},     {"up", up},        {"fresh", up && state == "fresh"},
          {"state", state},        {"reason", up ? "" : "cannot connect to 127.0.0.1:5434: connection refused"}};
}

json site_status() {
  return {{"site", "CEN"},
          {"database", "CM_CEN"},
          {"daemon", {{"running", true}, {"pid", 42}, {"last_probe_at", "2026-11-18T08:26:39Z"}}},
          {"active", {{"name", "cm1"}, {"host", "10.0.0.1"}, {"port", 5432}, {"role", "active"}, {"reachable", true}, {"up", true}}},
          {"standby",
           {{"name", "cm2"}, {"host", "10.0.0.2"}, {"port", 5432}, {"reachable", true}, {"up", true},
            {"lag_bytes", 2048}, {"lag_seconds", 0.5}, {"state", "streaming"}}},
          {"archive", {{"newest_verified", "20261118T020000Z"}, {"newest_verified_at", "2026-11-18T02:00:00Z"}, {"age_seconds", 23200}}},
          {"replicas", {replica("hd1", true, "20261118T020000Z", "fresh"), replica("hd2", false, "20261117T020000Z", "DOWN")}},
          {"alerts", {{{"at", "2026-11-18T03:00:00Z"}, {"job", "refresh"}, {"message", "hd2: cannot connect"}}}},
          {"journal", nullptr},
          {"ok", false}};
}

PageData site_page() {
  PageData d;
  d.status = site_status();
  d.history = {{{"job", "refresh"}, {"target", "hd1"}, {"started_at", "2026-11-18T04:00:00Z"}, {"outcome", "ok"},
                {"duration_ms", 61000}, {"message", ""}},
               {{"job", "refresh"}, {"target", "hd2"}, {"started_at", "2026-11-18T04:00:00Z"}, {"outcome", "failed"},
                {"duration_ms", 900}, {"message", "cannot connect to hd2"}}};
  d.freshness = {{{"replica", "hd1"}, {"backup_id", "20261116T020000Z"}, {"restored_at", "2026-11-16T04:00:00Z"}},
                 {{"replica", "hd1"}, {"backup_id", "20261118T020000Z"}, {"restored_at", "2026-11-18T04:00:00Z"}}};
  d.lag = json::array();
  for (int i = 0; i < 60; ++i)
    d.lag.push_back({{"at_ms", kNow - (60 - i) * 60'000LL}, {"lag_bytes", i * 100}, {"lag_seconds", 0.1}, {"state", "streaming"}});
  d.now_ms = kNow;
  return d;
}

TEST(Page, ShowsTheSiteItsServersAndWhatEachReplicaServes) {
  const std::string page = render_page(site_page());
  EXPECT_NE(page.find("<title>sitekeeper: site CEN</title>"), std::string::npos);
  EXPECT_NE(page.find("database CM_CEN"), std::string::npos);
  for (const char* s : {"cm1", "cm2", "hd1", "hd2", "10.0.0.1:5432", "20261118T020000Z", "20261117T020000Z"})
    EXPECT_NE(page.find(s), std::string::npos) << s;
  // The standby's lag, in words a reader knows.
  EXPECT_NE(page.find(format_size(2048) + ", 0.5 s (streaming)"), std::string::npos) << page;

  const std::string hd1 = replica_row(page, "hd1"), hd2 = replica_row(page, "hd2");
  EXPECT_NE(hd1.find("data-state=\"up\""), std::string::npos) << hd1;
  EXPECT_NE(hd1.find(">yes<"), std::string::npos) << hd1;
  EXPECT_NE(hd1.find(">fresh<"), std::string::npos) << hd1;
  EXPECT_NE(hd1.find(format_duration(std::chrono::seconds(23200))), std::string::npos) << hd1;
  // A down replica: a data attribute for tools, a class for the style, and words for the reader.
  EXPECT_NE(hd2.find("class=\"replica down\""), std::string::npos) << hd2;
  EXPECT_NE(hd2.find("data-state=\"down\""), std::string::npos) << hd2;
  EXPECT_NE(hd2.find(">NO<"), std::string::npos) << hd2;
  EXPECT_NE(hd2.find(">DOWN<"), std::string::npos) << hd2;
  EXPECT_NE(hd2.find("connection refused"), std::string::npos) << hd2;
  EXPECT_NE(page.find("Needs attention: replica hd2 is down."), std::string::npos);

  // Runs with their outcome, and the alert.
  EXPECT_NE(page.find("data-outcome=\"failed\""), std::string::npos);
  EXPECT_NE(page.find(">failed<"), std::string::npos);
  EXPECT_NE(page.find("cannot connect to hd2"), std::string::npos);
  EXPECT_NE(page.find("refresh: hd2: cannot connect"), std::string::npos);
  EXPECT_EQ(page.find("id=\"journal\""), std::string::npos) << "no failover is open";
}

TEST(Page, OffSiteCopiesShowEachDestinationsNewestCopyAndAFailedLastCopy) {
  auto d = site_page();
  d.status["copies"] = {{{"destination", "/mnt/offsite <a>"}, {"rate", "10.0 MB/s"}, {"newest_copy", "20261118T020000Z"},
                         {"newest_copy_at", "2026-11-18T02:00:00Z"}, {"age_seconds", 23200}, {"last_outcome", "ok"},
                         {"last_message", "copied"}},
                        {{"destination", "/mnt/second"}, {"rate", "512.0 kB/s"}, {"newest_copy", ""}, {"newest_copy_at", ""},
                         {"age_seconds", -1}, {"last_outcome", "failed"}, {"last_message", "is not a folder"}}};
  const std::string page = render_page(d);
  ASSERT_NE(page.find("<h2>Off-site copies</h2>"), std::string::npos) << page;
  EXPECT_NE(page.find("data-destination=\"/mnt/offsite &lt;a&gt;\" data-backup=\"20261118T020000Z\""), std::string::npos);
  EXPECT_NE(page.find(format_duration(std::chrono::seconds(23200))), std::string::npos);
  EXPECT_NE(page.find("512.0 kB/s"), std::string::npos);
  EXPECT_NE(page.find("is not a folder"), std::string::npos);
  // A site without [[archive.copy]] shows no such table.
  EXPECT_EQ(render_page(site_page()).find("Off-site copies"), std::string::npos);
}

TEST(Page, AllWellSaysSo) {
  auto d = site_page();
  d.status["replicas"] = {replica("hd1", true, "20261118T020000Z", "fresh")};
  const std::string page = render_page(d);
  EXPECT_NE(page.find("All servers answer and every replica is fresh."), std::string::npos);
  EXPECT_EQ(page.find("Needs attention"), std::string::npos);
}

TEST(Page, EscapesEveryValueFromOutside) {
  const std::string evil = "<script>alert(\"&'x')</script>";
  auto d = site_page();
  d.status["site"] = evil;
  d.status["database"] = evil;
  d.status["active"]["name"] = evil;
  d.status["active"]["host"] = evil;
  d.status["active"]["up"] = false;
  d.status["active"]["reason"] = evil;
  d.status["standby"]["state"] = evil;
  d.status["replicas"][0]["name"] = evil;
  d.status["replicas"][0]["backup_id"] = evil;
  d.status["replicas"][1]["reason"] = evil;
  d.status["alerts"][0]["message"] = evil;
  d.status["alerts"][0]["job"] = evil;
  d.status["journal"] = {{"kind", evil}, {"from", evil}, {"to", evil}, {"epoch", 2}, {"started_at", evil},
                         {"steps", {{evil, {{"at", evil}, {"detail", evil}}}}}, {"stopped", {{"at", evil}, {"why", evil}}}};
  d.history[0]["message"] = evil;
  d.history[0]["target"] = evil;
  d.history[0]["outcome"] = evil;
  d.freshness[0]["replica"] = evil;
  d.freshness[0]["backup_id"] = evil;
  d.freshness.push_back({{"replica", evil}, {"backup_id", evil}, {"restored_at", "2026-11-17T04:00:00Z"}});
  const std::string page = render_page(d);

  EXPECT_EQ(count(page, "<script"), 1) << "only the page's own script tag";
  EXPECT_EQ(page.find("alert(\""), std::string::npos);
  EXPECT_EQ(page.find("'x'"), std::string::npos);
  EXPECT_GE(count(page, "&lt;script&gt;alert(&quot;&amp;&#39;x&#39;)&lt;/script&gt;"), 15) << page;
  // In attributes too: a name ends no attribute early.
  EXPECT_NE(page.find("data-server=\"&lt;script&gt;alert(&quot;"), std::string::npos);
  EXPECT_NE(page.find("data-backup=\"&lt;script&gt;"), std::string::npos);
  EXPECT_EQ(html_escape("a<b>&\"'c"), "a&lt;b&gt;&amp;&quot;&#39;c");
}

TEST(Page, EmptySiteRendersWithoutRunsStandbyOrReplicas) {
  PageData d;
  d.status = {{"site", "NEW"}, {"active", {{"name", "cm1"}, {"up", true}}}, {"standby", nullptr},
              {"replicas", json::array()}, {"alerts", json::array()}, {"journal", nullptr}};
  d.history = json::array();
  d.lag = json::array();
  d.freshness = json::array();
  d.now_ms = kNow;
  const std::string page = render_page(d);
  EXPECT_NE(page.find("No job has run yet."), std::string::npos);
  EXPECT_NE(page.find("No standby is configured."), std::string::npos);
  EXPECT_NE(page.find("no standby configured</text>"), std::string::npos) << "in the lag plot";
  EXPECT_NE(page.find("No replicas are configured."), std::string::npos);
  EXPECT_NE(page.find("No alerts."), std::string::npos);
  EXPECT_NE(page.find("id=\"lag-plot\""), std::string::npos);
  EXPECT_NE(page.find("id=\"freshness-timeline\""), std::string::npos);
  EXPECT_EQ(page.find("<polyline"), std::string::npos);
  EXPECT_NE(page.find(">none<"), std::string::npos) << "no verified backup yet";

  // A replica never refreshed, a standby without a sample yet, and no status at all: no throw.
  d.status["replicas"] = {{{"name", "hd1"}, {"up", true}, {"backup_id", ""}, {"state", "never refreshed"}}};
  d.status["standby"] = {{"name", "cm2"}, {"up", false}};
  const std::string fresh_site = render_page(d);
  EXPECT_NE(fresh_site.find("never refreshed"), std::string::npos);
  EXPECT_NE(fresh_site.find("no lag samples in the last 6 hours"), std::string::npos);
  EXPECT_NE(render_page(PageData{}).find("</html>"), std::string::npos);
}

TEST(Page, TimelineShowsWhichBackupEachReplicaServedWhen) {
  const std::string page = render_page(site_page());
  const auto svg = page.substr(page.find("<svg id=\"freshness-timeline\""));
  const std::string timeline = svg.substr(0, svg.find("</svg>"));
  EXPECT_NE(timeline.find("data-server=\"hd1\""), std::string::npos);
  EXPECT_NE(timeline.find("data-server=\"hd2\""), std::string::npos);
  EXPECT_NE(timeline.find("<g class=\"replica-row down\" data-server=\"hd2\""), std::string::npos);
  // hd1: the two restores in the window, the older one until the newer one.
  EXPECT_NE(timeline.find("hd1 served 20261116T020000Z from 2026-11-16 04:00 UTC to 2026-11-18 04:00 UTC"), std::string::npos)
      << timeline;
  EXPECT_NE(timeline.find("hd1 served 20261118T020000Z from 2026-11-18 04:00 UTC until now"), std::string::npos);
  // hd2 has no restore in the window: what it serves now, over the window.
  EXPECT_NE(timeline.find("data-backup=\"20261117T020000Z\""), std::string::npos);
  EXPECT_EQ(count(timeline, "<rect class=\"seg"), 3);
  // Two days are too narrow for the whole id: the backup's date labels it.
  EXPECT_NE(timeline.find(">11-16</text>"), std::string::npos) << timeline;
}

TEST(Page, TimelineLabelsWithTheIdWhereItFitsElseTheBackupsDate) {
  auto d = site_page();
  d.freshness = json::array();
  for (int day = 10; day > 0; --day)
    d.freshness.push_back({{"replica", "hd1"}, {"backup_id", "202611" + std::to_string(18 - day) + "T020000Z"},
                           {"restored_at", iso_utc(Clock::time_point(std::chrono::milliseconds(kNow - day * 86'400'000LL)))}});
  d.freshness.push_back({{"replica", "hd2"}, {"backup_id", "20261105T020000Z"},
                         {"restored_at", iso_utc(Clock::time_point(std::chrono::milliseconds(kNow - 12 * 86'400'000LL)))}});
  const std::string page = render_page(d);
  EXPECT_NE(page.find(">20261105T020000Z</text>"), std::string::npos) << page;
  EXPECT_NE(page.find("\">11-10</text>"), std::string::npos) << page;
  EXPECT_EQ(page.find(">20261110T020000Z</text>"), std::string::npos);
  EXPECT_NE(page.find("data-backup=\"20261110T020000Z\""), std::string::npos);
}

TEST(Page, LagPlotDrawsTheSamplesAndGapsWhereTheStandbyWasSilent) {
  auto d = site_page();
  std::string page = render_page(d);
  EXPECT_EQ(count(page, "<polyline class=\"lag-line\""), 1);
  EXPECT_EQ(page.find("class=\"unreachable\""), std::string::npos);
  // The standby did not answer half an hour ago: the line breaks there, and the band says why.
  d.lag.push_back({{"at_ms", kNow - 30 * 60'000LL + 1}, {"lag_bytes", -1}, {"lag_seconds", -1}, {"state", "unreachable"}});
  std::sort(d.lag.begin(), d.lag.end(), [](const json& a, const json& b) { return a["at_ms"] < b["at_ms"]; });
  page = render_page(d);
  EXPECT_EQ(count(page, "<polyline class=\"lag-line\""), 2);
  EXPECT_NE(page.find("the standby did not answer"), std::string::npos);
  // The y axis reaches past the worst lag (5900 bytes), in round kilobytes.
  EXPECT_NE(page.find(">" + format_size(10 * 1024) + "<"), std::string::npos) << page;
  EXPECT_NE(page.find(">" + format_size(5 * 1024) + "<"), std::string::npos);
}

TEST(Page, OpenJournalShowsItsStepsInOrder) {
  auto d = site_page();
  d.status["journal"] = {{"kind", "failover"}, {"from", "cm1"}, {"to", "cm2"}, {"epoch", 3},
                         {"started_at", "2026-11-18T08:20:00Z"}, {"pid", 777},
                         {"steps", {{"promote", {{"at", "2026-11-18T08:20:05Z"}, {"detail", "promoted cm2"}}},
                                    {"fence", {{"at", "2026-11-18T08:20:01Z"}, {"detail", "cm1 read-only"}}}}},
                         {"stopped", {{"at", "2026-11-18T08:20:09Z"}, {"why", "serials: cannot connect"}}}};
  const std::string page = render_page(d);
  ASSERT_NE(page.find("id=\"journal\""), std::string::npos);
  EXPECT_NE(page.find("Open failover: cm1 to cm2"), std::string::npos);
  EXPECT_LT(page.find("cm1 read-only"), page.find("promoted cm2")) << "fence finished first";
  EXPECT_NE(page.find("serials: cannot connect"), std::string::npos);
  EXPECT_NE(page.find(">STOPPED<"), std::string::npos);
  EXPECT_NE(page.find("a failover is open"), std::string::npos);
}

ApiSources page_sources() {
  ApiSources src;
  auto cfg = std::make_shared<const Config>();
  src.loaded = [cfg] { return cfg; };
  src.effective = [cfg] { return cfg; };
  src.page = [] { return render_page(site_page()); };
  return src;
}

std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

TEST(Page, ServedAsHtmlThatLoadsOnlyFromTheDaemonAndIsNeverCached) {
  const auto src = page_sources();
  auto r = handle(src, {"GET", "/", ""});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
  const std::string csp = header(r, "Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_NE(r.body.find("hd2"), std::string::npos);
  // Nothing inline for the policy to refuse: the script and the style come from the daemon.
  EXPECT_EQ(r.body.find("<style"), std::string::npos);
  EXPECT_EQ(r.body.find(" style="), std::string::npos);
  EXPECT_NE(r.body.find("<script src=\"/page.js\" defer></script>"), std::string::npos);

  auto js = handle(src, {"GET", "/page.js", ""});
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(header(js, "Cache-Control"), "no-store");
  auto css = handle(src, {"GET", "/page.css", ""});
  EXPECT_EQ(css.content_type, "text/css; charset=utf-8");
  auto head = handle(src, {"HEAD", "/", ""});
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
}

TEST(Page, ScriptAndStyleAreTheFilesCompiledIn) {
  for (const auto& [file, text] : {std::pair{"page.js", page_script()}, std::pair{"page.css", page_style()}}) {
    std::ifstream in(std::string(SK_SOURCE_DIR) + "/app/daemon/page/" + file, std::ios::binary);
    ASSERT_TRUE(in) << file;
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(text, ss.str()) << file;
  }
  EXPECT_NE(page_script().find("fetch("), std::string::npos);
}

}  // namespace
}  // namespace sk::daemon
