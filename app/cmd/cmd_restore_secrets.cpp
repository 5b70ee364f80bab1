// restore-secrets [--backup ID] --to DIR: the key material of a generation, decrypted, below DIR.
#include <cstdio>

#include "app/cmd/commands.hpp"
#include "core/fsutil.hpp"
#include "replicator/archive_secrets.hpp"

namespace sk::cli {

namespace {
std::string octal(std::uint32_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}
}  // namespace

int cmd_restore_secrets(const GlobalOptions& g, const CommandArgs& a, Output& out) {
  Runtime rt(g);
  rt.run_job("restore-secrets", a.id.empty() ? "newest" : a.id, [&] {
    auto r = replicator::restore_secrets(rt.cfg(), a.id, a.to);
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : r.files) {
      files.push_back({{"path", f.path.string()}, {"original_mode", octal(f.mode)}, {"bytes", f.bytes}});
      // The original mode, so the operator can put each file back as it was.
      out.say("  " + show_path(f.path) + "  (" + std::to_string(f.bytes) + " bytes, was " + octal(f.mode) + ")");
    }
    out.say(r.summary);
    out.set("summary", r.summary);
    out.set("files", files);
    return r.summary;
  });
  return kOk;
}

}  // namespace sk::cli
