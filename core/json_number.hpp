#pragma once
// Whole numbers read from JSON that sitekeeper may not have written itself (an archive's manifest and
// site files index): nlohmann's get<integer>() of a float or of a value out of range is undefined
// behaviour, so the type is checked first.
#include <cstdint>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace sk {

// Throws sk::Error naming `what` unless `v` is a whole number from 0 to 2^64-1.
inline std::uint64_t json_unsigned(const nlohmann::json& v, const std::string& what) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
  throw Error(what + " is not a whole number of at least 0");
}

// Throws sk::Error naming `what` unless `v` is a whole number that fits in 64 signed bits.
inline std::int64_t json_signed(const nlohmann::json& v, const std::string& what) {
  if (v.is_number_unsigned()) {
    if (v.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      throw Error(what + " is out of range");
    return static_cast<std::int64_t>(v.get<std::uint64_t>());
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  throw Error(what + " is not a whole number");
}

}  // namespace sk
