// capture, backup, verify and refresh: thin wrappers that run the replicator jobs through run_job.
#include <iostream>

#include "app/cmd/commands.hpp"
#include "app/core/error.hpp"
#include "replicator/backup.hpp"
#include "replicator/refresh.hpp"
#include "replicator/verify.hpp"

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

int cmd_verify(const GlobalOptions& g, const CommandArgs& a) {
  Runtime rt(g);
  rt.run_job(a.deep ? "verify --deep" : "verify", a.id.empty() ? "newest" : a.id, [&] {
    auto r = replicator::run_verify(rt.ctx(), a.id, a.deep, a.server);
    if (!r.ok) {
      std::string all;
      for (const auto& p : r.problems) all += "\n  " + p;
      throw Error("generation " + r.id + " failed verification:" + all,
                  "do not restore it; take a new backup with 'sitekeeper backup'");
    }
    std::cout << r.summary << "\n";
    return r.summary;
  });
  return kOk;
}

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
