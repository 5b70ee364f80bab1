// The status page (GET /) in a real browser: Debian's headless Chromium loads it from the daemon of a
// site on real PostgreSQL 15 clusters, and its script re-fetches the page and swaps it in place. What
// a browser without JavaScript shows is the HTML as served, checked too. (Headless Chromium with
// scripts disabled dumps nothing: it drives the page through script.) A replica's PostgreSQL is
// stopped and the page must show it down. Screenshots go to the build folder
// (status-page.png, status-page-down.png); docs/status-page.png is one of them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>

#include "pg_cluster.hpp"
#include "site_fixture.hpp"
#include "tests/unit/support/page_dom.hpp"

using namespace sk::test;
namespace fs = std::filesystem;

namespace {

constexpr auto kLong = std::chrono::seconds(120);

std::optional<fs::path> on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const fs::path p = fs::path(dir.empty() ? "." : dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return std::nullopt;
}

// Headless Chromium with a profile of its own, removed afterwards. As root it needs --no-sandbox.
class Browser {
 public:
  explicit Browser(fs::path exe) : exe_(std::move(exe)) {}

  // The DOM after the page's script had 3 s of (virtual) time. The page's console (CSP violations,
  // script errors) is kept for console().
  std::string dom(const std::string& url) {
    auto r = run({"--virtual-time-budget=3000", "--enable-logging=stderr", "--v=0", "--dump-dom", url});
    console_.clear();
    std::stringstream lines(r.err);
    for (std::string line; std::getline(lines, line);)
      if (line.find(":CONSOLE") != std::string::npos) console_ += line + "\n";
    if (r.code != 0 || r.out.find("</html>") == std::string::npos)
      throw std::runtime_error("chromium --dump-dom " + url + " exited " + std::to_string(r.code) + ": " + tail(r.err, 2000));
    return r.out;
  }

  const std::string& console() const { return console_; }

  void screenshot(const std::string& url, const fs::path& file) {
    fs::remove(file);
    auto r = run({"--virtual-time-budget=3000", "--hide-scrollbars", "--window-size=1200,900",
                  "--screenshot=" + file.string(), url});
    if (r.code != 0 || !fs::exists(file))
      throw std::runtime_error("chromium --screenshot exited " + std::to_string(r.code) + ": " + tail(r.err, 2000));
  }

 private:
  CommandResult run(std::vector<std::string> args) {
    std::vector<std::string> argv = {exe_.string(), "--headless", "--no-sandbox", "--disable-gpu",
                                     "--no-first-run", "--user-data-dir=" + profile_.path().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_capture(argv, {}, std::chrono::seconds(120));
  }

  std::string console_;
  fs::path exe_;
  TempDir profile_{"/tmp/sk-chromium-"};
};

}  // namespace

TEST(StatusPage, HeadlessChromiumShowsTheSiteAndAReplicaGoingDown) {
  const auto chromium = on_path("chromium");
  if (!chromium)
    GTEST_SKIP() << "chromium is not installed (run.sh installs Debian's chromium): the status page is not "
                    "tested in a browser";
  Browser browser(*chromium);

  Site site({.replicas = 2});
  expect_ok(site.run({"backup"}), "backup");
  expect_ok(site.run({"refresh"}), "refresh");
  const auto before = site.json({"status"});
  const std::string backup = before["replicas"][0]["backup_id"];
  ASSERT_FALSE(backup.empty()) << before.dump();

  const int port = free_port();
  site.write_config(http_section(port) + "[health]\ninterval = \"500ms\"\n");
  BackgroundProcess daemon(site.argv({"run"}), site.dir() / "daemon.log");
  LogOnFailure dump{daemon};
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  wait_until([&] { return http_get(port, "/replica/hd1").status == 200 && http_get(port, "/replica/hd2").status == 200; },
             kLong, "both replicas healthy in the daemon's view");

  // Without JavaScript: the page as served.
  std::string dom = http_get(port, "/").body;
  EXPECT_NE(dom.find("Site CEN"), std::string::npos) << dom;
  for (const char* name : {"cm1", "hd1", "hd2"}) EXPECT_NE(dom.find(name), std::string::npos) << name;
  for (const char* name : {"hd1", "hd2"}) {
    const std::string row = replica_row(dom, name);
    EXPECT_NE(row.find("data-state=\"up\""), std::string::npos) << name << ": " << row;
    EXPECT_NE(row.find(backup), std::string::npos) << name << " serves " << backup << ": " << row;
  }
  EXPECT_NE(dom.find("data-outcome=\"ok\""), std::string::npos) << "the backup and refresh runs";
  EXPECT_EQ(dom.find("data-refreshed"), std::string::npos) << "no script ran";
  // In the browser, after its script refreshed the page.
  const std::string shown = browser.dom(url);
  EXPECT_NE(shown.find("data-refreshed=\""), std::string::npos) << "the script did not refresh the page:\n" << tail(shown);
  for (const char* name : {"hd1", "hd2"}) {
    const std::string row = replica_row(shown, name);
    EXPECT_NE(row.find("data-state=\"up\""), std::string::npos) << name << ": " << row;
    EXPECT_NE(row.find(backup), std::string::npos) << name << " serves " << backup << ": " << row;
  }
  EXPECT_NE(shown.find("<td class=\"name\">cm1</td>"), std::string::npos) << shown;
  // The policy lets the page's own script and style through, and the script raised no error.
  EXPECT_EQ(browser.console().find("Content Security Policy"), std::string::npos) << browser.console();
  EXPECT_EQ(browser.console().find("Uncaught"), std::string::npos) << browser.console();
  ASSERT_NO_THROW(browser.screenshot(url, fs::path(SK_BUILD_DIR) / "status-page.png"));

  // hd2's PostgreSQL stops: the daemon's probes notice, and the page says so.
  site.replica(1).stop();
  wait_until([&] { return http_get(port, "/replica/hd2").status == 503; }, kLong, "the daemon to see hd2 down");
  dom = http_get(port, "/").body;
  const std::string hd2 = replica_row(dom, "hd2");
  EXPECT_NE(hd2.find("class=\"replica down\""), std::string::npos) << hd2;
  EXPECT_NE(hd2.find("data-state=\"down\""), std::string::npos) << hd2;
  EXPECT_NE(hd2.find(">DOWN<"), std::string::npos) << hd2;
  EXPECT_NE(replica_row(dom, "hd1").find("data-state=\"up\""), std::string::npos) << replica_row(dom, "hd1");
  EXPECT_NE(dom.find("Needs attention: replica hd2 is down."), std::string::npos);

  // With JavaScript: the script fetched the page again and swapped it in; the SVGs are there.
  dom = browser.dom(url);
  EXPECT_NE(dom.find("data-refreshed=\""), std::string::npos) << "the script did not refresh the page:\n" << tail(dom);
  EXPECT_NE(dom.find("<svg id=\"lag-plot\""), std::string::npos);
  EXPECT_NE(dom.find("<svg id=\"freshness-timeline\""), std::string::npos);
  EXPECT_NE(dom.find("<rect class=\"seg seg0\" data-backup=\"" + backup + "\""), std::string::npos) << dom;
  EXPECT_NE(dom.find("<g class=\"replica-row down\" data-server=\"hd2\""), std::string::npos);
  EXPECT_NE(replica_row(dom, "hd2").find("data-state=\"down\""), std::string::npos);
  ASSERT_NO_THROW(browser.screenshot(url, fs::path(SK_BUILD_DIR) / "status-page-down.png"));

  stop_daemon(daemon);
}
