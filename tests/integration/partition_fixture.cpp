#include "partition_fixture.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef SK_BINARY
#error "SK_BINARY must name the sitekeeper binary"
#endif

namespace sk::test {

namespace {

using Steady = std::chrono::steady_clock;

// A word for the scripts the fixture writes: single-quoted, so spaces and é pass and nothing expands.
std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

void write_script(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::trunc) << text;
  ::chmod(p.c_str(), 0755);
}

std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> out;
  std::string f;
  std::istringstream in(line);
  while (std::getline(in, f, '\t')) out.push_back(f);
  return out;
}

std::vector<std::string> lines_of(const fs::path& p) {
  std::vector<std::string> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

StandbySiteOptions site_options(const NetLab& lab, const fs::path& dir, const PartitionSiteOptions& o) {
  return {.mode = "automatic",
          .failures = 3,
          .probe_interval = o.probe_interval,
          .probe_timeout = o.probe_timeout,
          .max_lag = o.max_lag,
          .fence_argv = {(dir / "fence.sh").string(), "{server}"},
          .cm1_at = {lab.netns(Host::active), lab.address(Host::active)},
          .cm2_at = {lab.netns(Host::standby), lab.address(Host::standby)},
          .clients = {lab.subnet()}};
}

}  // namespace

PartitionSite::PartitionSite(PartitionSiteOptions o)
    : site_(site_options(lab_, dir_.path(), o)), http_port_(free_port()) {
  write_scripts();
  site_.write_config(http_section(http_port_) + "[alerts]\ncommand = " +
                     toml_array({(dir_ / "alert.sh").string(), "{job}", "{message}"}) + "\n");
}

PartitionSite::~PartitionSite() {
  // SIGTERM, then SIGKILL: the daemon must not act on the site while the servers go. Then the
  // members: site_ stops and removes the servers, lab_ the namespaces, dir_ the scripts.
  daemon_.reset();
}

void PartitionSite::write_scripts() const {
  // One line per alert: JOB<TAB>MESSAGE, with tabs and newlines of the message folded into spaces.
  write_script(dir_ / "alert.sh",
               "#!/bin/sh\nprintf '%s\\t%s\\n' \"$1\" \"$(printf '%s' \"$2\" | tr '\\t\\n' '  ')\" >> " +
                   sh_quote((dir_ / "alerts.log").string()) + "\n");
  // One line per call: TIME<TAB>SERVER<TAB>OTHER-IN-RECOVERY<TAB>PID, the time taken first, the state of
  // the server about to be promoted read before the kill.
  const std::string psql = std::string(kPgBinDir) + "/psql";
  auto server = [&](const char* name, const PgCluster& self, const PgCluster& other) {
    return std::string("  ") + name + ") data=" + sh_quote(self.data_dir().string()) + " other_sock=" +
           sh_quote(other.socket_dir().string()) + " other_port=" + std::to_string(other.port()) + " ;;\n";
  };
  write_script(dir_ / "fence.sh",
               "#!/bin/sh\n"
               "at=$(date +%s.%N)\n"
               "case \"$1\" in\n" +
                   server("cm1", site_.active(), site_.standby()) + server("cm2", site_.standby(), site_.active()) +
                   "  *) echo \"fence: unknown server $1\" >&2; exit 1 ;;\n"
                   "esac\n"
                   "recovery=$(PGCONNECT_TIMEOUT=5 " + sh_quote(psql) +
                   " -X -At -h \"$other_sock\" -p \"$other_port\" -U " + sh_quote(site_.active().superuser()) +
                   " -d postgres -c 'SELECT pg_is_in_recovery()' 2>&1 | head -n 1)\n"
                   "pid=$(head -n 1 \"$data/postmaster.pid\" 2>/dev/null)\n"
                   "case \"$pid\" in\n"
                   "  ''|*[!0-9]*) pid=none ;;\n"
                   "  *) kill -KILL $(ps -o pid= --ppid \"$pid\") \"$pid\" 2>/dev/null ;;\n"
                   "esac\n"
                   "printf '%s\\t%s\\t%s\\t%s\\n' \"$at\" \"$1\" \"$recovery\" \"$pid\" >> " +
                   sh_quote((dir_ / "fence.log").string()) + "\nexit 0\n");
}

void PartitionSite::start_daemon() {
  daemon_ = std::make_unique<BackgroundProcess>(site_.argv({"run"}), dir_ / "daemon.log");
  wait_until([&] { return contains(daemon_->log(), "active server answers"); }, std::chrono::seconds(120),
             "the daemon to reach the active");
}

HttpReply PartitionSite::get(const std::string& target) const { return http_get(http_port_, target); }

std::vector<AlertLine> PartitionSite::alerts() const {
  std::vector<AlertLine> out;
  for (const auto& line : lines_of(dir_ / "alerts.log")) {
    auto f = fields(line);
    out.push_back({f.size() > 0 ? f[0] : "", f.size() > 1 ? f[1] : ""});
  }
  return out;
}

std::vector<FenceCall> PartitionSite::fence_calls() const {
  std::vector<FenceCall> out;
  for (const auto& line : lines_of(dir_ / "fence.log")) {
    auto f = fields(line);
    if (f.size() < 3) continue;
    out.push_back({std::stod(f[0]), f[1], f[2]});
  }
  return out;
}

// The standby logger says more than decisions; those other lines are named here, so that a new
// decision sentence counts without a change to this list.
std::vector<std::string> PartitionSite::decisions(size_t from) const {
  static const std::regex line(R"(^\S+ (info|warning) \[standby\] (.*)$)");
  static const std::regex other(R"(^(could not |step |resuming |server \S+ fenced again$))");
  std::vector<std::string> out;
  const std::string log = daemon_ ? daemon_->log() : "";
  std::istringstream in(from < log.size() ? log.substr(from) : "");
  std::smatch m;
  for (std::string l; std::getline(in, l);)
    if (std::regex_match(l, m, line) && !std::regex_search(m[2].str(), other)) out.push_back(m[2].str());
  return out;
}

bool PartitionSite::promoted() const {
  if (daemon_ && contains(daemon_->log(), "promoting the standby")) return true;
  for (const auto& run : history(site_))
    if (run["job"] == "failover") return true;
  return !site_.in_recovery(site_.standby());
}

Watched watch(std::chrono::milliseconds at_least, std::chrono::milliseconds at_most,
              const std::function<bool()>& forbidden, const std::function<bool()>& wanted) {
  auto holds = [](const std::function<bool()>& p) {
    try {
      return p && p();
    } catch (const std::exception&) {
      return false;
    }
  };
  Watched w;
  const auto t0 = Steady::now();
  for (;;) {
    if (holds(forbidden)) w.forbidden_seen = true;
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - t0);
    if (!w.wanted_after && holds(wanted)) w.wanted_after = elapsed;
    if (elapsed >= at_most || (elapsed >= at_least && (w.wanted_after || !wanted))) return w;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the poll pace, not a wait for a state
  }
}

}  // namespace sk::test
