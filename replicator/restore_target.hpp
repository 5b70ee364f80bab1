#pragma once
// What every restore of archive content onto the disk shares (restore-secrets, restore-files, and
// recover after them): the target folder the operator names, the generation it reads, and an
// all-or-nothing write into a private folder beside the target that is renamed into place at the end.
#include <filesystem>
#include <functional>
#include <string>

#include "replicator/archive.hpp"

namespace sk::replicator {

// `to` made absolute and normal. `command` names the command in messages ("restore-secrets"), `what`
// the content ("secrets"). Throws ConfigError when `to` is empty, SafetyError when it is the root folder,
// exists and is not an empty folder, or is a symlink: a restore never overwrites anything.
fs::path restore_target(const fs::path& to, const std::string& command, const std::string& what);

// The generation a restore reads: `wanted`, or the newest complete one when empty. Throws sk::Error when
// it is not in the archive or fails Archive::check without hashing (the caller hashes what it reads).
std::string restore_generation(const Archive& archive, const std::string& wanted, const std::string& what);

// Calls fill(tmp) with a new private folder beside `to`, then renames it to `to` (rename(2) refuses a `to`
// that someone filled meanwhile). Whatever fill throws, or a failed rename, removes tmp and rethrows:
// `to` then stays as it was. REQUIRES: `to` came from restore_target.
void fill_then_rename(const fs::path& to, const std::string& what, const std::function<void(const fs::path&)>& fill);

// `to` with the absolute path below it: /etc/site/key -> <to>/etc/site/key.
// REQUIRES: secrets::path_problem(path) is "".
inline fs::path below(const fs::path& to, const std::string& path) { return to / fs::path(path).relative_path(); }

}  // namespace sk::replicator
