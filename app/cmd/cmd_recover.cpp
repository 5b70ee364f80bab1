// recover --server NAME [--backup ID] [--until TIME] | --from-replica NAME, [--files-to DIR] [--plan]
// [--yes]: rebuild the site on a new server from the archive (physically, rolled forward with the
// archived WAL, when it can), or make a replica's copy the active.
#include "app/cmd/commands.hpp"
#include "standby/recover.hpp"

namespace sk::cli {

int cmd_recover(const GlobalOptions& g, const CommandArgs& a, Output& out) {
  out.set("kind", "recover");
  Runtime rt(g);
  if (!a.server.empty() && !a.replica.empty())
    throw ConfigError("--server and --from-replica exclude each other",
                      "--server rebuilds the site from the archive on a new server; --from-replica turns a replica into the active");
  standby::RecoverOptions r{a.replica.empty() ? a.server : a.replica, a.id, {}, !a.replica.empty(), a.until};
  if (!a.files_to.empty()) r.files_to = fs::absolute(a.files_to);
  if (a.plan || !a.yes) {
    standby::RunbookOptions po;
    po.old_active_is_down = a.old_active_is_down;
    auto p = standby::recover_plan(rt.ctx(), po, r);
    out.say(standby::render_plan(p) + "\nbackup " + p["backup"].get<std::string>() + " was taken at " +
            p["backup_at"].get<std::string>() + (p["path"] == "physical" ? " (physical, rolled forward)" : "") + ": " +
            p["data_loss_window"].get<std::string>() +
            (p.contains("aside") ? "\nthe data directory of " + r.server + " is moved aside to " + p["aside"].get<std::string>() +
                                       ", never deleted"
                                 : ""));
    out.document(p);
    if (a.plan) return kOk;
    throw SafetyError("recover not executed", "read the plan, then run the same command with --yes");
  }
  standby::RunbookOptions o;
  o.yes = true;
  o.old_active_is_down = a.old_active_is_down;
  rt.run_job("recover", r.server, [&] {
    auto s = standby::recover_site(rt.ctx(), o, r);
    out.say(s);
    out.set("summary", s);
    return s;
  });
  return kOk;
}

}  // namespace sk::cli
