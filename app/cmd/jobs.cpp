// The schedulable jobs by name, for the daemon ([[schedule]] job = "...").
#include "app/cmd/report.hpp"
#include "app/cmd/runtime.hpp"
#include "app/core/error.hpp"
#include "replicator/backup.hpp"
#include "replicator/refresh.hpp"
#include "replicator/verify.hpp"

namespace sk::cli {

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
    auto r = replicator::run_verify(ctx, "", false);
    if (!r.ok) throw Error(r.summary);
    return r.summary;
  }
  if (job == "check") {
    auto c = check_report(ctx);
    if (!c["ok"].get<bool>()) throw Error("readiness check failed: " + c.dump());
    return "readiness check passed";
  }
  throw ConfigError("unknown job " + job, "jobs are backup, refresh, capture and verify");
}

}  // namespace sk::cli
