// Text renderings of the status and readiness documents for a terminal.
#include "app/cmd/render.hpp"

#include <cstdio>
#include <sstream>

#include "core/clock.hpp"
#include "core/units.hpp"

namespace sk::cli {

namespace {
std::string age_text(long long s) { return s < 0 ? "-" : format_duration(std::chrono::seconds(s)); }
}  // namespace

std::string render_status(const nlohmann::json& s) {
  std::ostringstream o;
  o << "site " << s["site"].get<std::string>() << ", database " << s["database"].get<std::string>() << "\n";
  const auto& d = s.value("daemon", nlohmann::json::object());
  o << "daemon   " << (d.value("running", false) ? "running (pid " + std::to_string(d.value("pid", 0L)) + ")" : std::string("NOT RUNNING"))
    << (d.contains("last_probe_at") ? ", last probe " + d["last_probe_at"].get<std::string>() : std::string())
    << (d.value("running", false) ? "" : "; servers probed now") << "\n";
  if (s.contains("manager")) {  // [dcs]: several managers, one leads
    const auto& m = s["manager"];
    const std::string leader = m.value("leader", "");
    o << "managers " << (leader.empty() ? std::string("NO MANAGER LEADS") : leader + " leads")
      << " (this is " << m.value("name", "") << (m.value("leading", false) ? ", the leader" : ", a follower") << ")";
    if (m.contains("managers") && m["managers"].is_array() && !m["managers"].empty()) {
      std::string names;
      for (const auto& n : m["managers"]) names += (names.empty() ? "" : ", ") + n.get<std::string>();
      o << "; managers up: " << names;
    }
    if (m.contains("error")) o << "; etcd did not answer: " << m["error"].get<std::string>();
    if (m.value("stale", false) && m["stale_seconds"].is_number())
      o << "; STALE: etcd last answered " << static_cast<long long>(m["stale_seconds"].get<double>()) << " s ago";
    o << "\n";
  }
  o << "\n";
  char line[512];
  std::snprintf(line, sizeof line, "%-10s %-8s %-22s %-10s %s\n", "server", "role", "address", "reachable", "state");
  o << line;
  auto row = [&](const nlohmann::json& x, const std::string& role, const std::string& state) {
    if (x.is_null()) return;
    const std::string addr = x["host"].get<std::string>() + ":" + std::to_string(x["port"].get<int>());
    std::snprintf(line, sizeof line, "%-10s %-8s %-22s %-10s %s\n", x["name"].get<std::string>().c_str(), role.c_str(),
                  addr.c_str(), x.value("reachable", false) ? "yes" : "NO", state.c_str());
    o << line;
  };
  const auto& act = s["active"];
  row(act, "active", act.value("up", false) ? "up" : "DOWN: " + act.value("reason", std::string("?")).substr(0, 100));
  if (!s["standby"].is_null()) {
    const auto& sb = s["standby"];
    std::string state = sb.value("up", false) ? "streaming" : "NOT HEALTHY: " + sb.value("reason", std::string("?")).substr(0, 80);
    if (sb.contains("lag_bytes"))
      state += ", lag " + format_size(sb["lag_bytes"].get<std::uint64_t>()) + " / " +
               format_duration(std::chrono::milliseconds(static_cast<long long>(sb.value("lag_seconds", 0.0) * 1000))) +
               " (seen " + age_text(sb.value("sample_age_seconds", -1LL)) + " ago)";
    row(sb, "standby", state);
  }
  for (const auto& r : s["replicas"]) {
    std::string state = r.value("state", std::string("?"));
    if (state == "DOWN") state += ": " + r.value("reason", std::string("?")).substr(0, 80);
    else if (state == "MIXED") state += ": " + r.value("error", std::string("?"));
    else if (!r["backup_id"].get<std::string>().empty())
      state += ", backup " + r["backup_id"].get<std::string>() + ", age " + age_text(r["age_seconds"].get<long long>());
    row(r, "replica", state);
  }
  const auto& a = s["archive"];
  o << "\narchive  " << a["path"].get<std::string>() << "\n         newest verified backup: "
    << (a["newest_verified"].get<std::string>().empty() ? "none" : a["newest_verified"].get<std::string>() + ", age " + age_text(a["age_seconds"].get<long long>()))
    << " (max_age " << age_text(a["max_age_seconds"].get<long long>()) << ")\n";
  for (const auto& c : s.value("copies", nlohmann::json::array())) {
    const std::string id = c.value("newest_copy", std::string());
    o << "         off-site copy at " << c.value("destination", std::string()) << " (" << c.value("rate", std::string())
      << "): " << (id.empty() ? "none" : id + ", age " + age_text(c.value("age_seconds", -1LL)));
    if (c.value("last_outcome", std::string()) != "ok" && !c.value("last_outcome", std::string()).empty())
      o << "; last copy " << c["last_outcome"].get<std::string>() << ": " << c.value("last_message", std::string()).substr(0, 100);
    o << "\n";
  }
  if (s.contains("wal_stream") && s["wal_stream"].is_object()) {
    const auto& w = s["wal_stream"];
    const auto& a = w.contains("age_seconds") ? w["age_seconds"] : nlohmann::json();
    o << "         WAL stream: " << w.value("state", std::string("?"))
      << (w.value("server", std::string()).empty() ? "" : " from " + w.value("server", std::string()))
      << ", newest WAL " << (a.is_number() ? format_duration(std::chrono::milliseconds(static_cast<long long>(a.get<double>() * 1000))) + " old" : "unknown")
      << " (" << w.value("path", std::string()) << ")";
    if (w.value("state", std::string()) != "streaming") o << ": " << w.value("sentence", std::string()).substr(0, 160);
    o << "\n";
  }
  if (!s["last_runs"].empty()) {
    o << "\nlast runs\n";
    for (const auto& r : s["last_runs"]) {
      std::snprintf(line, sizeof line, "  %-10s %-9s %s  %s\n", r["job"].get<std::string>().c_str(),
                    r["outcome"].get<std::string>().c_str(), r["started_at"].get<std::string>().c_str(),
                    r["message"].get<std::string>().substr(0, 100).c_str());
      o << line;
    }
  }
  if (!s["alerts"].empty()) {
    o << "\nrecent alerts\n";
    for (const auto& al : s["alerts"])
      o << "  " << al["at"].get<std::string>() << " " << al["job"].get<std::string>() << ": "
        << al["message"].get<std::string>().substr(0, 160) << "\n";
  }
  return o.str();
}

std::string render_check(const nlohmann::json& c) {
  std::ostringstream o;
  char line[512];
  o << "config   " << c["config"]["file"].get<std::string>() << ": ok\n";
  if (c.contains("manager")) {
    const auto& m = c["manager"];
    o << "etcd     ";
    if (m.contains("error")) o << "NOT READY: " << m["error"].get<std::string>();
    else o << "ok; " << (m.value("leader", "").empty() ? std::string("no manager leads") : m["leader"].get<std::string>() + " leads")
           << ", this is " << m.value("name", "");
    o << "\n";
  }
  o << "\n";
  std::snprintf(line, sizeof line, "%-10s %-8s %-10s %-18s %s\n", "server", "role", "reachable", "version", "notes");
  o << line;
  for (const auto& s : c["servers"]) {
    std::string notes;
    if (s.contains("error")) notes = s["error"].get<std::string>();
    else if (s.value("in_recovery", false)) notes = "in recovery (standby)";
    if (s.contains("database_present") && !s["database_present"].get<bool>()) notes += "site database missing";
    if (s.contains("databases_missing") && !s["databases_missing"].empty() && !s.contains("error"))
      for (const auto& d : s["databases_missing"]) notes += (notes.empty() ? "" : "; ") + ("database " + d.get<std::string>() + " missing");
    std::snprintf(line, sizeof line, "%-10s %-8s %-10s %-18s %s\n", s["name"].get<std::string>().c_str(),
                  s["role"].get<std::string>().c_str(), s["reachable"].get<bool>() ? "yes" : "NO",
                  s.value("version", "-").c_str(), notes.c_str());
    o << line;
    for (const auto& d : s["drift"]) o << "           drift: " << d.get<std::string>() << "\n";
    if (s.contains("detection")) o << "           slow detection: " << s["detection"].get<std::string>() << "\n";
    for (const auto& d : s.value("restore_profile", nlohmann::json::array()))
      o << "           restore profile: " << d.get<std::string>() << "\n";
  }
  const auto& b = c["backup"];
  o << "\nbackup   newest verified: "
    << (b["newest_verified"].get<std::string>().empty() ? "none" : b["newest_verified"].get<std::string>())
    << ", age " << age_text(b["age_seconds"].get<long long>()) << " (max_age "
    << age_text(b["max_age_seconds"].get<long long>()) << "): " << (b["ok"].get<bool>() ? "ok" : "TOO OLD OR MISSING") << "\n";
  if (c.contains("standby")) {
    const auto& sb = c["standby"];
    o << "standby  " << sb.value("standby", "") << ": " << sb.value("state", "-") << ", lag "
      << (sb.contains("lag_bytes") && !sb["lag_bytes"].is_null() ? format_size(sb["lag_bytes"].get<std::uint64_t>()) : std::string("unknown"))
      << (sb.value("healthy", false) ? ": ok" : ": NOT HEALTHY") << "\n";
  }
  if (c.contains("wal_stream") && c["wal_stream"].is_object()) {
    const auto& w = c["wal_stream"];
    o << "wal      " << w.value("state", std::string("?"))
      << (w.contains("age_seconds") && w["age_seconds"].is_number()
              ? ", newest archived WAL " + format_duration(std::chrono::seconds(static_cast<long long>(w["age_seconds"].get<double>()))) + " old"
              : std::string())
      << (w.value("ok", true) ? ": ok" : ": NOT CURRENT: " + w.value("error", std::string())) << "\n";
  }
  for (const auto& f : c["fenced"])
    o << "fenced   " << f["server"].get<std::string>() << " (epoch " << f["epoch"] << ")"
      << (f["writable_again"].get<bool>() ? ": ACCEPTS WRITES AGAIN; never treated as active; run 'sitekeeper rejoin'" : ": stays fenced until 'sitekeeper rejoin'")
      << "\n";
  for (const auto& w : c.value("warnings", nlohmann::json::array())) o << "warning  " << w.get<std::string>() << "\n";
  o << "\nreadiness: " << (c["ok"].get<bool>() ? "ready" : "NOT READY") << "\n";
  return o.str();
}

}  // namespace sk::cli
