// refresh [--replica N]: the newest verified backup onto the replicas.
#include <iostream>

#include "app/cmd/commands.hpp"
#include "replicator/refresh.hpp"

namespace sk::cli {

int cmd_refresh(const GlobalOptions& g, const CommandArgs& a) {
  Runtime rt(g);
  rt.run_job("refresh", a.replica.empty() ? "all" : a.replica, [&] {
    auto r = replicator::run_refresh(rt.ctx(), a.replica, a.force);
    for (const auto& o : r.replicas)
      std::cout << o.replica << ": " << o.outcome << " (" << o.message << ")\n";
    if (!r.ok) throw Error(r.summary, "the failed replicas still serve their previous copy");
    return r.summary;
  });
  return kOk;
}

}  // namespace sk::cli
