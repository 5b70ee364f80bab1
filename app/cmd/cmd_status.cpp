// status: site, active, standby, replicas and last runs, from the state store.
#include "app/cmd/commands.hpp"
#include "app/cmd/render.hpp"
#include "app/daemon/report.hpp"

namespace sk::cli {

int cmd_status(const GlobalOptions& g, const CommandArgs&, Output& out) {
  Runtime rt(g);
  auto s = daemon::status_report(rt.ctx());
  out.say(render_status(s));
  out.document(s);
  return kOk;
}

}  // namespace sk::cli
