#pragma once
// Durations ("500ms", "5s", "5m", "2h", "5d", "1h30m") and sizes ("16MB", "512kB", "1GB", "4096").
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sk {

using Millis = std::chrono::milliseconds;

// Returns nullopt when `text` is not a duration; never throws.
std::optional<Millis> parse_duration(std::string_view text);
// Sizes use powers of 1024 (kB, MB, GB, TB; B or no unit for bytes). Returns nullopt on bad input.
std::optional<std::uint64_t> parse_size(std::string_view text);

std::string format_duration(Millis d);  // "2h 5m", "3.2s", "120ms"
std::string format_size(std::uint64_t bytes);  // "16.0 MB"

}  // namespace sk
