#include "replicator/offsite.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/hash.hpp"
#include "core/log.hpp"
#include "core/units.hpp"

namespace sk::replicator {

namespace {
auto logger() { return log::get("copy"); }

constexpr const char* kPartialSuffix = ".partial";
constexpr std::size_t kChunk = 64 << 10;

class RealPaceClock : public PaceClock {
 public:
  std::chrono::steady_clock::time_point now() const override { return std::chrono::steady_clock::now(); }
  void sleep_for(std::chrono::nanoseconds d) override { std::this_thread::sleep_for(d); }
};

// Closes the descriptor on every path out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string errno_text() { return std::strerror(errno); }

// A folder we own inside the destination: made when missing, refused when something else (a symlink
// planted there, a file) holds the name, so that nothing is ever written through a link.
void ensure_real_folder(const fs::path& p) {
  std::error_code ec;
  auto st = fs::symlink_status(p, ec);
  if (!ec && fs::exists(st)) {
    if (fs::is_directory(st)) return;
    throw Error("cannot copy into " + show_path(p) + ": it is not a folder (a symlink or a file holds the name)",
                "remove it from the destination; sitekeeper never writes through a symlink");
  }
  if (!fs::create_directory(p, ec) || ec)
    throw Error("cannot create " + show_path(p) + ": " + (ec ? ec.message() : std::string("already exists")));
  fs::permissions(p, fs::perms::owner_all, fs::perm_options::replace, ec);
}

// Every folder between `root` and the file, each one real (never a symlink).
void ensure_parents(const fs::path& root, const std::string& rel) {
  fs::path at = root;
  const fs::path r(rel);
  for (auto it = r.begin(); it != r.end(); ++it) {
    if (std::next(it) == r.end()) break;
    at /= *it;
    ensure_real_folder(at);
  }
}

// One file, `bucket` deciding how fast. The target is opened with O_NOFOLLOW and truncated: whatever a
// killed copy left there is replaced whole.
std::uint64_t copy_file_paced(const fs::path& from, const fs::path& to, TokenBucket* bucket, const CancelToken* cancel) {
  Fd in{::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)};
  if (in.fd < 0) throw Error("cannot read " + show_path(from) + ": " + errno_text());
  Fd out{::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)};
  if (out.fd < 0) throw Error("cannot write " + show_path(to) + ": " + errno_text());
  const std::size_t chunk = bucket ? std::min<std::uint64_t>(kChunk, bucket->burst()) : kChunk;
  std::string buf(chunk, '\0');
  std::uint64_t total = 0;
  for (;;) {
    if (cancel) cancel->check();
    ssize_t n = ::read(in.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error("cannot read " + show_path(from) + ": " + errno_text());
    if (n == 0) break;
    if (bucket) bucket->take(static_cast<std::uint64_t>(n), cancel);
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out.fd, buf.data() + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) throw Error("cannot write " + show_path(to) + ": " + errno_text(), "is the destination full?");
      done += w;
    }
    total += static_cast<std::uint64_t>(n);
  }
  if (::fsync(out.fd) != 0) throw Error("cannot write " + show_path(to) + ": fsync: " + errno_text());
  return total;
}

// Size first (cheap on a share), then the hash; both must match the manifest.
bool file_matches(const fs::path& p, const ManifestFile& f, const CancelToken* cancel) {
  std::error_code ec;
  auto st = fs::symlink_status(p, ec);
  if (ec || !fs::is_regular_file(st)) return false;
  if (fs::file_size(p, ec) != f.size || ec) return false;
  return sha256_file(p, cancel) == f.sha256;
}

bool copy_is_good(const Archive& dest, const std::string& id, const std::string& marker, const CancelToken* cancel) {
  if (!dest.complete(id)) return false;
  try {
    if (read_file(dest.path(id) / kMarkerFile) != marker) return false;
  } catch (const Error&) {
    return false;
  }
  return dest.check(id, /*hash=*/true, cancel).empty();
}

std::vector<std::string> destination_retention(const Archive& dest, int keep, const std::string& protect) {
  auto ids = dest.list();  // generation folders only: no symlink, no other name
  std::vector<bool> complete;
  for (const auto& i : ids) complete.push_back(dest.complete(i));
  auto victims = retention_victims(ids, complete, keep, protect);
  for (const auto& v : victims) {
    dest.remove(v);
    logger()->info("retention removed copy {} at {}", v, show_path(dest.root()));
  }
  // An interrupted copy of a generation older than the one just copied is never resumed (copies follow
  // the newest verified backup): its folder would only fill the share. Real folders directly under the
  // root only, never through a symlink.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dest.root(), ec)) {
    const std::string name = e.path().filename().string();
    const auto cut = name.size() - std::string_view(kPartialSuffix).size();
    if (name.size() <= std::string_view(kPartialSuffix).size() || name.substr(cut) != kPartialSuffix) continue;
    const std::string id = name.substr(0, cut);
    if (!Archive::valid_id(id) || id >= protect || !e.is_directory(ec) || e.is_symlink(ec)) continue;
    fs::remove_all(e.path(), ec);
    if (ec) logger()->warn("could not remove the stale partial copy {}: {}", show_path(e.path()), ec.message());
    else {
      logger()->info("removed the stale partial copy {} at {}", id, show_path(dest.root()));
      victims.push_back(name);
    }
  }
  return victims;
}

std::string state_key(const fs::path& dest) { return "copy.newest:" + dest.string(); }
}  // namespace

std::shared_ptr<PaceClock> real_pace_clock() { return std::make_shared<RealPaceClock>(); }

TokenBucket::TokenBucket(std::uint64_t rate, std::shared_ptr<PaceClock> clock, std::uint64_t burst)
    : rate_(rate),
      burst_(burst ? burst : std::clamp<std::uint64_t>(rate / 8, 4 << 10, 1 << 20)),
      clock_(std::move(clock)),
      tokens_(static_cast<double>(burst_)),
      last_(clock_->now()) {
  if (rate_ == 0) throw Error("a copy rate must be above zero");
}

void TokenBucket::take(std::uint64_t n, const CancelToken* cancel) {
  if (n > burst_) throw Error("internal: " + std::to_string(n) + " bytes at once exceed the burst of the rate limiter");
  // Short sleeps: a stop request is seen within a tenth of a second even at a slow rate.
  constexpr auto kMaxSleep = std::chrono::milliseconds(100);
  for (;;) {
    const auto now = clock_->now();
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    tokens_ = std::min(static_cast<double>(burst_), tokens_ + elapsed * static_cast<double>(rate_));
    if (tokens_ >= static_cast<double>(n)) {
      tokens_ -= static_cast<double>(n);
      return;
    }
    if (cancel) cancel->check();
    const double missing = static_cast<double>(n) - tokens_;
    auto wait = std::chrono::nanoseconds(static_cast<long long>(missing / static_cast<double>(rate_) * 1e9) + 1);
    clock_->sleep_for(std::min<std::chrono::nanoseconds>(wait, kMaxSleep));
  }
}

CopyResult copy_generation(const Archive& source, const std::string& id, const fs::path& dest_root,
                           std::shared_ptr<const ArchiveKeys> keys, int keep, TokenBucket* bucket,
                           const CancelToken* cancel) {
  const auto started = std::chrono::steady_clock::now();
  CopyResult r;
  r.id = id;
  const fs::path src = source.path(id);  // refuses a hostile id
  if (!source.complete(id)) throw Error("cannot copy generation " + id + ": it is not complete in the archive");
  // An unmounted share usually leaves its empty mount point or nothing: never create the root, or the
  // copy would land on the local disk and look off-site.
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(dest_root, ec)))
    throw Error("copy destination " + show_path(dest_root) + " is not a folder",
                "is the share mounted? sitekeeper never creates the destination folder itself");
  Archive dest(dest_root, std::move(keys));
  auto lock = dest.lock();  // a copy from the daemon and one from the command line never interleave
  const Manifest m = source.manifest(id);
  const std::string manifest_text = read_file(src / kManifestFile);
  const std::string marker_text = read_file(src / kMarkerFile);
  for (const auto& f : m.files) r.bytes_total += f.size;
  r.dest = dest.path(id);
  const fs::path partial = dest.root() / (id + kPartialSuffix);

  if (copy_is_good(dest, id, marker_text, cancel)) {
    r.already_there = true;
  } else {
    // A damaged or unverified <id> becomes the partial copy: its good files are reused.
    if (fs::exists(fs::symlink_status(r.dest, ec)) && !fs::exists(fs::symlink_status(partial, ec))) {
      if (fs::is_symlink(fs::symlink_status(r.dest, ec)))
        throw Error("cannot copy to " + show_path(r.dest) + ": a symlink holds the name",
                    "remove it from the destination; sitekeeper never writes through a symlink");
      fs::rename(r.dest, partial);
    } else if (fs::exists(fs::symlink_status(r.dest, ec))) {
      dest.remove(id);  // refuses a symlink or anything outside the destination
    }
    ensure_real_folder(partial);
    // The marker goes first, so that a kill at any point leaves a folder that is not complete.
    fs::remove(partial / kMarkerFile, ec);
    for (const auto& f : m.files) {
      if (cancel) cancel->check();
      const fs::path to = partial / f.path;
      if (file_matches(to, f, cancel)) {
        ++r.files_kept;
        continue;
      }
      ensure_parents(partial, f.path);
      r.bytes_copied += copy_file_paced(src / f.path, to, bucket, cancel);
      // Read back from the destination: what counts is what the share stored, not what was sent.
      if (!file_matches(to, f, cancel))
        throw Error("copy of " + f.path + " to " + show_path(partial) + " does not match the manifest",
                    "run 'sitekeeper copy' again; the file is copied anew");
      ++r.files_copied;
      logger()->info("copy {} to {}: {} copied ({})", id, show_path(dest_root), f.path, format_size(f.size));
    }
    // Nothing more and nothing less than the manifest, at the right sizes.
    auto problems = check_files(partial, m, {kManifestFile, kMarkerFile}, /*hash=*/false, cancel);
    if (!problems.empty())
      throw Error("copy of " + id + " at " + show_path(partial) + " does not match the manifest: " + problems.front(),
                  "remove what does not belong there, then run 'sitekeeper copy' again");
    for (const auto& f : m.files) fsync_path(partial / f.path);
    write_file_durable(partial / kManifestFile, manifest_text);
    write_file_durable(partial / kMarkerFile, marker_text);  // last: now the copy is complete
    fs::rename(partial, r.dest);
    fsync_path(dest.root());
    if (!dest.complete(id))
      throw Error("copy of " + id + " at " + show_path(r.dest) + " does not verify: " + dest.check(id, false, cancel).front());
  }
  r.deleted = destination_retention(dest, keep, id);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (r.already_there) {
    r.summary = "copy " + id + " at " + show_path(dest_root) + " already verified";
  } else {
    r.summary = "copied " + id + " to " + show_path(dest_root) + ": " + std::to_string(r.files_copied) + " file(s), " +
                format_size(r.bytes_copied);
    if (r.files_kept > 0) r.summary += ", " + std::to_string(r.files_kept) + " already there and verified";
    r.summary += "; verified";
  }
  if (!r.deleted.empty()) r.summary += "; retention removed " + std::to_string(r.deleted.size());
  return r;
}

CopyResult run_copy(const JobContext& ctx, const Config::Archive::Copy& dest, const std::string& wanted,
                    std::shared_ptr<PaceClock> clock) {
  Archive archive = open_archive(ctx.cfg);
  std::string id = wanted;
  if (id.empty()) {
    for (const auto& g : ctx.state.generations())
      if (g.status == "verified" && archive.complete(g.id)) {
        id = g.id;
        break;
      }
    if (id.empty()) throw Error("no verified backup to copy", "take one with 'sitekeeper backup'");
  }
  TokenBucket bucket(dest.rate, clock ? std::move(clock) : real_pace_clock());
  auto keys = std::make_shared<const ArchiveKeys>(ArchiveKeys::load(ctx.cfg.archive.key_file));
  logger()->info("copy {} to {} at {}", id, show_path(dest.path), format_rate(dest.rate));
  CopyResult r = copy_generation(archive, id, dest.path, keys, ctx.cfg.archive.keep, &bucket, ctx.cancel);
  if (!r.already_there && r.bytes_copied > 0 && r.seconds > 0)
    r.summary += " (" + format_rate(static_cast<std::uint64_t>(static_cast<double>(r.bytes_copied) / r.seconds)) +
                 " of " + format_rate(dest.rate) + ")";
  // Newest by generation, not by when it was copied: an older backup copied late does not hide a newer one.
  auto prev = newest_copy(ctx.state, dest.path);
  if (!prev || prev->id <= id || !Archive::valid_id(prev->id) || !fs::exists(dest.path / prev->id)) {
    nlohmann::json j{{"id", id}, {"created_at", archive.manifest(id).created_at}, {"copied_at", iso_utc(ctx.clock->now())}};
    ctx.state.put(state_key(dest.path), j.dump());
  }
  return r;
}

CopyRuns copy_to_every_destination(JobRecorder& jobs, const JobContext& ctx, const std::string& id) {
  CopyRuns out;
  for (const auto& dest : ctx.cfg.archive.copies) {
    auto rec = jobs.run_quietly("copy", dest.path.string(), [&] { return run_copy(ctx, dest, id).summary; });
    if (rec.outcome != "ok") out.ok = false;
    out.lines.push_back(rec.outcome == "ok" ? rec.message
                                            : "copy to " + show_path(dest.path) + " " + rec.outcome + ": " + rec.message);
  }
  return out;
}

std::optional<CopyRecord> newest_copy(StateStore& state, const fs::path& dest) {
  auto v = state.get(state_key(dest));
  if (!v) return std::nullopt;
  try {
    auto j = nlohmann::json::parse(*v);
    return CopyRecord{j.at("id").get<std::string>(), j.value("created_at", ""), j.value("copied_at", "")};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace sk::replicator
