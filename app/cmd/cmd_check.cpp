// check: reach every server and print the readiness table; exit 1 when not ready.
#include <iostream>

#include "app/cmd/commands.hpp"
#include "app/cmd/render.hpp"
#include "app/daemon/report.hpp"

namespace sk::cli {

int cmd_check(const GlobalOptions& g, const CommandArgs&) {
  Runtime rt(g);
  auto c = daemon::check_report(rt.ctx());
  if (g.json) print_json(c);
  else std::cout << render_check(c);
  return c["ok"].get<bool>() ? kOk : kFailed;
}

}  // namespace sk::cli
