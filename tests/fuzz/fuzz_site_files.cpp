// libFuzzer target: the site files index reader (files.json). Accepted entries never name a path that
// could leave the restore folder, and they survive a round trip.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.hpp"
#include "core/secrets.hpp"
#include "replicator/site_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto entries = sk::replicator::site_files_from_index(text, "fuzz");
    for (const auto& e : entries)
      if (!sk::secrets::path_problem(e.path).empty() || e.mode > 07777) std::abort();
    auto again = sk::replicator::site_files_from_index(sk::replicator::site_files_index(entries), "round trip");
    if (again.size() != entries.size()) std::abort();
  } catch (const sk::Error&) {
  }
  return 0;
}
