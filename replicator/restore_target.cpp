#include "replicator/restore_target.hpp"

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.hpp"
#include "core/fsutil.hpp"

namespace sk::replicator {

namespace {
// Why `to` cannot receive a restore ("" when it can): it must be missing or an empty folder.
std::string target_problem(const fs::path& to) {
  std::error_code ec;
  const auto st = fs::symlink_status(to, ec);
  if (st.type() == fs::file_type::not_found) return {};
  if (ec) return show_path(to) + " cannot be checked: " + ec.message();
  if (fs::is_symlink(st)) return show_path(to) + " is a symbolic link";
  if (!fs::is_directory(st)) return show_path(to) + " is not a folder";
  if (!fs::is_empty(to, ec)) return show_path(to) + " is not empty";
  return {};
}
}  // namespace

fs::path restore_target(const fs::path& to_arg, const std::string& command, const std::string& what) {
  if (to_arg.empty()) throw ConfigError(command + " needs a target folder", "pass --to DIR");
  fs::path to = fs::absolute(to_arg).lexically_normal();
  if (!to.has_filename()) to = to.parent_path();
  if (to == to.root_path())
    throw SafetyError("refusing to restore " + what + " into " + show_path(to), "name a new, empty folder with --to");
  if (auto why = target_problem(to); !why.empty())
    throw SafetyError("refusing to restore " + what + " into " + show_path(to) + ": " + why,
                      "name a folder that does not exist yet, or an empty one; nothing is ever overwritten");
  return to;
}

std::string restore_generation(const Archive& archive, const std::string& wanted, const std::string& what) {
  std::string id = wanted;
  if (id.empty()) {
    auto newest = archive.newest_complete();
    if (!newest) throw Error("the archive holds no complete backup", "see 'sitekeeper status' for the generations");
    id = *newest;
  }
  const auto ids = archive.list();
  if (archive.path(id); std::find(ids.begin(), ids.end(), id) == ids.end())
    throw Error("no generation " + id + " in the archive", "see 'sitekeeper status' for the generations");
  if (auto problems = archive.check(id, /*hash=*/false, nullptr); !problems.empty())
    throw Error("generation " + id + " is not intact: " + problems.front(),
                "run 'sitekeeper verify " + id + "', and restore the " + what + " from a generation that passes");
  return id;
}

void fill_then_rename(const fs::path& to, const std::string& what, const std::function<void(const fs::path&)>& fill) {
  fs::create_directories(to.parent_path());
  std::string tmpl = (to.parent_path() / ("." + to.filename().string() + ".sitekeeper-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) throw Error("cannot create a folder beside " + show_path(to));
  const fs::path tmp = tmpl;
  try {
    fill(tmp);
    // rename(2) replaces an empty folder and refuses one that someone filled meanwhile.
    if (std::rename(tmp.c_str(), to.c_str()) != 0)
      throw Error("cannot move the restored " + what + " into " + show_path(to) + ": " + std::strerror(errno));
    fsync_path(to.parent_path());
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace sk::replicator
