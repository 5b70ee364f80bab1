// recover --server NAME [--backup ID] [--plan] [--yes]: rebuild the site on a new server from the archive.
#include "app/cmd/commands.hpp"
#include "standby/recover.hpp"

namespace sk::cli {

int cmd_recover(const GlobalOptions& g, const CommandArgs& a, Output& out) {
  out.set("kind", "recover");
  Runtime rt(g);
  standby::RecoverOptions r{a.server, a.id, {}};
  if (!a.files_to.empty()) r.files_to = fs::absolute(a.files_to);
  if (a.plan || !a.yes) {
    auto p = standby::recover_plan(rt.ctx(), r);
    out.say(standby::render_plan(p) + "\nbackup " + p["backup"].get<std::string>() + " was taken at " +
            p["backup_at"].get<std::string>() + ": " + p["data_loss_window"].get<std::string>());
    out.document(p);
    if (a.plan) return kOk;
    throw SafetyError("recover not executed", "read the plan, then run the same command with --yes");
  }
  standby::RunbookOptions o;
  o.yes = true;
  o.old_active_is_down = a.old_active_is_down;
  rt.run_job("recover", a.server, [&] {
    auto s = standby::recover_site(rt.ctx(), o, r);
    out.say(s);
    out.set("summary", s);
    return s;
  });
  return kOk;
}

}  // namespace sk::cli
