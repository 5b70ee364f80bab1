// status: each server reachable or not, in its role, the replicas' freshness, the daemon, last runs.
#include "app/cmd/commands.hpp"
#include "app/cmd/render.hpp"
#include "app/daemon/report.hpp"

namespace sk::cli {

int cmd_status(const GlobalOptions& g, const CommandArgs&, Output& out) {
  Runtime rt(g);
  auto s = daemon::status_report(rt.ctx());
  if (!rt.manager().empty()) s["manager"] = rt.manager();
  out.say(render_status(s));
  out.document(s);
  // A down active or replica is a failure to report, not a detail.
  return s.value("ok", true) ? kOk : kFailed;
}

}  // namespace sk::cli
