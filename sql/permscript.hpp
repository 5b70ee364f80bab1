#pragma once
// The permission script is SQL an operator can read, but sitekeeper replays only permission statements
// from it: anything else (a DROP, a function call, a second statement hidden in a literal) is rejected
// before any statement runs. This file is the gatekeeper; it is pure and has no database dependency.
#include <string>
#include <string_view>
#include <vector>

namespace sk::sql {

struct PermStatement {
  enum class Kind {
    kCreateRole,         // CREATE ROLE r [WITH] options
    kAlterRole,          // ALTER ROLE r [WITH] options (attributes only, no SET/RENAME)
    kMembership,         // GRANT r TO m [WITH ADMIN OPTION] / REVOKE r FROM m
    kDatabaseGrant,      // GRANT/REVOKE ... ON DATABASE d ...
    kObjectGrant,        // GRANT/REVOKE ... ON TABLE/SEQUENCE/SCHEMA/FUNCTION/ALL ... IN SCHEMA
    kDefaultPrivileges,  // ALTER DEFAULT PRIVILEGES ...
  };
  Kind kind;
  std::string text;     // the statement as written, without the trailing semicolon
  int line = 0;         // 1-based line where it starts
  std::string role;     // kCreateRole / kAlterRole: the role name (unquoted)
  std::string options;  // kCreateRole / kAlterRole: the option text after the name
  // kDatabaseGrant: byte range of the database name inside `text`, so replay can aim it elsewhere.
  size_t db_begin = 0, db_end = 0;
};

// Parses the whole script. Throws sk::Error("permission script line N: ...") for the first statement
// that is not a permission statement, or for text that cannot be tokenized safely (dollar quotes,
// E'' strings, unterminated quotes or comments, a missing final semicolon).
std::vector<PermStatement> parse_permission_script(std::string_view text);

// Returns `st.text` with its database name replaced by the quoted `db`.
// REQUIRES: st.kind == kDatabaseGrant.
std::string retarget_database(const PermStatement& st, const std::string& db);

}  // namespace sk::sql
