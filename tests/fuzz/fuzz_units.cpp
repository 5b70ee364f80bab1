// libFuzzer target: durations and sizes. They never throw; an accepted value must format and parse back.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/units.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto d = sk::parse_duration(text)) {
    if (d->count() < 0) std::abort();
    sk::format_duration(*d);
  }
  if (auto s = sk::parse_size(text)) sk::format_size(*s);
  return 0;
}
