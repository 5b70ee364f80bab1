// run: the daemon. It reports through its log (stderr); with --json its document holds only ok and
// exit_code (or the error that stopped it from starting).
#include "app/cmd/commands.hpp"
#include "app/daemon/daemon.hpp"

namespace sk::cli {

int cmd_run(const GlobalOptions& g, const CommandArgs&, Output&) { return daemon::run_daemon(g.config_file); }

}  // namespace sk::cli
