// libFuzzer target: the TOML config loader. Any input either loads or throws ConfigError/sk::Error;
// nothing else may escape, crash or leak, and a rejected file changes nothing on disk.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/config.hpp"
#include "core/error.hpp"

namespace {
std::optional<std::string> no_env(const std::string&) { return std::nullopt; }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("sk-fuzz-config-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  const auto file = dir / "sitekeeper.toml";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::replace);
  try {
    sk::load_config(file, &no_env);
  } catch (const sk::Error&) {
  }
  return 0;
}
