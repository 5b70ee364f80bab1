// resume: end the maintenance window.
#include "app/cmd/commands.hpp"
#include "standby/site_state.hpp"

namespace sk::cli {

int cmd_resume(const GlobalOptions& g, const CommandArgs&, Output& out) {
  Runtime rt(g);
  standby::SiteState(rt.state()).set_paused(false, "");
  const std::string s =
      "maintenance window ended: automatic promotion is armed again (mode " + rt.cfg().failover.mode + ")";
  out.say(s);
  out.set("paused", false);
  out.set("mode", rt.cfg().failover.mode);
  out.set("summary", s);
  return kOk;
}

}  // namespace sk::cli
