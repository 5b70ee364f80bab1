#include "app/cmd/cli.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <functional>
#include <iostream>
#include <vector>

#include <CLI/CLI.hpp>

#include "app/cmd/commands.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace sk::cli {

namespace {

using Declare = std::function<void(CLI::App&, CommandArgs&)>;
using Handler = int (*)(const GlobalOptions&, const CommandArgs&);

struct Command {
  const char* name;
  const char* summary;
  Declare options;
  Handler run;
};

void none(CLI::App&, CommandArgs&) {}

// The one table of commands and their options.
const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"check", "validate the config and reach every server; print a readiness table", none, cmd_check},
      {"capture", "capture permission script + server profile from the active server into the archive", none,
       cmd_capture},
      {"backup", "nightly backup of the active site database into the archive", none, cmd_backup},
      {"verify", "verify archive entries (default: newest); --deep adds a trial restore + integrity check",
       [](CLI::App& c, CommandArgs& a) {
         c.add_flag("--deep", a.deep, "trial restore into a throwaway database, then the integrity checker");
         c.add_option("--server", a.server, "a server in no role for the trial restore (default: [roles] trial, else a scratch server here)");
         c.add_option("ID", a.id, "backup id (default: the newest)");
       },
       cmd_verify},
      {"refresh", "restore the newest verified backup onto replicas (all by default)",
       [](CLI::App& c, CommandArgs& a) {
         c.add_option("--replica", a.replica, "only this replica");
         c.add_flag("--force", a.force, "restore even when the replica already serves that backup");
       },
       cmd_refresh},
      {"standby", "standby init: build the passive standby from the active server; standby status: role, lag, health",
       [](CLI::App& c, CommandArgs& a) {
         c.add_option("ACTION", a.action, "init or status")->required()->check(CLI::IsMember({"init", "status"}));
       },
       cmd_standby},
      {"failover", "promote the standby because the active server failed",
       [](CLI::App& c, CommandArgs& a) {
         c.add_flag("--plan", a.plan, "print the steps with their SQL and commands; change nothing");
         c.add_flag("--yes", a.yes, "execute (or resume) the runbook");
         c.add_flag("--old-active-is-down", a.old_active_is_down,
                    "the old active is powered off: the only way to promote when it does not answer and no "
                    "[failover] fence command is configured (journaled)");
       },
       cmd_failover},
      {"switchover", "planned role swap with zero data loss",
       [](CLI::App& c, CommandArgs& a) {
         c.add_flag("--plan", a.plan, "print the steps; change nothing");
         c.add_flag("--yes", a.yes, "execute (or resume) the switchover");
       },
       cmd_switchover},
      {"rejoin", "turn the old active server into the new standby",
       [](CLI::App& c, CommandArgs& a) { c.add_option("--server", a.server, "server to rejoin (default: the fenced one)"); },
       cmd_rejoin},
      {"runbook", "print the recovery runbook for this configuration (Markdown)", none, cmd_runbook},
      {"pause", "declare a maintenance window: no automatic promotion", none, cmd_pause},
      {"resume", "end the maintenance window", none, cmd_resume},
      {"rotate-key", "add a new archive key for sealing generations; older keys stay to verify older ones", none,
       cmd_rotate_key},
      {"restore-secrets", "decrypt a backup's key material into DIR, each file at its absolute path below it (0600)",
       [](CLI::App& c, CommandArgs& a) {
         c.add_option("--backup", a.id, "backup id (default: the newest complete)");
         c.add_option("--to", a.to, "a missing or empty folder")->required();
       },
       cmd_restore_secrets},
      {"status", "site, active, replicas (backup id, backup time, age), last job runs", none, cmd_status},
      {"history", "job runs with outcome and duration",
       [](CLI::App& c, CommandArgs& a) {
         c.add_option("--limit", a.limit, "how many runs")->check(CLI::Range(1, 100000));
       },
       cmd_history},
      {"schedule", "print each schedule's next five fire times", none, cmd_schedule},
      {"run", "daemon: scheduler + health monitor + HTTP API; SIGTERM stops it cleanly, SIGHUP reloads", none,
       cmd_run},
  };
  return table;
}

std::string default_config() {
  if (const char* e = std::getenv("SITEKEEPER_CONFIG")) return e;
  return "/etc/sitekeeper/sitekeeper.toml";
}

int report(const Error& e) {
  std::cerr << "error: " << log::redact(e.what()) << "\n";
  if (!e.hint().empty()) std::cerr << "HINT: " << e.hint() << "\n";
  return e.exit_code();
}

}  // namespace

int main(int argc, char** argv) {
  // Dumps, permission scripts with password hashes, keys, the state store: nothing sitekeeper or the
  // tools it starts write is for other local users.
  ::umask(077);
  CLI::App app{"sitekeeper: replica and standby manager for site databases"};
  app.require_subcommand(1);
  GlobalOptions g;
  g.config_file = default_config();
  app.add_option("--config", g.config_file, "configuration file (default $SITEKEEPER_CONFIG or /etc/sitekeeper/sitekeeper.toml)");
  app.add_option("--log-level", g.log_level, "trace, debug, info, warn or error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_flag("--json", g.json, "print one JSON document on stdout");
  CommandArgs args;
  const Command* chosen = nullptr;
  for (const auto& c : commands()) {
    CLI::App* sub = app.add_subcommand(c.name, c.summary);
    c.options(*sub, args);
    sub->callback([&chosen, &c] { chosen = &c; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kUsage;
  }
  log::set_level(g.log_level);
  try {
    return chosen->run(g, args);
  } catch (const Error& e) {
    return report(e);
  } catch (const std::exception& e) {
    std::cerr << "error: " << log::redact(e.what()) << "\n";
    return kFailed;
  }
}

}  // namespace sk::cli
