// libFuzzer target: the TZif reader (binary zoneinfo files) and the POSIX TZ rules they end with.
#include <chrono>
#include <cstdint>
#include <string_view>

#include "core/error.hpp"
#include "schedules/timezone.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    auto z = sk::sched::TimeZone::from_tzif("fuzz", bytes);
    using namespace std::chrono;
    for (auto t : {sys_seconds{}, sys_seconds{seconds(1'800'000'000)}, sys_seconds{seconds(-2'000'000'000)}}) {
      z->offset_at(t);
      z->to_utc(z->to_local(t));
    }
  } catch (const sk::Error&) {
  }
  return 0;
}
