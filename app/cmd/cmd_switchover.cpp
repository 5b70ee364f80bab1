// switchover [--plan] [--yes]: planned role swap with zero data loss.
#include "app/cmd/commands.hpp"

namespace sk::cli {

int cmd_switchover(const GlobalOptions& g, const CommandArgs& a) { return runbook_command(g, a, "switchover"); }

}  // namespace sk::cli
