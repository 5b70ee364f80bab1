#include "replicator/archive_keys.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <sstream>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/hash.hpp"

namespace sk::replicator {

namespace {
constexpr const char* kHeader = "sitekeeper-archive-keys 1";
constexpr std::size_t kKeyBytes = 32;

std::string new_id() { return "k" + to_hex(random_bytes(4)); }
}  // namespace

std::vector<ArchiveKeys::Key> ArchiveKeys::parse(const std::string& text, const fs::path& file) {
  std::istringstream in(text);
  std::string line;
  const std::string where = "archive key file " + show_path(file);
  if (!std::getline(in, line) || line != kHeader) throw Error(where + ": not a sitekeeper key file");
  std::vector<Key> keys;
  for (int n = 2; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string id, hex, extra;
    fields >> id >> hex;
    auto secret = from_hex(hex);
    if (id.empty() || (fields >> extra) || !secret || secret->size() != kKeyBytes)
      throw Error(where + " line " + std::to_string(n) + ": expected an id and 64 hex digits");
    keys.push_back({id, *secret});
  }
  if (keys.empty()) throw Error(where + ": holds no key");
  return keys;
}

void ArchiveKeys::write(const fs::path& file, const std::vector<Key>& keys) {
  std::string text = std::string(kHeader) + "\n";
  for (const auto& k : keys) text += k.id + " " + to_hex(k.secret) + "\n";
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) throw Error("cannot create the folder of the archive key file " + show_path(file) + ": " + ec.message());
  write_file_durable(file, text);
}

ArchiveKeys ArchiveKeys::load(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec))
    throw Error("no archive key file " + show_path(file),
                "the key that proves generations intact is missing; restore it from the secrets backup, or "
                "take a new backup (it creates a new key, and older generations can no longer be verified)");
  if (readable_by_others(file))
    throw Error("archive key file " + show_path(file) + " is readable by group or others",
                "chmod 600 " + show_path(file));
  ArchiveKeys k;
  k.keys_ = parse(read_file(file), file);
  return k;
}

ArchiveKeys ArchiveKeys::load_or_create(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) write(file, {{new_id(), random_bytes(kKeyBytes)}});
  return load(file);
}

std::string ArchiveKeys::rotate(const fs::path& file) {
  std::vector<Key> keys;
  std::error_code ec;
  if (fs::exists(file, ec)) keys = load(file).keys_;
  std::string id;
  do id = new_id();
  while (std::any_of(keys.begin(), keys.end(), [&](const Key& k) { return k.id == id; }));
  keys.push_back({id, random_bytes(kKeyBytes)});
  write(file, keys);
  return id;
}

std::string ArchiveKeys::sign(std::string_view data) const { return hmac_sha256_hex(keys_.back().secret, data); }

bool ArchiveKeys::has(const std::string& id) const {
  return std::any_of(keys_.begin(), keys_.end(), [&](const Key& k) { return k.id == id; });
}

bool ArchiveKeys::verify(const std::string& id, std::string_view data, const std::string& mac) const {
  for (const auto& k : keys_)
    if (k.id == id) return equal_constant_time(hmac_sha256_hex(k.secret, data), mac);
  return false;
}

}  // namespace sk::replicator
