#include "sql/ident.hpp"

#include "core/error.hpp"

namespace sk::sql {

namespace {
// Strict UTF-8 (RFC 3629): no overlong forms (C0 80 is a disguised NUL), no surrogates, nothing past
// U+10FFFF. The first continuation byte's range depends on the lead byte.
bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int n = -1;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80) n = 0;
    else if (c >= 0xC2 && c <= 0xDF) n = 1;
    else if (c == 0xE0) n = 2, lo = 0xA0;
    else if (c == 0xED) n = 2, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF) n = 2;
    else if (c == 0xF0) n = 3, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) n = 3;
    else if (c == 0xF4) n = 3, hi = 0x8F;
    if (n < 0 || i + n >= s.size()) return false;
    for (int k = 1; k <= n; ++k) {
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (d < lo || d > hi) : (d & 0xC0) != 0x80) return false;
    }
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
