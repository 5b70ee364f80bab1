#pragma once
// One function per command, each in its own cmd_<name>.cpp. They report through `out` (text, or the
// facts of the --json document), return the process exit code and throw sk::Error for failures
// (cli.cpp prints them with their HINT and exit code, and with --json as the command's document).
#include <string>

#include "app/cmd/output.hpp"
#include "app/cmd/runtime.hpp"
#include "core/error.hpp"  // the exit codes every command returns

namespace sk::cli {

struct CommandArgs {
  bool deep = false;
  bool plan = false;
  bool yes = false;
  bool force = false;
  bool old_active_is_down = false;  // failover: the operator powered the old active off
  int limit = 20;
  std::string id;
  std::string replica;
  std::string server;
  std::string action;  // standby ACTION
  std::string file;    // man FILE
  std::string to;      // restore-secrets, restore-files --to
  std::string files_to;  // recover --files-to
  std::string until;     // recover --until
};

int cmd_check(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_capture(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_backup(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_verify(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_copy(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_refresh(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_status(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_history(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_schedule(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_run(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_standby(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_failover(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_switchover(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_rejoin(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_recover(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_runbook(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_pause(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_resume(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_rotate_key(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_check_config(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_man(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_restore_secrets(const GlobalOptions& g, const CommandArgs& a, Output& out);
int cmd_restore_files(const GlobalOptions& g, const CommandArgs& a, Output& out);

// failover and switchover share one shape: print the plan, or run the journaled runbook with --yes.
// `kind` is "failover" or "switchover".
int runbook_command(const GlobalOptions& g, const CommandArgs& a, Output& out, const std::string& kind);

}  // namespace sk::cli
