// failover [--plan] [--yes]: promote the standby because the active server failed.
#include "app/cmd/commands.hpp"
#include "standby/failover.hpp"
#include "standby/site_state.hpp"

namespace sk::cli {

int runbook_command(const GlobalOptions& g, const CommandArgs& a, Output& out, const std::string& kind) {
  out.set("kind", kind);
  Runtime rt(g);
  if (a.plan || !a.yes) {
    auto p = standby::plan(rt.ctx(), kind);
    out.say(standby::render_plan(p));
    out.document(p);
    if (a.plan) return kOk;
    throw SafetyError(kind + " not executed",
                      "read the plan, then run 'sitekeeper " + kind + " --yes'");
  }
  standby::RunbookOptions o;
  o.yes = true;
  o.old_active_is_down = a.old_active_is_down;
  rt.run_job(kind, standby::SiteState(rt.state()).standby(rt.cfg()), [&] {
    auto s = kind == "failover" ? standby::run_failover(rt.ctx(), o) : standby::run_switchover(rt.ctx(), o);
    out.say(s);
    out.set("summary", s);
    return s;
  });
  return kOk;
}

int cmd_failover(const GlobalOptions& g, const CommandArgs& a, Output& out) {
  return runbook_command(g, a, out, "failover");
}

}  // namespace sk::cli
