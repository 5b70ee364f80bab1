// backup: a consistent snapshot of the active site database into the archive.
#include <iostream>

#include "app/cmd/commands.hpp"
#include "replicator/backup.hpp"

namespace sk::cli {

int cmd_backup(const GlobalOptions& g, const CommandArgs&) {
  Runtime rt(g);
  rt.run_job("backup", rt.cfg().roles.active, [&] {
    auto r = replicator::run_backup(rt.ctx());
    std::cout << r.id << "\n";
    if (r.hook_failed) throw Error(r.summary, "the backup itself is complete and verified");
    return r.summary;
  });
  return kOk;
}

}  // namespace sk::cli
