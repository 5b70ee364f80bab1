#include "replicator/archive.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <regex>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/hash.hpp"

namespace sk::replicator {

ArchiveLock::~ArchiveLock() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {
constexpr const char* kMarkerFormat = "sitekeeper-marker-2";

// What the marker's MAC covers. The id binds the marker to its folder (a generation copied or renamed
// to look newer fails), the manifest's SHA-256 binds every file's hash.
std::string signed_text(const std::string& id, const std::string& manifest_sha, const std::string& completed_at,
                        const std::string& key_id) {
  return std::string(kMarkerFormat) + "\nid=" + id + "\nmanifest_sha256=" + manifest_sha +
         "\ncompleted_at=" + completed_at + "\nkey_id=" + key_id + "\n";
}
}  // namespace

Archive::Archive(fs::path root, std::shared_ptr<const ArchiveKeys> keys, std::string why_no_keys)
    : keys_(std::move(keys)), why_no_keys_(std::move(why_no_keys)) {
  std::error_code ec;
  const bool existed = fs::exists(root, ec);
  fs::create_directories(root, ec);
  if (ec) throw Error("cannot create archive folder " + show_path(root) + ": " + ec.message());
  if (!existed) fs::permissions(root, fs::perms::owner_all, fs::perm_options::replace, ec);
  root_ = fs::canonical(root);
}

Archive open_archive(const Config& cfg, bool captures, bool for_writing) {
  const fs::path root = captures ? cfg.archive.path / "captures" : cfg.archive.path;
  if (for_writing) {
    Archive a(root, std::make_shared<const ArchiveKeys>(ArchiveKeys::load_or_create(cfg.archive.key_file)));
    // A root someone made by hand with the default umask: ours, so it becomes private like the rest.
    struct stat st{};
    std::error_code ec;
    if (::stat(cfg.archive.path.c_str(), &st) == 0 && st.st_uid == ::geteuid() && (st.st_mode & 077))
      fs::permissions(cfg.archive.path, fs::perms::owner_all, fs::perm_options::replace, ec);
    return a;
  }
  try {
    return Archive(root, std::make_shared<const ArchiveKeys>(ArchiveKeys::load(cfg.archive.key_file)));
  } catch (const Error& e) {
    return Archive(root, nullptr, e.what());
  }
}

std::string database_prefix(const std::vector<std::string>& databases, const std::string& db) {
  const auto it = std::find(databases.begin(), databases.end(), db);
  if (it == databases.end()) throw Error("the generation does not hold database " + db);
  if (it == databases.begin()) return {};
  static const char* hex = "0123456789ABCDEF";
  std::string out = "databases/";
  for (unsigned char c : db) {
    if (std::isalnum(c) || c == '_' || c == '-') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out + "/";
}

fs::path wal_archive_dir(const Config& cfg) { return cfg.archive.path / kWalDir; }

void verify_physical(sql::Engine& engine, const Config& cfg, const std::string& id, const fs::path& dir,
                     const CancelToken* cancel) {
  // Beside the state store, not in the archive: an unpacked copy is the size of the whole server, and
  // the archive may be a slow share.
  engine.verify_base_backup(dir, cfg.state_path.parent_path() / (".unpacked-" + id), cancel);
}

bool Archive::valid_id(std::string_view id) {
  static const std::regex re(R"(\d{8}T\d{6}Z(-\d{1,3})?)");
  return std::regex_match(id.begin(), id.end(), re);
}

std::unique_ptr<ArchiveLock> lock_file(const fs::path& p, const std::string& what) {
  int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw Error("cannot open the lock of " + what + " " + show_path(p) + ": " + std::strerror(errno));
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      ::close(fd);
      throw Error("cannot lock " + what + ": " + std::string(std::strerror(errno)));
    }
  }
  return std::make_unique<ArchiveLock>(fd);
}

std::unique_ptr<ArchiveLock> Archive::lock() const { return lock_file(root_ / ".sitekeeper.lock", "the archive"); }

fs::path Archive::path(const std::string& id) const {
  if (!valid_id(id))
    throw Error("not a backup id: " + id, "backup ids look like 20261122T020000Z; see 'sitekeeper status'");
  return root_ / id;
}

std::string Archive::create(Clock::time_point now) const {
  const std::string base = [&] {
    std::string s = iso_utc(now);  // 2026-11-22T02:00:00Z
    s.erase(std::remove(s.begin(), s.end(), '-'), s.end());
    s.erase(std::remove(s.begin(), s.end(), ':'), s.end());
    return s;
  }();
  for (int n = 1; n < 1000; ++n) {
    std::string id = n == 1 ? base : base + "-" + std::to_string(n);
    std::error_code ec;
    if (fs::create_directory(root_ / id, ec)) {
      fs::permissions(root_ / id, fs::perms::owner_all, fs::perm_options::replace, ec);
      fsync_path(root_);
      return id;
    }
    if (ec) throw Error("cannot create generation folder in " + show_path(root_) + ": " + ec.message());
  }
  throw Error("too many generations started in one second");
}

std::vector<std::string> Archive::list() const {
  std::vector<std::string> ids;
  for (const auto& e : fs::directory_iterator(root_)) {
    const std::string name = e.path().filename().string();
    if (valid_id(name) && e.is_directory() && !e.is_symlink()) ids.push_back(name);
  }
  std::sort(ids.begin(), ids.end(), [](const std::string& a, const std::string& b) {
    // "...Z" < "...Z-2" < "...Z-10": compare the time, then the counter numerically.
    auto key = [](const std::string& s) {
      auto dash = s.find('-');
      return std::make_pair(s.substr(0, dash), dash == std::string::npos ? 1 : std::stoi(s.substr(dash + 1)));
    };
    return key(a) < key(b);
  });
  return ids;
}

std::string Archive::marker_problem(const std::string& id) const {
  const std::string m = kMarkerFile;
  nlohmann::json marker;
  std::string manifest_sha;
  try {
    const fs::path dir = path(id);
    if (!fs::exists(dir / kMarkerFile)) return m + ": missing (the backup did not finish)";
    marker = nlohmann::json::parse(read_file(dir / kMarkerFile));
    manifest_sha = sha256_hex(read_file(dir / kManifestFile));
    if (!marker.is_object() || marker.value("manifest_sha256", "") != manifest_sha)
      return m + ": does not match " + kManifestFile;
  } catch (const std::exception&) {
    return m + ": does not match " + kManifestFile;
  }
  if (marker.value("format", "") != kMarkerFormat || !marker.contains("mac"))
    return m + ": carries no MAC (sealed by an older sitekeeper, or the MAC was removed); it is never restored";
  if (marker.value("id", "") != id)
    return m + ": sealed for generation " + marker.value("id", "?") + ", not " + id;
  if (!keys_) return m + ": its MAC cannot be checked: " + why_no_keys_;
  const std::string key_id = marker.value("key_id", "");
  if (!keys_->has(key_id)) return m + ": sealed with archive key " + key_id + ", which the key file does not hold";
  const std::string text = signed_text(id, manifest_sha, marker.value("completed_at", ""), key_id);
  if (!marker["mac"].is_string() || !keys_->verify(key_id, text, marker["mac"].get<std::string>()))
    return m + ": MAC does not verify under archive key " + key_id +
           ": the generation was changed after it was sealed";
  return "";
}

bool Archive::complete(const std::string& id) const {
  try {
    return marker_problem(id).empty();
  } catch (const std::exception&) {
    return false;
  }
}

std::optional<std::string> Archive::newest_complete() const {
  auto ids = list();
  for (auto it = ids.rbegin(); it != ids.rend(); ++it)
    if (complete(*it)) return *it;
  return std::nullopt;
}

Manifest Archive::manifest(const std::string& id) const {
  const fs::path p = path(id) / kManifestFile;
  return Manifest::from_json(read_file(p), p.string());
}

Manifest Archive::seal(const std::string& id, Manifest meta, const CancelToken* cancel) const {
  const fs::path dir = path(id);
  if (!keys_) throw Error("cannot seal generation " + id + ": " + why_no_keys_);
  meta.id = id;
  make_private(dir);
  meta.files = scan_files(dir, {kManifestFile, kMarkerFile}, cancel);
  for (const auto& f : meta.files) fsync_path(dir / f.path);
  const std::string text = meta.to_json();
  write_file_durable(dir / kManifestFile, text);
  write_file_durable(dir / kMarkerFile, marker_text(id, text, meta.created_at, *keys_));  // last: now it is complete
  return meta;
}

std::string Archive::marker_text(const std::string& id, const std::string& manifest_text,
                                 const std::string& completed_at, const ArchiveKeys& keys) {
  const std::string manifest_sha = sha256_hex(manifest_text);
  nlohmann::json marker{{"format", kMarkerFormat}, {"id", id}, {"manifest_sha256", manifest_sha},
                        {"completed_at", completed_at}, {"key_id", keys.current_id()},
                        {"mac", keys.sign(signed_text(id, manifest_sha, completed_at, keys.current_id()))}};
  return marker.dump() + "\n";
}

std::vector<std::string> Archive::check(const std::string& id, bool hash, const CancelToken* cancel,
                                        const std::string& only) const {
  const fs::path dir = path(id);
  if (auto why = marker_problem(id); !why.empty()) return {why};
  Manifest m;
  try {
    m = manifest(id);
  } catch (const Error& e) {
    return {e.what()};
  }
  if (m.id != id) return {std::string(kManifestFile) + ": belongs to generation " + m.id};
  if (!only.empty()) {
    // Sizes everywhere, hashes only under `only`.
    auto problems = check_files(dir, m, {kManifestFile, kMarkerFile}, false, cancel);
    if (!problems.empty() || !hash) return problems;
    Manifest sub = m;
    sub.files.clear();
    for (const auto& f : m.files)
      if (f.path.rfind(only, 0) == 0) sub.files.push_back(f);
    std::vector<std::string> out;
    for (const auto& f : sub.files)
      if (sha256_file(dir / f.path, cancel) != f.sha256) out.push_back(f.path + ": checksum mismatch");
    return out;
  }
  return check_files(dir, m, {kManifestFile, kMarkerFile}, hash, cancel);
}

void Archive::remove(const std::string& id) const {
  const fs::path p = path(id);
  std::error_code ec;
  auto st = fs::symlink_status(p, ec);
  if (ec || !fs::is_directory(st))
    throw Error("refusing to remove " + show_path(p) + ": not a generation folder");
  if (fs::canonical(p).parent_path() != root_)
    throw Error("refusing to remove " + show_path(p) + ": outside the archive " + show_path(root_));
  fs::remove_all(p, ec);  // does not follow symlinks inside
  if (ec) throw Error("cannot remove " + show_path(p) + ": " + ec.message());
}

std::vector<std::string> retention_victims(const std::vector<std::string>& ids, const std::vector<bool>& complete,
                                           int keep, const std::optional<std::string>& protect) {
  std::vector<std::string> victims;
  int kept = 0;
  bool seen_complete = false;
  for (size_t i = ids.size(); i-- > 0;) {
    if (!complete[i]) {
      if (seen_complete) victims.push_back(ids[i]);
      continue;
    }
    seen_complete = true;
    if (kept < keep || (protect && ids[i] == *protect)) {
      ++kept;
      continue;
    }
    victims.push_back(ids[i]);
  }
  return victims;
}

}  // namespace sk::replicator
