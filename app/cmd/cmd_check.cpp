// check: reach every server and print the readiness table; exit 1 when not ready.
#include "app/cmd/commands.hpp"
#include "app/cmd/render.hpp"
#include "app/daemon/report.hpp"

namespace sk::cli {

int cmd_check(const GlobalOptions& g, const CommandArgs&, Output& out) {
  Runtime rt(g);
  auto c = daemon::check_report(rt.ctx());
  out.say(render_check(c));
  out.document(c);
  return c["ok"].get<bool>() ? kOk : kFailed;
}

}  // namespace sk::cli
