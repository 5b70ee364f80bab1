#pragma once
// Identifier and literal quoting for PostgreSQL text built by sitekeeper. Site databases have mixed-case
// names (CM_CEN), so every identifier is always quoted; names that cannot be quoted safely are rejected.
#include <string>
#include <string_view>

namespace sk::sql {

// PostgreSQL's identifier limit (NAMEDATALEN - 1).
inline constexpr size_t kMaxIdentifier = 63;

// Returns "name" with embedded double quotes doubled.
// Throws sk::Error for an empty name, a NUL byte, invalid UTF-8 or more than 63 bytes.
std::string quote_ident(std::string_view name);
// Returns 'text' with embedded single quotes doubled (standard_conforming_strings is on by default
// since 9.1; sitekeeper sets it on every session). Throws sk::Error for a NUL byte.
std::string quote_literal(std::string_view text);
// Throws sk::Error (naming `what`) when quote_ident would.
void check_ident(std::string_view name, std::string_view what);

// Names of the temporary copies a refresh makes beside the live site database.
std::string staging_name(const std::string& live);
std::string retired_name(const std::string& live);

}  // namespace sk::sql
