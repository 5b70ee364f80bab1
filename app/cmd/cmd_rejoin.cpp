// rejoin [--server N]: turn the fenced old active into the standby of the new one.
#include "app/cmd/commands.hpp"
#include "standby/failover.hpp"

namespace sk::cli {

int cmd_rejoin(const GlobalOptions& g, const CommandArgs& a, Output& out) {
  Runtime rt(g);
  rt.run_job("rejoin", a.server, [&] {
    auto s = standby::run_rejoin(rt.ctx(), a.server);
    out.say(s);
    out.set("summary", s);
    return s;
  });
  return kOk;
}

}  // namespace sk::cli
