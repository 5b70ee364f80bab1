// capture: the permission script and server profile of the active server into the archive.
#include "app/cmd/commands.hpp"
#include "replicator/backup.hpp"

namespace sk::cli {

int cmd_capture(const GlobalOptions& g, const CommandArgs&, Output& out) {
  Runtime rt(g);
  rt.run_job("capture", rt.cfg().roles.active, [&] {
    auto r = replicator::run_capture(rt.ctx());
    out.say(r.summary);
    out.set("id", r.id);
    out.set("path", r.path.string());
    out.set("summary", r.summary);
    return r.summary;
  });
  return kOk;
}

}  // namespace sk::cli
