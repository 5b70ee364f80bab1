#pragma once
// Off-site copies ([[archive.copy]]): each verified generation copied to a destination folder (a mounted
// share) at a byte rate that leaves the link usable.
//
//   <dest>/<id>.partial/...   a copy in progress: files copied one by one, each fsync'd and read back
//   <dest>/<id>/...           a finished copy: every file verified against the manifest, then the manifest
//                             and the COMPLETE marker written last, then the folder renamed into place
//
// A copy resumes: a file already in <id>.partial whose size and SHA-256 match the manifest is kept, so an
// interrupted copy costs only what it had not finished. The destination is an archive of its own (the
// same marker MACs, the same `keep`); retention there never touches anything but generation folders
// directly under it, and never follows a symlink.
//
// A failed copy never fails the backup it follows: it is a job run of its own ("copy", target the
// destination), so it alerts by itself.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/state/jobs.hpp"
#include "replicator/archive.hpp"
#include "replicator/context.hpp"

namespace sk::replicator {

// The time seam of the rate limiter, so unit tests pace a copy without waiting.
// Thread-safety: used by one copy at a time.
class PaceClock {
 public:
  virtual ~PaceClock() = default;
  virtual std::chrono::steady_clock::time_point now() const = 0;
  virtual void sleep_for(std::chrono::nanoseconds d) = 0;
};
std::shared_ptr<PaceClock> real_pace_clock();

// A token bucket: `rate` bytes per second on average, never more than `burst` bytes ahead of that.
// It starts full, so over any span t at most rate*t + burst bytes pass.
class TokenBucket {
 public:
  // REQUIRES: rate > 0. `burst` 0 picks an eighth of a second's worth, at least 4 kB, at most 1 MB.
  TokenBucket(std::uint64_t rate, std::shared_ptr<PaceClock> clock, std::uint64_t burst = 0);
  std::uint64_t burst() const { return burst_; }
  // Waits until `n` bytes may pass. REQUIRES: n <= burst(). Throws sk::Cancelled when `cancel` fires.
  void take(std::uint64_t n, const CancelToken* cancel = nullptr);

 private:
  std::uint64_t rate_;
  std::uint64_t burst_;
  std::shared_ptr<PaceClock> clock_;
  double tokens_;
  std::chrono::steady_clock::time_point last_;
};

struct CopyResult {
  std::string id;
  fs::path dest;                  // <dest>/<id>
  std::size_t files_copied = 0;   // sent over the link this time
  std::size_t files_kept = 0;     // already there from an interrupted copy, verified
  std::uint64_t bytes_copied = 0;
  std::uint64_t bytes_total = 0;  // of the whole generation
  double seconds = 0;             // the copy itself, verification included
  bool already_there = false;     // <dest>/<id> was complete and verified: nothing copied
  std::vector<std::string> deleted;  // generations retention removed at the destination
  std::string summary;
};

// Copies complete generation `id` of `source` into the destination folder `dest`, paced by `bucket`
// (null: as fast as the disks go), then applies retention there (`keep`, never the copy just made).
// `keys` check the markers at the destination (the archive's own keys).
// Throws sk::Error when the destination folder is missing (an unmounted share), when a file cannot be
// written (disk full), or when a copied file does not match the manifest; what was verified stays in
// <id>.partial for the next attempt. Never writes outside <dest>.
CopyResult copy_generation(const Archive& source, const std::string& id, const fs::path& dest,
                           std::shared_ptr<const ArchiveKeys> keys, int keep, TokenBucket* bucket,
                           const CancelToken* cancel);

// The `copy` job for one destination: generation `id` (empty: the newest verified), paced at the
// destination's rate; records the newest copy in the state store (newest_copy). Throws sk::Error.
CopyResult run_copy(const JobContext& ctx, const Config::Archive::Copy& dest, const std::string& id,
                    std::shared_ptr<PaceClock> clock = nullptr);

// One `copy` job run per destination through `jobs` (after a verified backup, or a `copy` schedule),
// of generation `id` ("" the newest verified). Never throws: a failed copy is recorded and alerted, the
// backup stays good. One line per destination for the summary; `ok` false when any failed.
struct CopyRuns {
  std::vector<std::string> lines;
  bool ok = true;
};
CopyRuns copy_to_every_destination(JobRecorder& jobs, const JobContext& ctx, const std::string& id);

struct CopyRecord {
  std::string id;          // the generation
  std::string created_at;  // when its snapshot was taken (ISO 8601 UTC)
  std::string copied_at;
};
// The newest verified copy at `dest`, as the last successful copy job recorded it.
std::optional<CopyRecord> newest_copy(StateStore& state, const fs::path& dest);

}  // namespace sk::replicator
