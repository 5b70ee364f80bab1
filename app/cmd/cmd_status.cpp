// status: site, active, standby, replicas and last runs, from the state store.
#include <iostream>

#include "app/cmd/commands.hpp"
#include "app/cmd/render.hpp"
#include "app/daemon/report.hpp"

namespace sk::cli {

int cmd_status(const GlobalOptions& g, const CommandArgs&) {
  Runtime rt(g);
  auto s = daemon::status_report(rt.ctx());
  if (g.json) print_json(s);
  else std::cout << render_status(s);
  return kOk;
}

}  // namespace sk::cli
