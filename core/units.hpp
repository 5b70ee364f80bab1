#pragma once
// Durations ("500ms", "5s", "5m", "2h", "5d", "1h30m") and sizes ("16MB", "512kB", "1GB", "4096").
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sk {

using Millis = std::chrono::milliseconds;

// The whole text must match, or the result is nullopt; neither throws. A number is digits with an
// optional fraction: no sign, exponent, whitespace or bare dot.
//
// A duration is one or more number+unit parts (ms, s, m or min, h, d, w), largest unit first, each
// unit once: "1h30m". At most 10^15 ms.
std::optional<Millis> parse_duration(std::string_view text);
// Sizes use powers of 1024 (kB, MB, GB, TB; B or no unit for whole bytes), with at most one space
// before the unit ("16 MB"). At most 2^63 - 1 bytes.
std::optional<std::uint64_t> parse_size(std::string_view text);
// A byte rate: a size followed by "/s" ("10MB/s", "512kB/s", "4096/s"), in bytes per second. Zero
// parses (the caller says why it is refused).
std::optional<std::uint64_t> parse_rate(std::string_view text);

std::string format_duration(Millis d);  // "2h 5m", "3.2s", "120ms"
std::string format_size(std::uint64_t bytes);  // "16.0 MB"
std::string format_rate(std::uint64_t bytes_per_second);  // "10.0 MB/s"

}  // namespace sk
