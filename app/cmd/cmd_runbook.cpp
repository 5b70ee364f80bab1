// runbook: the recovery runbook for this configuration, as Markdown.
#include <iostream>

#include "app/cmd/commands.hpp"
#include "standby/failover.hpp"

namespace sk::cli {

int cmd_runbook(const GlobalOptions& g, const CommandArgs&) {
  Runtime rt(g);
  std::cout << standby::runbook_markdown(rt.ctx());
  return kOk;
}

}  // namespace sk::cli
