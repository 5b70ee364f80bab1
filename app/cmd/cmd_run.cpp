// run: the daemon.
#include "app/cmd/commands.hpp"
#include "app/daemon/daemon.hpp"

namespace sk::cli {

int cmd_run(const GlobalOptions& g, const CommandArgs&) { return daemon::run_daemon(g.config_file); }

}  // namespace sk::cli
