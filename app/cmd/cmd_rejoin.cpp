// rejoin [--server N]: turn the fenced old active into the standby of the new one.
#include <iostream>

#include "app/cmd/commands.hpp"
#include "standby/failover.hpp"

namespace sk::cli {

int cmd_rejoin(const GlobalOptions& g, const CommandArgs& a) {
  Runtime rt(g);
  rt.run_job("rejoin", a.server, [&] {
    auto s = standby::run_rejoin(rt.ctx(), a.server);
    std::cout << s << "\n";
    return s;
  });
  return kOk;
}

}  // namespace sk::cli
