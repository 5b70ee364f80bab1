#include "replicator/site_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/hash.hpp"
#include "core/json_number.hpp"
#include "core/process.hpp"
#include "core/secrets.hpp"
#include "core/units.hpp"
#include "replicator/archive.hpp"
#include "replicator/restore_target.hpp"

namespace sk::replicator {

namespace {

constexpr const char* kIndexFormat = "sitekeeper-files-1";
const char* kListHint = "fix or remove it in [archive] files";

std::int64_t mtime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// What a change during the copy moves. mtime alone can miss a rewrite of the same size within one
// timestamp tick; ctime and the inode catch a chmod or a file replaced by rename as well.
bool same_file_state(const struct stat& a, const struct stat& b) {
  return a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec && a.st_ino == b.st_ino;
}

struct stat lstat_or_throw(const fs::path& p) {
  struct stat st{};
  if (::lstat(p.c_str(), &st) != 0)
    throw Error("cannot back up site file " + show_path(p) + ": " + std::strerror(errno), kListHint);
  if (S_ISLNK(st.st_mode))
    throw Error("refusing to back up site file " + show_path(p) + ": a symbolic link, which is never followed",
                "list the file it points to in [archive] files, or replace the link with the file");
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
    throw Error("refusing to back up site file " + show_path(p) + ": not a regular file or folder", kListHint);
  return st;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Copies the bytes of `src` to a new 0600 `dest` and returns how many. Throws sk::Error.
std::uint64_t copy_bytes(const fs::path& src, const fs::path& dest, const CancelToken* cancel) {
  Fd in(::open(src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (in.get() < 0) throw Error("cannot read " + show_path(src) + ": " + std::strerror(errno));
  Fd out(::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (out.get() < 0) throw Error("cannot write " + show_path(dest) + ": " + std::strerror(errno));
  std::uint64_t total = 0;
  std::vector<char> buf(1 << 16);
  for (;;) {
    if (cancel) cancel->check();
    ssize_t n = ::read(in.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error("cannot read " + show_path(src) + ": " + std::strerror(errno));
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out.get(), buf.data() + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) throw Error("cannot write " + show_path(dest) + ": " + std::strerror(errno));
      done += w;
    }
    total += static_cast<std::uint64_t>(n);
  }
  return total;
}

class Copier {
 public:
  Copier(const fs::path& files_dir, const CancelToken* cancel, const BeforeCopyHook& hook)
      : dir_(files_dir), cancel_(cancel), hook_(hook) {}

  void copy(const fs::path& src, SiteFilesCopy& out) {
    const struct stat st = lstat_or_throw(src);
    const fs::path dest = below(dir_, src.generic_string());
    if (S_ISDIR(st.st_mode)) {
      fs::create_directories(dest);
      out.entries.push_back({src.generic_string(), true, static_cast<std::uint32_t>(st.st_mode & 07777), mtime_ns(st), 0});
      std::vector<fs::path> children;
      for (const auto& e : fs::directory_iterator(src)) children.push_back(e.path());
      std::sort(children.begin(), children.end());
      for (const auto& c : children) copy(c, out);
      return;
    }
    fs::create_directories(dest.parent_path());
    for (int attempt = 1;; ++attempt) {
      const struct stat before = lstat_or_throw(src);
      if (!S_ISREG(before.st_mode))
        throw Error("refusing to back up site file " + show_path(src) + ": it stopped being a file", kListHint);
      if (hook_) hook_(src, attempt);
      const std::uint64_t copied = copy_bytes(src, dest, cancel_);
      const struct stat after = lstat_or_throw(src);
      if (same_file_state(before, after) && copied == static_cast<std::uint64_t>(after.st_size)) {
        out.entries.push_back({src.generic_string(), false, static_cast<std::uint32_t>(before.st_mode & 07777),
                               mtime_ns(before), copied});
        out.bytes += copied;
        return;
      }
      if (attempt == 1) out.retried.push_back(src.generic_string());
      if (attempt == kSiteFileAttempts)
        throw Error("site file " + show_path(src) + " changed while it was copied, " +
                        std::to_string(kSiteFileAttempts) + " times; the backup does not keep a torn copy",
                    "stop the program writing it during the backup (after_backup cannot help: it runs later), "
                    "or remove it from [archive] files");
    }
  }

 private:
  fs::path dir_;
  const CancelToken* cancel_;
  const BeforeCopyHook& hook_;
};

std::string octal(std::uint32_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

void set_mode_and_mtime(const fs::path& p, const SiteFileEntry& e) {
  if (::chmod(p.c_str(), static_cast<mode_t>(e.mode)) != 0)
    throw Error("cannot set the mode of " + show_path(p) + ": " + std::strerror(errno));
  // Floor division: an mtime before 1970 is a negative second and a nanosecond field in [0, 1e9).
  std::int64_t sec = e.mtime_ns / 1'000'000'000, nsec = e.mtime_ns % 1'000'000'000;
  if (nsec < 0) sec -= 1, nsec += 1'000'000'000;
  const struct timespec ts[2] = {{static_cast<time_t>(sec), static_cast<long>(nsec)},
                                 {static_cast<time_t>(sec), static_cast<long>(nsec)}};
  if (::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
    throw Error("cannot set the mtime of " + show_path(p) + ": " + std::strerror(errno));
}

const ManifestFile* listed(const Manifest& m, const std::string& path) {
  auto it = std::find_if(m.files.begin(), m.files.end(), [&](const ManifestFile& f) { return f.path == path; });
  return it == m.files.end() ? nullptr : &*it;
}

std::string stored_path(const SiteFileEntry& e) {
  return std::string(kSiteFilesDir) + "/" + fs::path(e.path).relative_path().generic_string();
}

}  // namespace

SiteFilesCopy copy_site_files(const std::vector<fs::path>& sources, const fs::path& generation,
                              const CancelToken* cancel, const BeforeCopyHook& before_copy) {
  SiteFilesCopy out;
  if (sources.empty()) return out;
  Copier copier(generation / kSiteFilesDir, cancel, before_copy);
  fs::create_directories(generation / kSiteFilesDir);
  for (const auto& src : sources) copier.copy(src, out);
  write_file_durable(generation / kSiteFilesIndex, site_files_index(out.entries));
  return out;
}

std::string site_files_summary(const SiteFilesCopy& copy) {
  std::size_t files = 0;
  for (const auto& e : copy.entries) files += e.folder ? 0 : 1;
  std::string s = "site files: " + std::to_string(files) + " file(s), " + std::to_string(copy.entries.size() - files) +
                  " folder(s) (" + format_size(copy.bytes) + ")";
  if (!copy.retried.empty()) {
    s += "; copied again after a change:";
    for (const auto& f : copy.retried) s += " " + f;
  }
  return s;
}

std::string site_files_index(const std::vector<SiteFileEntry>& entries) {
  nlohmann::json j{{"format", kIndexFormat}, {"entries", nlohmann::json::array()}};
  for (const auto& e : entries)
    j["entries"].push_back({{"path", e.path},
                            {"type", e.folder ? "folder" : "file"},
                            {"mode", octal(e.mode)},
                            {"mtime_ns", e.mtime_ns},
                            {"size", e.size}});
  return j.dump(2) + "\n";
}

std::vector<SiteFileEntry> site_files_from_index(const std::string& text, const std::string& source) {
  std::vector<SiteFileEntry> out;
  try {
    auto j = nlohmann::json::parse(text);
    if (!j.is_object() || j.value("format", "") != kIndexFormat) throw Error("unknown index format");
    std::set<std::string> seen, files;
    for (const auto& x : j.at("entries")) {
      SiteFileEntry e;
      e.path = x.at("path").get<std::string>();
      if (auto why = secrets::path_problem(e.path); !why.empty())
        throw Error("entry " + std::to_string(out.size() + 1) + " has a path that could escape the restore folder: " +
                    why);
      const std::string type = x.at("type").get<std::string>();
      if (type != "file" && type != "folder") throw Error("entry " + e.path + " has an unknown type " + type);
      e.folder = type == "folder";
      const std::string mode = x.at("mode").get<std::string>();
      if (mode.empty() || mode.size() > 5 || mode.find_first_not_of("01234567") != std::string::npos)
        throw Error("entry " + e.path + " has a mode that is not octal permission bits");
      e.mode = static_cast<std::uint32_t>(std::stoul(mode, nullptr, 8)) & 07777;
      e.mtime_ns = json_signed(x.at("mtime_ns"), "the mtime of entry " + e.path);
      e.size = json_unsigned(x.at("size"), "the size of entry " + e.path);
      if (!seen.insert(e.path).second) throw Error("entry " + e.path + " is listed twice");
      if (!e.folder) files.insert(e.path);
      out.push_back(std::move(e));
    }
    for (const auto& e : out)
      for (fs::path p = fs::path(e.path).parent_path(); p != p.root_path(); p = p.parent_path())
        if (files.count(p.generic_string())) throw Error("entry " + e.path + " lies below the file " + p.string());
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  } catch (const std::exception& e) {
    throw Error(source + ": not a valid site files index (" + std::string(e.what()) + ")");
  }
  return out;
}

RestoreSiteFilesResult restore_site_files(const Config& cfg, const std::string& wanted, const fs::path& to_arg,
                                          const CancelToken* cancel) {
  const fs::path to = restore_target(to_arg, "restore-files", "site files");
  Archive archive = open_archive(cfg);
  RestoreSiteFilesResult r;
  r.id = restore_generation(archive, wanted, "site files");
  const fs::path gen = archive.path(r.id);
  const Manifest m = archive.manifest(r.id);
  const ManifestFile* index_file = listed(m, kSiteFilesIndex);
  if (!index_file)
    throw Error("generation " + r.id + " holds no site files",
                "list the site's folders in [archive] files; backups after that carry them");
  const std::string refuse_hint = "restore the site files from another generation; 'sitekeeper verify' lists the damage";
  // Every byte read back is checked before the first file is written.
  if (auto problems = archive.check(r.id, /*hash=*/true, cancel, kSiteFilesDir); !problems.empty())
    throw Error("site files of generation " + r.id + " do not match its manifest: " + problems.front() +
                    "; nothing was written",
                refuse_hint);
  // Parsed from the very bytes that were hashed.
  const std::string index_text = read_file(gen / kSiteFilesIndex);
  if (sha256_hex(index_text) != index_file->sha256)
    throw Error(std::string(kSiteFilesIndex) + " of generation " + r.id + " changed while it was read; nothing was written",
                refuse_hint);
  auto entries = site_files_from_index(index_text, r.id + "/" + kSiteFilesIndex);
  std::set<std::string> indexed;
  for (const auto& e : entries) {
    if (e.folder) {
      if (!fs::is_directory(fs::symlink_status(gen / stored_path(e))))
        throw Error(std::string(kSiteFilesIndex) + " of generation " + r.id + " lists the folder " + e.path +
                        ", which the generation does not hold; nothing was written",
                    refuse_hint);
      continue;
    }
    const ManifestFile* f = listed(m, stored_path(e));
    if (!f || f->size != e.size)
      throw Error(std::string(kSiteFilesIndex) + " of generation " + r.id + " lists " + e.path +
                      (f ? " with another size than the manifest" : ", which the manifest does not") +
                      "; nothing was written",
                  refuse_hint);
    indexed.insert(f->path);
  }
  for (const auto& f : m.files)
    if (f.path.rfind(std::string(kSiteFilesDir) + "/", 0) == 0 && !indexed.count(f.path))
      throw Error("generation " + r.id + " holds " + f.path + ", which " + kSiteFilesIndex +
                      " does not list; nothing was written",
                  refuse_hint);

  // Parents before children: a path sorts before everything below it.
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  fill_then_rename(to, "site files", [&](const fs::path& tmp) {
    for (const auto& e : entries) {
      const fs::path dest = below(tmp, e.path);
      fs::create_directories(e.folder ? dest : dest.parent_path());
      if (e.folder) continue;
      copy_bytes(gen / stored_path(e), dest, cancel);
      if (sha256_file(dest, cancel) != listed(m, stored_path(e))->sha256)
        throw Error("site file " + stored_path(e) + " of generation " + r.id +
                        " changed while it was restored; nothing was written",
                    refuse_hint);
      fsync_path(dest);
      set_mode_and_mtime(dest, e);
      r.bytes += e.size;
    }
    // Folders last and deepest first: writing into a folder moves its mtime, and a 0555 one refuses it.
    for (auto it = entries.rbegin(); it != entries.rend(); ++it)
      if (it->folder) set_mode_and_mtime(below(tmp, it->path), *it);
    fsync_path(tmp);
  });
  std::size_t files = 0;
  for (auto& e : entries) {
    files += e.folder ? 0 : 1;
    e.path = below(to, e.path).string();
  }
  r.dir = to;
  r.entries = std::move(entries);
  r.summary = "restored " + std::to_string(files) + " site file(s) and " + std::to_string(r.entries.size() - files) +
              " folder(s) (" + format_size(r.bytes) + ") of generation " + r.id + " into " + show_path(to) +
              " with their modes and mtimes";
  return r;
}

}  // namespace sk::replicator
