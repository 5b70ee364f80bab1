#pragma once
// File helpers that make durability explicit: written data is fsync'd, then its directory.
#include <filesystem>
#include <string>
#include <vector>

namespace sk {

namespace fs = std::filesystem;

// Writes `data` to path via a temporary file in the same directory, fsyncs it, renames it into place
// and fsyncs the directory. The file is mode 0600: everything sitekeeper writes this way (archive files,
// keys) is for its own eyes. Throws sk::Error on any failure; the old file (if any) is then untouched.
void write_file_durable(const fs::path& path, const std::string& data);
void fsync_path(const fs::path& path);  // file or directory
// Throws sk::Error naming the file when it cannot be read.
std::string read_file(const fs::path& path);
// True when group or others may read the file.
bool readable_by_others(const fs::path& path);
// `root` and what lies under it that group or others may read (symlinks are not followed), at most
// `limit` paths.
std::vector<fs::path> readable_by_others_under(const fs::path& root, std::size_t limit = 20);
// Folders to 0700 and files to 0600, `root` included; symlinks are left alone. Throws sk::Error.
void make_private(const fs::path& root);
// Removes `path` and all below it when destroyed, unless keep() was called first: a step that fails
// halfway leaves nothing of what it made. Never throws (a removal that fails is left as it is).
// Thread-safety: one owner.
class RemoveUnlessKept {
 public:
  explicit RemoveUnlessKept(fs::path path) : path_(std::move(path)) {}
  ~RemoveUnlessKept() {
    std::error_code ec;
    if (!kept_) fs::remove_all(path_, ec);
  }
  RemoveUnlessKept(const RemoveUnlessKept&) = delete;
  RemoveUnlessKept& operator=(const RemoveUnlessKept&) = delete;
  void keep() { kept_ = true; }

 private:
  fs::path path_;
  bool kept_ = false;
};

// UTF-8 safe display of a path for messages (quoted when it holds spaces).
std::string show_path(const fs::path& p);

}  // namespace sk
