// resume: end the maintenance window.
#include <iostream>

#include "app/cmd/commands.hpp"
#include "standby/site_state.hpp"

namespace sk::cli {

int cmd_resume(const GlobalOptions& g, const CommandArgs&) {
  Runtime rt(g);
  standby::SiteState(rt.state()).set_paused(false, "");
  std::cout << "maintenance window ended: automatic promotion is armed again (mode " << rt.cfg().failover.mode << ")\n";
  return kOk;
}

}  // namespace sk::cli
