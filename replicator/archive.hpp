#pragma once
// The archive: one folder per generation, named by its UTC start time (20261122T020000Z). A generation
// is complete only when its COMPLETE marker exists, names the generation and the SHA-256 of its
// manifest, and carries a valid HMAC under one of the archive keys (archive_keys.hpp). The marker is
// written last and fsync'd, so a killed backup never looks complete, and one forged or copied without
// the key never does either. Everything in the archive is private to its owner: folders 0700, files
// 0600.
//
//   <root>/<id>/snapshot/        engine snapshot of the site database (pg_dump -Fd output)
//   <root>/<id>/permissions.sql  captured permission script (roles, and the site database's grants)
//   <root>/<id>/profile.json     captured server profile (settings, and the site database's extensions)
//   <root>/<id>/databases/<db>/  the same three for each further database of [site] databases
//                                (<db> percent-encoded: see database_prefix)
//   <root>/<id>/physical/        with [archive] kinds "physical": the active's base backup (pg_basebackup
//                                tar format: base.tar, pg_wal.tar, backup_manifest)
//   <root>/<id>/secrets.enc      the [archive.secrets] files, encrypted (archive_secrets.hpp); backups only, when set
//   <root>/<id>/manifest.json    size and SHA-256 of every file above
//   <root>/<id>/COMPLETE         {"format", "id", "manifest_sha256", "completed_at", "key_id", "mac"}
//   <root>/captures/<id>/...     the same layout for stand-alone captures (no snapshot)
//   <root>/wal/                  with [archive] wal_stream: the active's WAL as pg_receivewal writes it
//                                (segments, <segment>.partial for the one being written, timeline
//                                .history files); outside every generation, trimmed by retention
//
// Thread-safety: methods are safe from several threads; mutations from several processes are serialized
// by lock() (an flock on <root>/.sitekeeper.lock).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "replicator/archive_keys.hpp"
#include "replicator/manifest.hpp"
#include "sql/engine.hpp"

namespace sk::replicator {

inline constexpr const char* kSnapshotDir = "snapshot";
inline constexpr const char* kPermissionsFile = "permissions.sql";
inline constexpr const char* kProfileFile = "profile.json";
inline constexpr const char* kPhysicalDir = "physical";  // [archive] kinds "physical": the base backup
inline constexpr const char* kManifestFile = "manifest.json";
inline constexpr const char* kMarkerFile = "COMPLETE";

inline constexpr const char* kWalDir = "wal";  // [archive] wal_stream

// <archive path>/wal: where the WAL stream writes and recovery reads archived WAL.
fs::path wal_archive_dir(const Config& cfg);

// Where the snapshot, permission script and profile of `db` sit in a generation of `databases` (the
// manifest's list, or [site] databases while a backup writes it): "" for the first, the layout of a
// one-database site, else "databases/<db>/" with every byte outside [A-Za-z0-9_-] written as %XX, so
// that no database name ("..", "a/b") can reach outside its folder. Throws sk::Error when `databases`
// does not hold `db`.
std::string database_prefix(const std::vector<std::string>& databases, const std::string& db);

// Checks the physical base backup of generation `id` (under `dir`) with the engine's own tool, unpacking
// it below a scratch folder beside the state store that is removed afterwards. Throws sk::Error.
void verify_physical(sql::Engine& engine, const Config& cfg, const std::string& id, const fs::path& dir,
                     const CancelToken* cancel);

class ArchiveLock {
 public:
  ~ArchiveLock();
  ArchiveLock(int fd) : fd_(fd) {}
  ArchiveLock(const ArchiveLock&) = delete;
  ArchiveLock& operator=(const ArchiveLock&) = delete;

 private:
  int fd_;
};

class Archive {
 public:
  // Creates the root folder (0700) when missing. Throws sk::Error when it cannot. `keys` checks and
  // makes the markers' MACs; null means no key is available (`why_no_keys` says why): then no
  // generation is complete and seal() throws.
  Archive(fs::path root, std::shared_ptr<const ArchiveKeys> keys, std::string why_no_keys = {});

  const fs::path& root() const { return root_; }
  static bool valid_id(std::string_view id);

  // Waits for the archive lock. Throws sk::Error when it cannot be opened.
  std::unique_ptr<ArchiveLock> lock() const;

  // Creates a new empty generation folder and returns its id.
  std::string create(Clock::time_point now) const;
  // REQUIRES: valid_id(id). Throws sk::Error otherwise (hostile ids such as "../x" never reach the disk).
  fs::path path(const std::string& id) const;

  std::vector<std::string> list() const;  // every generation folder, oldest first
  // Marker present and matching the manifest. Never throws for a damaged generation: returns false.
  bool complete(const std::string& id) const;
  std::optional<std::string> newest_complete() const;
  // Throws sk::Error naming the file when the manifest is missing or damaged.
  Manifest manifest(const std::string& id) const;

  // Makes every file 0600 and folder 0700, hashes every file, writes the manifest, then the marker with
  // its MAC, fsyncing each and the folder. Throws sk::Error (the generation stays incomplete).
  Manifest seal(const std::string& id, Manifest meta, const CancelToken* cancel) const;
  // Problems found in the generation (marker and its MAC, manifest, each file); empty means it is intact.
  // `hash` false checks the marker, manifest and sizes only (cheap). `only` limits hashing to files
  // whose path starts with it ("" = all).
  std::vector<std::string> check(const std::string& id, bool hash, const CancelToken* cancel,
                                 const std::string& only = "") const;

  // The COMPLETE marker for generation `id` with this manifest text, its MAC made with the current key
  // of `keys`. Pure; seal() writes it.
  static std::string marker_text(const std::string& id, const std::string& manifest_text,
                                 const std::string& completed_at, const ArchiveKeys& keys);

  // Removes a generation folder. Refuses (sk::Error) anything that is not a direct child folder of the
  // root with a valid id, including symlinks: retention must never delete outside the archive.
  void remove(const std::string& id) const;

 private:
  // Why the marker of `id` does not make it complete; "" when it does.
  std::string marker_problem(const std::string& id) const;

  fs::path root_;  // canonical
  std::shared_ptr<const ArchiveKeys> keys_;
  std::string why_no_keys_;
};

// Waits for an exclusive flock on `file` (created 0600 when missing), held until the result is
// destroyed; it serializes processes on this machine. Throws sk::Error naming `what` when it cannot.
std::unique_ptr<ArchiveLock> lock_file(const fs::path& file, const std::string& what);

// The archive of a config (`captures` false) or its captures folder, with the keys of [archive]
// key_file. `for_writing` (backup, capture) creates the key file when it is missing; a reader whose key
// file is missing or unreadable gets an archive in which nothing is complete, and check() says why.
Archive open_archive(const Config& cfg, bool captures = false, bool for_writing = false);

// Which generations retention deletes: all but the newest `keep` complete ones, never `protect`
// (the newest verified), and every incomplete one older than the newest complete (a killed backup's
// leftovers; callers hold the lock, so nothing is in progress). Pure.
std::vector<std::string> retention_victims(const std::vector<std::string>& ids_oldest_first,
                                           const std::vector<bool>& complete, int keep,
                                           const std::optional<std::string>& protect);

}  // namespace sk::replicator
