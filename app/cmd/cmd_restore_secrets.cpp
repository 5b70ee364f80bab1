// restore-secrets [--backup ID] --to DIR: the key material of a generation, decrypted, below DIR.
#include <cstdio>
#include <iostream>

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

int cmd_restore_secrets(const GlobalOptions& g, const CommandArgs& a) {
  Runtime rt(g);
  nlohmann::json files = nlohmann::json::array();
  std::string summary;
  rt.run_job("restore-secrets", a.id.empty() ? "newest" : a.id, [&] {
    auto r = replicator::restore_secrets(rt.cfg(), a.id, a.to);
    for (const auto& f : r.files) {
      files.push_back({{"path", f.path.string()}, {"original_mode", octal(f.mode)}, {"bytes", f.bytes}});
      // The original mode, so the operator can put each file back as it was.
      if (!g.json) std::cout << "  " << show_path(f.path) << "  (" << f.bytes << " bytes, was " << octal(f.mode) << ")\n";
    }
    summary = r.summary;
    if (!g.json) std::cout << r.summary << "\n";
    return r.summary;
  });
  if (g.json) print_json({{"summary", summary}, {"files", files}});
  return kOk;
}

}  // namespace sk::cli
