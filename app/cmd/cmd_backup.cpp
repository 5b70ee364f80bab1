// backup: a consistent snapshot of the active site database into the archive.
#include "app/cmd/commands.hpp"
#include "replicator/backup.hpp"
#include "replicator/offsite.hpp"

namespace sk::cli {

int cmd_backup(const GlobalOptions& g, const CommandArgs&, Output& out) {
  Runtime rt(g);
  std::string id;
  rt.run_job("backup", rt.cfg().roles.active, [&] {
    auto r = replicator::run_backup(rt.ctx());
    id = r.id;
    out.say(r.id);
    out.set("id", r.id);
    out.set("path", r.path.string());
    out.set("bytes", r.bytes);
    out.set("deleted", r.deleted);
    out.set("summary", r.summary);
    out.set("hook_failed", r.hook_failed);
    if (r.hook_failed) throw Error(r.summary, "the backup itself is complete and verified");
    return r.summary;
  });
  // Each off-site copy is a job of its own: a failed one alerts, and the verified backup stays a success.
  auto copies = replicator::copy_to_every_destination(rt.jobs(), rt.ctx(), id).lines;
  for (const auto& line : copies) out.say(line);
  out.set("copies", copies);
  return kOk;
}

}  // namespace sk::cli
