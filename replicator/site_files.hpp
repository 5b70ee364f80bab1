#pragma once
// The site's non-database state ([archive] files: configuration folders, custom reports, content) in
// each backup generation, each path below files/ at its absolute path (/etc/site/x.rpt as
// files/etc/site/x.rpt), with files.json recording what the archive's own 0600/0700 would lose: the
// type, mode, mtime and size of every entry. Both lie under the manifest, so the marker's MAC covers them.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/config.hpp"

namespace sk {
class CancelToken;
}

namespace sk::replicator {

inline constexpr const char* kSiteFilesDir = "files";
inline constexpr const char* kSiteFilesIndex = "files.json";
inline constexpr int kSiteFileAttempts = 3;  // copies of a file that keeps changing before the backup fails

struct SiteFileEntry {
  std::string path;   // absolute path on the site server
  bool folder = false;
  std::uint32_t mode = 0;     // permission bits (07777)
  std::int64_t mtime_ns = 0;  // since the epoch
  std::uint64_t size = 0;     // 0 for folders
};

struct SiteFilesCopy {
  std::vector<SiteFileEntry> entries;
  std::uint64_t bytes = 0;
  std::vector<std::string> retried;  // files that changed during a copy and were copied again
};

// Called between the stat before a copy and the copy itself, with the source file and the attempt
// (1..kSiteFileAttempts). A seam for tests, which change the file there; empty in production.
using BeforeCopyHook = std::function<void(const fs::path& source, int attempt)>;

// Copies `sources` (absolute files or folders, as config checks them) into `generation`/files/ and writes
// `generation`/files.json; nothing when `sources` is empty. A file is copied again when its size or
// mtime (ns) differs after the copy from before it, up to kSiteFileAttempts times. Throws sk::Error
// naming the path for a source that is missing, a symlink (never followed) or a special file, and for a
// file still changing after the last attempt: a backup holding a torn file would be restored as if whole.
SiteFilesCopy copy_site_files(const std::vector<fs::path>& sources, const fs::path& generation,
                              const CancelToken* cancel, const BeforeCopyHook& before_copy = {});

// For the backup's summary: "site files: 12 file(s), 3 folder(s) (1.2 MB)", and the files copied again
// after a change, by name.
std::string site_files_summary(const SiteFilesCopy& copy);

// files.json, and back. from_index throws sk::Error naming `source` for a damaged index, and for a path
// that could escape a restore folder (not absolute, "..", ".", empty component), repeated, or a file
// below a file.
std::string site_files_index(const std::vector<SiteFileEntry>& entries);
std::vector<SiteFileEntry> site_files_from_index(const std::string& text, const std::string& source);

struct RestoreSiteFilesResult {
  std::string id;
  fs::path dir;
  std::vector<SiteFileEntry> entries;  // as written, paths below `dir`
  std::uint64_t bytes = 0;
  std::string summary;
};

// Writes the site files of generation `id` (empty: the newest complete one) below `to`, each at its
// absolute path, with its recorded mode and mtime; `to` itself is 0700, and the folders above the listed
// paths get the process's umask (sitekeeper's 077: 0700). `to` must be missing or an empty folder (else SafetyError). The generation must be
// complete, files.json and every file under files/ must match the manifest, and files/ must hold exactly
// what files.json lists, all decided before anything is written: otherwise an sk::Error and `to` stays
// as it was. The files go into a private folder beside `to`, renamed into place at the end.
RestoreSiteFilesResult restore_site_files(const Config& cfg, const std::string& id, const fs::path& to,
                                          const CancelToken* cancel = nullptr);

}  // namespace sk::replicator
