#pragma once
// SHA-256 through OpenSSL, for manifests and checksums of captured scripts.
#include <filesystem>
#include <string>
#include <string_view>

namespace sk {

class CancelToken;

std::string sha256_hex(std::string_view data);
// Streams the file. Throws sk::Error naming the file when it cannot be read.
std::string sha256_file(const std::filesystem::path& file, const CancelToken* cancel = nullptr);

}  // namespace sk
