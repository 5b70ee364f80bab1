// switchover [--plan] [--yes]: planned role swap with zero data loss.
#include "app/cmd/commands.hpp"

namespace sk::cli {

int cmd_switchover(const GlobalOptions& g, const CommandArgs& a, Output& out) {
  return runbook_command(g, a, out, "switchover");
}

}  // namespace sk::cli
