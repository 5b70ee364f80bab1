// runbook: the recovery runbook for this configuration, as Markdown.
#include "app/cmd/commands.hpp"
#include "standby/failover.hpp"

namespace sk::cli {

int cmd_runbook(const GlobalOptions& g, const CommandArgs&, Output& out) {
  Runtime rt(g);
  const std::string md = standby::runbook_markdown(rt.ctx());
  out.say(md);
  out.set("markdown", md);
  return kOk;
}

}  // namespace sk::cli
