// pause: declare a maintenance window (no automatic promotion).
#include <iostream>

#include "app/cmd/commands.hpp"
#include "standby/site_state.hpp"

namespace sk::cli {

int cmd_pause(const GlobalOptions& g, const CommandArgs&) {
  Runtime rt(g);
  standby::SiteState(rt.state()).set_paused(true, "declared by an operator");
  std::cout << "maintenance window declared: no automatic promotion until 'sitekeeper resume'\n";
  return kOk;
}

}  // namespace sk::cli
