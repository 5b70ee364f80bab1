#include "standby/site_state.hpp"

#include "replicator/refresh.hpp"

namespace sk::standby {

namespace {
nlohmann::json get_json(StateStore& s, const std::string& key, nlohmann::json fallback) {
  auto v = s.get(key);
  if (!v) return fallback;
  try {
    return nlohmann::json::parse(*v);
  } catch (...) {
    return fallback;
  }
}
}  // namespace

long SiteState::epoch() {
  auto v = state_.get("epoch");
  return v ? std::stol(*v) : 0;
}
void SiteState::set_epoch(long e) { state_.put("epoch", std::to_string(e)); }

std::string SiteState::active(const Config& cfg) { return state_.get("roles.active").value_or(cfg.roles.active); }
std::string SiteState::standby(const Config& cfg) { return state_.get("roles.standby").value_or(cfg.roles.standby); }
void SiteState::set_roles(const std::string& active, const std::string& standby) {
  state_.put("roles.active", active);
  state_.put("roles.standby", standby);
}

std::map<std::string, long> SiteState::fenced() {
  std::map<std::string, long> out;
  const auto j = get_json(state_, "fenced", nlohmann::json::object());  // keep it alive while iterating
  for (auto& [k, v] : j.items()) out[k] = v.get<long>();
  return out;
}
void SiteState::set_fenced(const std::string& server, long epoch) {
  auto j = get_json(state_, "fenced", nlohmann::json::object());
  j[server] = epoch;
  state_.put("fenced", j.dump());
}
void SiteState::clear_fenced(const std::string& server) {
  auto j = get_json(state_, "fenced", nlohmann::json::object());
  j.erase(server);
  state_.put("fenced", j.dump());
}

bool SiteState::paused() { return state_.get("paused").value_or("") == "1"; }
void SiteState::set_paused(bool p, const std::string& reason) {
  state_.put("paused", p ? "1" : "0");
  state_.put("paused.reason", reason);
}

namespace {
std::string marks_key(const std::string& further) { return further.empty() ? "serial_marks" : "serial_marks/" + further; }
}  // namespace

std::map<std::string, std::int64_t> SiteState::serial_marks(const std::string& further) {
  std::map<std::string, std::int64_t> out;
  const auto j = get_json(state_, marks_key(further), nlohmann::json::object());
  for (auto& [k, v] : j.items()) out[k] = v.get<std::int64_t>();
  return out;
}
void SiteState::merge_serial_marks(const std::map<std::string, std::int64_t>& observed, const std::string& further) {
  auto j = get_json(state_, marks_key(further), nlohmann::json::object());
  for (const auto& [k, v] : observed)
    if (!j.contains(k) || j[k].get<std::int64_t>() < v) j[k] = v;
  state_.put(marks_key(further), j.dump());
}
std::string SiteState::marks_owner(const std::string& site_db) {
  if (auto owner = state_.get("serial_marks.owner")) return *owner;
  state_.put("serial_marks.owner", site_db);
  return site_db;
}
std::string SiteState::last_active_lsn() { return state_.get("active.last_lsn").value_or(""); }
void SiteState::set_last_active_lsn(const std::string& lsn) { state_.put("active.last_lsn", lsn); }

SiteState::Sighting SiteState::last_active_sighting() {
  const auto j = get_json(state_, "active.sighting", nlohmann::json::object());
  return {j.value("server", ""), j.value("seen_at", ""), j.value("changed_at", "")};
}
void SiteState::note_active_seen(const std::string& server, const std::string& at, const std::string& lsn) {
  auto j = get_json(state_, "active.sighting", nlohmann::json::object());
  // A write moves the position; the first sighting of a server counts as activity too.
  if (j.value("server", "") != server || last_active_lsn() != lsn) j["changed_at"] = at;
  j["server"] = server;
  j["seen_at"] = at;
  state_.put("active.sighting", j.dump());
  set_last_active_lsn(lsn);
}

nlohmann::json SiteState::standby_sample() { return get_json(state_, "standby.sample", nullptr); }
void SiteState::set_standby_sample(const nlohmann::json& sample) { state_.put("standby.sample", sample.dump()); }

std::optional<nlohmann::json> SiteState::open_journal() {
  auto j = get_json(state_, "journal.open", nullptr);
  if (j.is_null()) return std::nullopt;
  return j;
}
void SiteState::put_journal(const nlohmann::json& j) { state_.put("journal.open", j.dump()); }
bool SiteState::create_journal(const nlohmann::json& j) { return state_.put_if("journal.open", "null", j.dump()); }
void SiteState::close_journal(const nlohmann::json& j) {
  state_.put("journal.last", j.dump());
  state_.put("journal.open", "null");
}
std::optional<nlohmann::json> SiteState::last_journal() {
  auto j = get_json(state_, "journal.last", nullptr);
  if (j.is_null()) return std::nullopt;
  return j;
}


Config effective_config(const Config& cfg, StateStore& state) {
  SiteState s(state);
  Config out = cfg;
  out.roles.active = s.active(cfg);
  out.roles.standby = s.standby(cfg);
  if (!out.servers.count(out.roles.active)) out.roles.active = cfg.roles.active;  // renamed in the config
  if (!out.roles.standby.empty() && !out.servers.count(out.roles.standby)) out.roles.standby = cfg.roles.standby;
  // A replica made the active (recover --from-replica) serves writes now: refresh must never restore
  // over it, and the help-desk checks no longer count it.
  std::erase(out.roles.replicas, out.roles.active);
  std::erase_if(out.roles.replicas, [&](const std::string& r) { return replicator::replica_withdrawn(state, r); });
  if (!out.roles.standby.empty()) std::erase(out.roles.replicas, out.roles.standby);
  return out;
}

}  // namespace sk::standby
