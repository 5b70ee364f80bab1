// check: reach every server and print the readiness table; exit 1 when not ready.
#include "app/cmd/commands.hpp"
#include "app/cmd/render.hpp"
#include "app/daemon/report.hpp"

namespace sk::cli {

int cmd_check(const GlobalOptions& g, const CommandArgs&, Output& out) {
  Runtime rt(g);
  auto c = daemon::check_report(rt.ctx());
  if (!rt.manager().empty()) {
    // [dcs]: without etcd no manager can lead, so nothing would be backed up or failed over.
    auto m = rt.manager();
    if (m.contains("error")) {
      m["ok"] = false;
      c["ok"] = false;
    } else {
      m["ok"] = true;
      if (m.value("leader", "").empty()) c["warnings"].push_back("no manager leads site " + rt.cfg().site.code + " now");
    }
    c["manager"] = m;
  }
  out.say(render_check(c));
  out.document(c);
  return c["ok"].get<bool>() ? kOk : kFailed;
}

}  // namespace sk::cli
