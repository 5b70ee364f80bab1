#pragma once
// The secrets container: files (absolute path, mode, bytes) encrypted under a passphrase, in a small
// versioned format (docs/design.md, "The secrets container"). It knows nothing of sitekeeper's archive;
// replicator/ puts it into generations.
//
//   "SKSECR1\n"              8 bytes, magic and format version
//   kdf                      1 byte: 1 = scrypt
//   cipher                   1 byte: 1 = AES-256-GCM
//   log2(N), r, p            1 byte, 4 bytes, 4 bytes (big-endian): the scrypt cost
//   salt                     16 random bytes
//   nonce                    12 random bytes
//   ciphertext               the sealed entries (pack() below)
//   tag                      16 bytes, GCM's; the 47 header bytes above are its additional data
//
// Plaintext never touches the disk here: everything is in memory, and the derived key is wiped after use.
// Thread-safety: free functions without shared state.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace sk::secrets {

inline constexpr std::size_t kMinPassphrase = 8;
inline constexpr std::size_t kHeaderSize = 47;
inline constexpr std::size_t kTagSize = 16;

struct Entry {
  std::string path;         // absolute, normal: no "." or ".." component, no empty one
  std::uint32_t mode = 0;   // permission bits of the original file (restored files are 0600 whatever it was)
  std::string data;
};

// scrypt's cost. The defaults are what seal() writes; open() accepts any cost within bounds that keep a
// tampered header from making it allocate gigabytes (at most 2^20 for N, 256 MiB of memory).
struct KdfParams {
  int log2_n = 15;
  std::uint32_t r = 8;
  std::uint32_t p = 1;
};

// A container that cannot be opened: wrong passphrase, damaged or changed file, or hostile entries.
// Its message names no secret.
class SecretsError : public Error {
 public:
  using Error::Error;
};

// Why `passphrase` cannot be used ("" when it can): shorter than kMinPassphrase. Never quotes it.
std::string passphrase_problem(std::string_view passphrase);
// The passphrase a file holds: its text less one trailing newline ("\n" or "\r\n").
std::string passphrase_from_file_text(std::string text);
// Why `path` cannot be an entry's path ("" when it can): not absolute, a "." / ".." / empty component,
// a NUL or control character, or "/" itself.
std::string path_problem(std::string_view path);

// The container of `entries` under `passphrase`, with a fresh random salt and nonce.
// REQUIRES: passphrase_problem(passphrase) and every path_problem are "" (throws sk::Error otherwise),
// no path twice.
std::string seal(const std::vector<Entry>& entries, std::string_view passphrase, const KdfParams& kdf = {});
// The entries of a container. Throws SecretsError for a wrong passphrase or any changed byte (the GCM tag
// fails: the two cannot be told apart), a truncated or foreign file, or entries that would escape the
// folder they are restored into. Nothing is returned unless the whole container verified.
std::vector<Entry> open(std::string_view container, std::string_view passphrase);

// The two layers, for tests: the entry list as bytes, and the encryption of any bytes.
std::string pack(const std::vector<Entry>& entries);
// Throws SecretsError for malformed bytes or a bad path.
std::vector<Entry> unpack(std::string_view bytes);
std::string encrypt(std::string_view plaintext, std::string_view passphrase, const KdfParams& kdf = {});
std::string decrypt(std::string_view container, std::string_view passphrase);

}  // namespace sk::secrets
