// man [FILE]: the sitekeeper(1) man page, generated from the command table (the build writes
// build/sitekeeper.1 with it). Hidden from --help and from the page itself.
#include <fstream>

#include "app/cmd/cli.hpp"
#include "app/cmd/commands.hpp"
#include "core/fsutil.hpp"

namespace sk::cli {

int cmd_man(const GlobalOptions&, const CommandArgs& a, Output& out) {
  const std::string page = man_page();
  if (a.file.empty()) {
    out.say(page);
    out.set("roff", page);
    return kOk;
  }
  {
    std::ofstream f(a.file, std::ios::binary | std::ios::trunc);
    f << page;
    if (!f.flush()) throw Error("cannot write " + show_path(a.file));
  }
  // A manual is for everyone who runs the command, whatever the umask.
  std::error_code ec;
  fs::permissions(a.file, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read, ec);
  out.set("file", a.file);
  return kOk;
}

}  // namespace sk::cli
