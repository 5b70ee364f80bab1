// failover [--plan] [--yes]: promote the standby because the active server failed.
#include <iostream>

#include "app/cmd/commands.hpp"
#include "standby/failover.hpp"
#include "standby/site_state.hpp"

namespace sk::cli {

int runbook_command(const GlobalOptions& g, const CommandArgs& a, const std::string& kind) {
  Runtime rt(g);
  if (a.plan || !a.yes) {
    auto p = standby::plan(rt.ctx(), kind);
    if (g.json) print_json(p);
    else std::cout << standby::render_plan(p);
    if (a.plan) return kOk;
    std::cerr << "error: " << kind << " not executed\nHINT: read the plan above, then run 'sitekeeper " << kind << " --yes'\n";
    return kRefused;
  }
  standby::RunbookOptions o;
  o.yes = true;
  o.old_active_is_down = a.old_active_is_down;
  rt.run_job(kind, standby::SiteState(rt.state()).standby(rt.cfg()), [&] {
    auto s = kind == "failover" ? standby::run_failover(rt.ctx(), o) : standby::run_switchover(rt.ctx(), o);
    std::cout << s << "\n";
    return s;
  });
  return kOk;
}

int cmd_failover(const GlobalOptions& g, const CommandArgs& a) { return runbook_command(g, a, "failover"); }

}  // namespace sk::cli
