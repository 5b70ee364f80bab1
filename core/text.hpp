#pragma once
// Small text helpers shared by every layer.
#include <string>
#include <vector>

namespace sk {

// The items joined by `sep`: "CM_CEN, CM_REP". Empty for no items.
inline std::string join_list(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

}  // namespace sk
