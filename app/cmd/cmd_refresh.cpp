// refresh [--replica N]: the newest verified backup onto the replicas.
#include "app/cmd/commands.hpp"
#include "replicator/refresh.hpp"

namespace sk::cli {

int cmd_refresh(const GlobalOptions& g, const CommandArgs& a, Output& out) {
  Runtime rt(g);
  rt.run_job("refresh", a.replica.empty() ? "all" : a.replica, [&] {
    auto r = replicator::run_refresh(rt.ctx(), a.replica, a.force);
    nlohmann::json replicas = nlohmann::json::array();
    for (const auto& o : r.replicas) {
      out.say(o.replica + ": " + o.outcome + " (" + o.message + ")");
      replicas.push_back({{"replica", o.replica}, {"outcome", o.outcome}, {"message", o.message}, {"seconds", o.seconds}});
    }
    out.set("id", r.id);
    out.set("replicas", replicas);
    out.set("summary", r.summary);
    if (!r.ok) throw Error(r.summary, "the failed replicas still serve their previous copy");
    return r.summary;
  });
  return kOk;
}

}  // namespace sk::cli
