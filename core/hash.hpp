#pragma once
// SHA-256 and HMAC-SHA-256 through OpenSSL, for manifests, archive MACs and tokens.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace sk {

class CancelToken;

std::string sha256_hex(std::string_view data);
// HMAC-SHA-256 of `data` under `key`, as lowercase hex.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
// Compares in time that depends on the length only, so a MAC or token check leaks nothing by timing.
bool equal_constant_time(std::string_view a, std::string_view b);
// `n` bytes from OpenSSL's CSPRNG. Throws sk::Error when it cannot deliver.
std::string random_bytes(std::size_t n);
// Lowercase hex of arbitrary bytes, and back (nullopt when `hex` is not an even run of hex digits).
std::string to_hex(std::string_view bytes);
std::optional<std::string> from_hex(std::string_view hex);
// Streams the file. Throws sk::Error naming the file when it cannot be read.
std::string sha256_file(const std::filesystem::path& file, const CancelToken* cancel = nullptr);

}  // namespace sk
