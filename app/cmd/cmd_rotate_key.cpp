// rotate-key: a new archive key seals new generations; the old keys stay, so old generations verify.
#include "app/cmd/commands.hpp"
#include "core/fsutil.hpp"
#include "replicator/archive_keys.hpp"

namespace sk::cli {

int cmd_rotate_key(const GlobalOptions& g, const CommandArgs&, Output& out) {
  Runtime rt(g);
  const auto& file = rt.cfg().archive.key_file;
  rt.run_job("rotate-key", file.string(), [&] {
    const std::string id = replicator::ArchiveKeys::rotate(file);
    const auto keys = replicator::ArchiveKeys::load(file);
    const std::string s = "archive key " + id + " added to " + show_path(file) + "; it seals new generations, and the " +
                          std::to_string(keys.size() - 1) + " older key(s) kept there still verify older ones";
    out.say(s);
    out.set("key_id", id);
    out.set("key_file", file.string());
    out.set("older_keys", keys.size() - 1);
    out.set("summary", s);
    return s;
  });
  return kOk;
}

}  // namespace sk::cli
