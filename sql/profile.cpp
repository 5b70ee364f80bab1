#include "sql/profile.hpp"

#include <map>
#include <set>

namespace sk::sql {

namespace {
std::map<std::string, std::string> as_map(const nlohmann::json& arr, const char* key, const char* value) {
  std::map<std::string, std::string> m;
  if (arr.is_array())
    for (const auto& e : arr) m[e.value(key, "")] = e.value(value, "");
  return m;
}
std::map<std::string, std::string> object_map(const nlohmann::json& obj) {
  std::map<std::string, std::string> m;
  if (obj.is_object())
    for (auto it = obj.begin(); it != obj.end(); ++it) m[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
  return m;
}
// Settings that belong to a server's role (a standby's receiver, the active's synchronous standby) or
// are sitekeeper's own marks: never drift.
const std::set<std::string> kIgnored = {"port", "listen_addresses", "primary_conninfo", "primary_slot_name",
                                        "recovery_target_timeline", "wal_receiver_timeout",
                                        "synchronous_standby_names", "sitekeeper.epoch=1",
                                        "default_transaction_read_only=on"};

void compare(const std::string& what, const std::map<std::string, std::string>& a,
             const std::map<std::string, std::string>& b, std::vector<std::string>& out) {
  for (const auto& [k, v] : a) {
    if (kIgnored.count(k)) continue;
    auto it = b.find(k);
    if (it == b.end()) out.push_back(what + " " + k + " missing (active has " + v + ")");
    else if (it->second != v) out.push_back(what + " " + k + ": " + it->second + " here, " + v + " on active");
  }
  for (const auto& [k, v] : b)
    if (!kIgnored.count(k) && !a.count(k)) out.push_back(what + " " + k + " only here (" + v + ")");
}

std::map<std::string, std::string> settings(const nlohmann::json& p) {
  std::map<std::string, std::string> m;
  if (p.contains("settings") && p["settings"].is_array())
    for (const auto& e : p["settings"]) {
      std::string setting = e.value("setting", "");
      if (kIgnored.count(setting)) continue;
      std::string key = (e.value("role", "").empty() ? "" : "role " + e.value("role", "") + " ") +
                        setting.substr(0, setting.find('='));
      m[key] = setting.substr(setting.find('=') + 1);
    }
  return m;
}
}  // namespace

// pg_hba rules compared by content, not line number: the same rules in another order or with other
// comments around them are not drift.
std::map<std::string, std::string> hba(const nlohmann::json& p) {
  std::map<std::string, std::string> m;
  if (p.contains("hba") && p["hba"].is_array())
    for (const auto& r : p["hba"]) {
      std::string rule = r.value("type", "") + " " + r.value("database", "") + " " + r.value("user", "") + " " +
                         r.value("address", "") + " " + r.value("netmask", "") + " " + r.value("method", "") + " " +
                         r.value("options", "");
      while (rule.find("  ") != std::string::npos) rule.replace(rule.find("  "), 2, " ");
      m["'" + rule + "'"] = "present";
    }
  return m;
}

std::vector<std::string> profile_drift(const nlohmann::json& active, const nlohmann::json& other) {
  std::vector<std::string> out;
  compare("extension", as_map(active.value("extensions", nlohmann::json::array()), "name", "version"),
          as_map(other.value("extensions", nlohmann::json::array()), "name", "version"), out);
  compare("ALTER SYSTEM", object_map(active.value("alter_system", nlohmann::json::object())),
          object_map(other.value("alter_system", nlohmann::json::object())), out);
  compare("setting", settings(active), settings(other), out);
  compare("pg_hba rule", hba(active), hba(other), out);
  // SQL Server / SQLite profiles carry flat "features" objects.
  compare("feature", object_map(active.value("features", nlohmann::json::object())),
          object_map(other.value("features", nlohmann::json::object())), out);
  return out;
}

}  // namespace sk::sql
