#pragma once
// A generation's manifest: what was captured, and the size and SHA-256 of every file in it.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace sk {
class CancelToken;
}

namespace sk::replicator {

namespace fs = std::filesystem;

struct ManifestFile {
  std::string path;  // relative to the generation folder, '/'-separated
  std::uint64_t size = 0;
  std::string sha256;
};

struct Manifest {
  std::string id;
  std::string kind;  // "backup" or "capture"
  std::string site;
  std::string database;                // the first of `databases`
  std::vector<std::string> databases;  // every database the generation holds, as [site] listed them
  std::string server;
  std::string engine;
  std::string created_at;  // ISO 8601 UTC, when the snapshot was taken
  std::vector<ManifestFile> files;

  bool holds(const std::string& db) const;
  std::string to_json() const;
  // Throws sk::Error naming `source` when the text is not a manifest.
  static Manifest from_json(const std::string& text, const std::string& source);
};

// Lists every regular file under `dir` (recursively, sorted) except `skip` names at the top level,
// hashing each one. Throws sk::Error for anything that is not a regular file or folder (a symlink in a
// generation is refused: it could point outside the archive).
std::vector<ManifestFile> scan_files(const fs::path& dir, const std::vector<std::string>& skip,
                                     const CancelToken* cancel);

// Checks `dir` against `m`: every listed file present with its size and hash, and no unlisted file.
// Returns the problems found, each naming a file; empty means it matches. `hash` false checks sizes only.
std::vector<std::string> check_files(const fs::path& dir, const Manifest& m, const std::vector<std::string>& skip,
                                     bool hash, const CancelToken* cancel);

}  // namespace sk::replicator
