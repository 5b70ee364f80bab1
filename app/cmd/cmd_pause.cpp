// pause: declare a maintenance window (no automatic promotion).
#include "app/cmd/commands.hpp"
#include "standby/site_state.hpp"

namespace sk::cli {

int cmd_pause(const GlobalOptions& g, const CommandArgs&, Output& out) {
  Runtime rt(g);
  standby::SiteState(rt.state()).set_paused(true, "declared by an operator");
  const std::string s = "maintenance window declared: no automatic promotion until 'sitekeeper resume'";
  out.say(s);
  out.set("paused", true);
  out.set("summary", s);
  return kOk;
}

}  // namespace sk::cli
