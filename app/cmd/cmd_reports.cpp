// status and check.
#include <iostream>

#include "app/cmd/commands.hpp"
#include "app/cmd/report.hpp"
#include "app/core/error.hpp"

namespace sk::cli {

int cmd_status(const GlobalOptions& g, const CommandArgs&) {
  Runtime rt(g);
  auto s = status_report(rt.ctx());
  if (g.json) print_json(s);
  else std::cout << render_status(s);
  return kOk;
}

int cmd_check(const GlobalOptions& g, const CommandArgs&) {
  Runtime rt(g);
  auto c = check_report(rt.ctx());
  if (g.json) print_json(c);
  else std::cout << render_check(c);
  return c["ok"].get<bool>() ? kOk : kFailed;
}

}  // namespace sk::cli
