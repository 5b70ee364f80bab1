// restore-files [--backup ID] --to DIR: the site's files of a generation, below DIR with their modes and mtimes.
#include <cstdio>

#include "app/cmd/commands.hpp"
#include "core/fsutil.hpp"
#include "replicator/site_files.hpp"

namespace sk::cli {

int cmd_restore_files(const GlobalOptions& g, const CommandArgs& a, Output& out) {
  Runtime rt(g);
  rt.run_job("restore-files", a.id.empty() ? "newest" : a.id, [&] {
    auto r = replicator::restore_site_files(rt.cfg(), a.id, a.to);
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& e : r.entries) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", e.mode & 07777);
      entries.push_back({{"path", e.path}, {"type", e.folder ? "folder" : "file"}, {"mode", mode},
                         {"mtime_ns", e.mtime_ns}, {"bytes", e.size}});
    }
    out.say(r.summary);
    out.set("summary", r.summary);
    out.set("backup", r.id);
    out.set("entries", entries);
    return r.summary;
  });
  return kOk;
}

}  // namespace sk::cli
