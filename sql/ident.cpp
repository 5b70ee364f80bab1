#include "sql/ident.hpp"

#include "app/core/error.hpp"

namespace sk::sql {

namespace {
bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (n < 0 || i + n >= s.size()) return false;
    for (int k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n + 1;
  }
  return true;
}
}  // namespace

void check_ident(std::string_view name, std::string_view what) {
  std::string w(what);
  if (name.empty()) throw Error(w + " name is empty");
  if (name.find('\0') != std::string_view::npos) throw Error(w + " name contains a NUL byte");
  if (name.size() > kMaxIdentifier)
    throw Error(w + " name is longer than 63 bytes", "PostgreSQL would silently truncate it");
  if (!valid_utf8(name)) throw Error(w + " name is not valid UTF-8");
}

std::string quote_ident(std::string_view name) {
  check_ident(name, "identifier");
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string quote_literal(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) throw Error("literal contains a NUL byte");
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string staging_name(const std::string& live) { return live + "__sk_staging"; }
std::string retired_name(const std::string& live) { return live + "__sk_retired"; }

}  // namespace sk::sql
