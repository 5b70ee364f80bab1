// check-config: the config file as `run` and a SIGHUP reload would load it, without reaching any
// server or opening the state store. Exit 0 when fine, 2 with every FILE:LINE:COLUMN problem.
// ExecReload runs it before the SIGHUP, so `systemctl reload` fails on a file the daemon would refuse.
#include <chrono>
#include <sstream>

#include "app/cmd/commands.hpp"
#include "app/daemon/config_check.hpp"
#include "core/fsutil.hpp"
#include "core/text.hpp"

namespace sk::cli {

int cmd_check_config(const GlobalOptions& g, const CommandArgs&, Output& out) {
  out.set("config", g.config_file);
  Config cfg;
  try {
    cfg = daemon::load_checked_config(g.config_file);
  } catch (const ConfigError& e) {
    std::vector<std::string> problems;
    std::istringstream lines(e.what());
    for (std::string l; std::getline(lines, l);) problems.push_back(l);
    out.set("problems", problems);
    throw;
  }
  const std::string s = show_path(cfg.file) + ": ok (site " + cfg.site.code + ", " +
                        std::to_string(cfg.servers.size()) + " server(s), " + std::to_string(cfg.schedules.size()) +
                        " schedule(s))";
  out.say(s);
  out.set("config", cfg.file.string());
  out.set("site", cfg.site.code);
  out.set("servers", cfg.servers.size());
  out.set("schedules", cfg.schedules.size());
  out.set("summary", s);
  if (cfg.dcs.enabled()) {
    // What this manager will claim in etcd, so two managers given one name or two prefixes show here.
    // The etcd password is never shown, only the user it belongs to.
    const auto ttl = std::chrono::duration_cast<std::chrono::seconds>(cfg.dcs.ttl).count();
    std::string auth = cfg.dcs.user.empty() ? "" : ", user " + cfg.dcs.user;
    if (!cfg.dcs.cert_file.empty()) auth += ", client certificate";
    out.say("dcs: manager " + cfg.dcs.name + ", prefix " + cfg.dcs.prefix + ", ttl " + std::to_string(ttl) + "s" + auth +
            ", etcd " + join_list(cfg.dcs.etcd));
    out.set("dcs", {{"name", cfg.dcs.name},
                    {"prefix", cfg.dcs.prefix},
                    {"ttl_seconds", ttl},
                    {"etcd", cfg.dcs.etcd},
                    {"user", cfg.dcs.user},
                    {"client_certificate", !cfg.dcs.cert_file.empty()}});
  }
  return kOk;
}

}  // namespace sk::cli
