#pragma once
// The daemon's HTTP API: which path answers what. Every answer is built from what the sources hand
// over (in-memory snapshots), so a check never waits on a database or a job.
//
//   GET /health                 200: the daemon runs
//   GET /active[/NAME]          200 when the active in force is up (NAME: only when NAME is it)
//   GET /standby/NAME           200 when NAME is the standby in force and streams within max_lag
//   GET /replica[/NAME]         200 when a (that) replica is up and serves a copy younger than max_age
//                               (?max_age=2h overrides); /replica answers with the freshest one
//   GET /replicas /status /metrics
//   GET /                       the status page (HTML, app/daemon/page.hpp), with /page.js and /page.css;
//                               its data as JSON: /history /lag /freshness
// HEAD and OPTIONS answer like GET, without a body. A server unknown to the site is 404; a known one
// that is not up, or not in the asked role, is 503 with the reason in the body. The server checks
// (/active, /active/NAME, /standby/NAME, /replica/NAME) also carry the verdict in the reason phrase,
// "HTTP/1.1 200 up" or "HTTP/1.1 503 down #<why>", so that an HAProxy agent check can use the same
// URL: HAProxy keeps an agent's last verdict while the agent does not answer (deploy/haproxy.cfg).
// Thread-safety: handle() may be called from any thread; the sources must be too.
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "app/daemon/health.hpp"
#include "app/daemon/http.hpp"
#include "core/config.hpp"

namespace sk::daemon {

struct ApiSources {
  std::function<std::shared_ptr<const Config>()> loaded;     // the config as loaded (its token)
  std::function<std::shared_ptr<const Config>()> effective;  // with the roles in force
  std::function<HealthSnapshot()> health;
  std::function<std::string()> decision;                     // the HA loop's last sentence
  std::function<nlohmann::json()> status;                    // the status document
  std::function<std::string()> metrics;                      // Prometheus text
  std::function<std::string()> page;                         // the status page (HTML)
  // The status page's data: "history" (recent runs), "lag" (standby lag samples), "freshness".
  std::function<nlohmann::json(const std::string& what)> data;
  // With [dcs]: this manager and the leader, and whether what it answers from is stale
  // ({"stale": true, "stale_seconds": N}). Every JSON answer of /health and the server checks carries
  // it as "manager", and a stale one the header X-Sitekeeper-Stale: N. The status code stays the
  // verdict from the last known state: a load balancer keeps routing as it was told last.
  std::function<nlohmann::json()> manager;
};

HttpResponse handle(const ApiSources& src, const HttpRequest& req);

// Paths a load balancer or service manager may ask without the bearer token: they say whether a
// server answers, and where it is, but not the site's state or alerts.
bool open_to_all(const std::string& path);

}  // namespace sk::daemon
