#include "app/daemon/jobs.hpp"

#include "app/daemon/report.hpp"
#include "core/error.hpp"
#include "replicator/backup.hpp"
#include "replicator/refresh.hpp"
#include "replicator/verify.hpp"

namespace sk::daemon {

std::string run_named_job(const std::string& job, const replicator::JobContext& ctx) {
  if (job == "capture") return replicator::run_capture(ctx).summary;
  if (job == "backup") {
    auto r = replicator::run_backup(ctx);
    if (r.hook_failed) throw Error(r.summary);
    return r.summary;
  }
  if (job == "refresh") {
    auto r = replicator::run_refresh(ctx);
    if (!r.ok) throw Error(r.summary);
    return r.summary;
  }
  if (job == "verify") {
    // One schedule per job: its `deep` says whether the scheduled verification is a trial restore.
    bool deep = false;
    for (const auto& sc : ctx.cfg.schedules)
      if (sc.job == "verify") deep = sc.deep;
    auto r = replicator::run_verify(ctx, "", deep);
    if (!r.ok) throw Error(r.summary);
    return r.summary;
  }
  if (job == "check") {
    auto c = check_report(ctx);
    if (!c["ok"].get<bool>()) throw Error("readiness check failed: " + c.dump());
    return "readiness check passed";
  }
  throw ConfigError("unknown job " + job, "jobs are backup, refresh, capture, verify, check and copy (the daemon runs copy itself)");
}

}  // namespace sk::daemon
