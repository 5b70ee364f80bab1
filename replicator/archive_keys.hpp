#pragma once
// The keys that make the archive tamper-evident. Every generation's marker carries an HMAC-SHA-256 over
// the generation id, the manifest's SHA-256 and the marker's own fields, made with a key that the
// manager keeps outside the archive. Someone who can write the archive but not read this file cannot
// make a forged generation look complete.
//
// The key file (mode 0600, refused when others can read it) is text:
//   sitekeeper-archive-keys 1
//   <id> <64 hex digits>        one line per key, oldest first; the last one signs new generations
// Rotation appends a key, so generations sealed with an older key still verify.
// Thread-safety: an ArchiveKeys is an immutable value; share it by const reference or shared_ptr.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sk::replicator {

namespace fs = std::filesystem;

class ArchiveKeys {
 public:
  // Reads the key file. Throws sk::Error naming the file when it is missing, readable by group or others,
  // or malformed.
  static ArchiveKeys load(const fs::path& file);
  // As load(), but creates the file (mode 0600, folders as needed) with one new key when it is missing.
  static ArchiveKeys load_or_create(const fs::path& file);
  // Appends a new key to the file (created when missing) and returns the new key's id. Durable: the old
  // file stays whole until the new one is in place.
  static std::string rotate(const fs::path& file);

  const std::string& current_id() const { return keys_.back().id; }
  std::size_t size() const { return keys_.size(); }
  // HMAC-SHA-256 of `data` with the current key, as hex.
  std::string sign(std::string_view data) const;
  // True when `mac` is the HMAC of `data` under the key `id` (false for an unknown id). Constant time.
  bool verify(const std::string& id, std::string_view data, const std::string& mac) const;
  bool has(const std::string& id) const;

 private:
  struct Key {
    std::string id;
    std::string secret;  // raw bytes
  };
  static std::vector<Key> parse(const std::string& text, const fs::path& file);
  static void write(const fs::path& file, const std::vector<Key>& keys);
  std::vector<Key> keys_;
};

}  // namespace sk::replicator
