// capture: the permission script and server profile of the active server into the archive.
#include <iostream>

#include "app/cmd/commands.hpp"
#include "replicator/backup.hpp"

namespace sk::cli {

int cmd_capture(const GlobalOptions& g, const CommandArgs&) {
  Runtime rt(g);
  rt.run_job("capture", rt.cfg().roles.active, [&] {
    auto r = replicator::run_capture(rt.ctx());
    std::cout << r.summary << "\n";
    return r.summary;
  });
  return kOk;
}

}  // namespace sk::cli
