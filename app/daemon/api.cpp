#include "app/daemon/api.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "app/daemon/page.hpp"
#include "core/units.hpp"

namespace sk::daemon {

namespace {

HttpResponse json(int status, const nlohmann::json& j) { return {status, "application/json", j.dump()}; }

nlohmann::json server_json(const ServerHealth& h, const Config& cfg) {
  nlohmann::json j = {{"server", h.name}, {"role", h.role},       {"up", h.up},
                      {"stale", h.stale}, {"reachable", h.reachable}, {"checked_at", h.checked_at}};
  if (cfg.servers.count(h.name)) {
    j["host"] = cfg.server(h.name).host;
    j["port"] = cfg.server(h.name).port;
  }
  if (!h.reason.empty()) j["reason"] = h.reason;
  if (h.role == "replica") {
    j["backup_id"] = h.backup_id;
    j["backup_time"] = h.backup_time;
    j["age_seconds"] = h.age_seconds;
  }
  if (h.role == "standby") {
    j["state"] = h.state;
    j["lag_bytes"] = h.lag_bytes;
  }
  return j;
}

// A server check's answer: the status code for an HTTP check, and the reason phrase, "up" or
// "down #<why>", for an HAProxy agent check pointed at the same URL (agent-send "GET /replica/hd1
// HTTP/1.0\r\n\r\n"). An agent check acts on the word up or down in the first line of the reply, and
// keeps its last verdict while the daemon does not answer: a daemon restart takes no server out.
HttpResponse check_reply(int status, const nlohmann::json& j) {
  HttpResponse r = json(status, j);
  r.reason = status == 200 ? "up" : "down #" + j.value("error", std::string("not up"));
  return r;
}

// ?max_age=2h, else the config's; nullopt when the query's value is not a duration.
std::optional<std::chrono::milliseconds> max_age_of(const std::string& query, std::chrono::milliseconds fallback) {
  auto p = query.find("max_age=");
  if (p == std::string::npos || (p > 0 && query[p - 1] != '&')) return fallback;
  const auto end = query.find('&', p);
  return parse_duration(query.substr(p + 8, end == std::string::npos ? std::string::npos : end - p - 8));
}

// A replica fit to serve: up, and its copy younger than max_age. Returns the reason it is not.
std::string unfit(const ServerHealth& h, std::chrono::milliseconds max_age) {
  if (!h.known) return "not probed yet";
  if (!h.up) return h.reason.empty() ? "down" : h.reason;
  if (h.backup_id.empty()) return h.name + " was never refreshed";
  // Help-desk queries that join across databases would read two different nights.
  if (!h.mixed.empty()) return h.mixed;
  if (h.age_seconds < 0 || h.age_seconds * 1000 > max_age.count())
    return h.name + " serves a copy older than " + format_duration(max_age);
  return "";
}

HttpResponse route(const ApiSources& src, const std::string& path, const std::string& query) {
  if (path == "/health") return json(200, {{"status", "alive"}, {"site", src.loaded()->site.code}});
  if (path == "/" && src.page) return {200, "text/html; charset=utf-8", src.page(), page_headers()};
  if (path == "/page.js") return {200, "text/javascript; charset=utf-8", page_script(), page_headers()};
  if (path == "/page.css") return {200, "text/css; charset=utf-8", page_style(), page_headers()};
  if ((path == "/history" || path == "/lag" || path == "/freshness") && src.data) return json(200, src.data(path.substr(1)));
  auto cfg = src.effective();
  if (path == "/status") return json(200, src.status());
  if (path == "/metrics") return {200, "text/plain; version=0.0.4", src.metrics()};

  const auto snap = src.health();
  auto max_age = max_age_of(query, snap.max_age.count() > 0 ? snap.max_age : cfg->archive.max_age);
  if (!max_age) return json(400, {{"error", "max_age: expected a duration such as \"2h\""}});
  auto known = [&](const std::string& name) { return snap.servers.find(name); };

  if (path == "/active" || path.rfind("/active/", 0) == 0) {
    const std::string name = path == "/active" ? snap.active : path.substr(8);
    auto it = known(name);
    if (it == snap.servers.end()) {
      if (!cfg->servers.count(name)) return check_reply(404, {{"error", "no server " + name}});
      return check_reply(503, {{"server", name},
                               {"up", false},
                               {"error", name + " is not the active server; " + snap.active + " is"}});
    }
    auto j = server_json(it->second, *cfg);
    if (src.decision) j["decision"] = src.decision();
    if (it->second.role != "active") {
      j["error"] = name + " is not the active server; " + snap.active + " is";
      return check_reply(503, j);
    }
    if (!it->second.up) j["error"] = it->second.known ? it->second.reason : "not probed yet";
    return check_reply(it->second.up ? 200 : 503, j);
  }
  if (path.rfind("/standby/", 0) == 0) {
    const std::string name = path.substr(9);
    auto it = known(name);
    if (it == snap.servers.end() || it->second.role != "standby") {
      if (!cfg->servers.count(name)) return check_reply(404, {{"error", "no server " + name}});
      return check_reply(503, {{"server", name},
                               {"up", false},
                               {"error", name + " is not the standby" +
                                             (snap.standby.empty() ? "" : "; " + snap.standby + " is")}});
    }
    auto j = server_json(it->second, *cfg);
    if (!it->second.up) j["error"] = it->second.known ? it->second.reason : "not probed yet";
    return check_reply(it->second.up ? 200 : 503, j);
  }
  if (path.rfind("/replica/", 0) == 0) {
    const std::string name = path.substr(9);
    auto it = known(name);
    if (it == snap.servers.end() || it->second.role != "replica") {
      if (!cfg->servers.count(name)) return check_reply(404, {{"error", "no server " + name}});
      return check_reply(503, {{"server", name}, {"up", false}, {"error", name + " is not a replica"}});
    }
    auto j = server_json(it->second, *cfg);
    j["database"] = cfg->site.database;
    j["databases"] = cfg->site.databases;
    const std::string why = unfit(it->second, *max_age);
    j["fresh"] = why.empty();
    if (!why.empty()) j["error"] = why;
    return check_reply(why.empty() ? 200 : 503, j);
  }
  if (path == "/replica" || path == "/replicas") {
    nlohmann::json list = nlohmann::json::array(), best;
    for (const auto& name : snap.replicas) {
      auto it = known(name);
      if (it == snap.servers.end()) continue;
      auto j = server_json(it->second, *cfg);
      j["name"] = name;
      j["database"] = cfg->site.database;
      j["databases"] = cfg->site.databases;
      const std::string why = unfit(it->second, *max_age);
      j["healthy"] = it->second.up;
      j["fresh"] = why.empty();
      if (!why.empty()) j["error"] = why;
      if (why.empty() && (best.is_null() || it->second.age_seconds < best["age_seconds"].get<long long>())) best = j;
      list.push_back(j);
    }
    if (path == "/replicas") return json(200, list);
    if (best.is_null())
      return json(503, {{"error", "no healthy replica with a copy younger than " + format_duration(*max_age)},
                        {"replicas", list}});
    return json(200, best);
  }
  return json(404, {{"error", "not found"}});
}

}  // namespace

bool open_to_all(const std::string& path) {
  if (path == "/health" || path == "/active" || path == "/replica") return true;
  for (const char* prefix : {"/replica/", "/active/", "/standby/"})
    if (path.rfind(prefix, 0) == 0) return true;
  return false;
}

HttpResponse handle(const ApiSources& src, const HttpRequest& req) {
  const std::string& target = req.target;
  const std::string path = target.substr(0, target.find('?'));
  const std::string query = target.find('?') == std::string::npos ? "" : target.substr(target.find('?') + 1);
  // The loaded config, not the effective one: cheaper under a flood, and a reload's token counts now.
  auto loaded = src.loaded();
  if (!loaded->http.token.empty() && !open_to_all(path) && !credentials_match(req, loaded->http.token)) return unauthorized();
  const bool bodyless = req.method == "HEAD" || req.method == "OPTIONS";
  if (req.method != "GET" && !bodyless) {
    HttpResponse r = json(405, {{"error", "only GET, HEAD and OPTIONS"}});
    r.headers.push_back({"Allow", "GET, HEAD, OPTIONS"});
    return r;
  }
  HttpResponse r = route(src, path, query);
  if (src.manager && (path == "/health" || open_to_all(path) || path == "/replicas" || path == "/status") &&
      r.content_type == "application/json") {
    const auto m = src.manager();
    auto body = nlohmann::json::parse(r.body, nullptr, false);
    if (body.is_object()) {
      body["manager"] = m;
      r.body = body.dump();
    }
    if (m.value("stale", false)) {
      const auto& age = m["stale_seconds"];
      r.headers.push_back({"X-Sitekeeper-Stale", age.is_number() ? fmt::format("{:.1f}", age.get<double>()) : "unknown"});
    }
    r.headers.push_back({"X-Sitekeeper-Leader", m.value("leader", "")});
  }
  // Load balancers check with HEAD or OPTIONS (Patroni's templates use OPTIONS): the status is the
  // answer, and no body is sent.
  if (bodyless) r.body.clear();
  if (req.method == "OPTIONS") r.headers.push_back({"Allow", "GET, HEAD, OPTIONS"});
  return r;
}

}  // namespace sk::daemon
