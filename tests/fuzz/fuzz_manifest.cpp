// libFuzzer target: the manifest reader. Accepted manifests never name a path that leaves the
// generation folder, and they survive a round trip.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.hpp"
#include "replicator/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto m = sk::replicator::Manifest::from_json(text, "fuzz");
    for (const auto& f : m.files)
      if (f.path.empty() || f.path[0] == '/' || f.path.find("..") != std::string::npos) std::abort();
    auto again = sk::replicator::Manifest::from_json(m.to_json(), "round trip");
    if (again.files.size() != m.files.size()) std::abort();
  } catch (const sk::Error&) {
  }
  return 0;
}
