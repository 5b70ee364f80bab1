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
  // kCreateRole / kAlterRole: each option keyword (upper case) with its byte range inside `text`.
  struct Word {
    std::string word;
    size_t begin, end;
  };
  std::vector<Word> option_words;
  // kMembership: the roles granted (or revoked) and the members, unquoted, as PostgreSQL folds them.
  bool revoke = false;
  std::vector<std::string> granted, members;
};

// Parses the whole script. Throws sk::Error("permission script line N: ...") for the first statement
// that is not a permission statement, or for text that cannot be tokenized safely (dollar quotes,
// E'' strings, unterminated quotes or comments, a missing final semicolon).
std::vector<PermStatement> parse_permission_script(std::string_view text);

// Returns `st.text` with its database name replaced by the quoted `db`.
// REQUIRES: st.kind == kDatabaseGrant.
std::string retarget_database(const PermStatement& st, const std::string& db);

// Predefined roles that reach the host or other sessions (run programs, read or write server files,
// signal backends, write every table): no reader on a replica may hold one, directly or through
// another role.
const std::vector<std::string>& host_reaching_roles();
// Role attributes beyond reading: SUPERUSER, CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS.
const std::vector<std::string>& elevated_attributes();

// The role statements of a script as they may be replayed on a read-only server (a replica, a trial
// restore). A replica exists for the readers, so:
//   - a reader's CREATE/ALTER ROLE carrying an elevated attribute, and a membership that makes a
//     reader a member of a host-reaching role (directly, or through a role the script makes a member
//     of one), are refused: sk::Error naming the line, before anything is replayed;
//   - every other role is kept (objects are owned by it and grants name it) but replayed NOLOGIN and
//     without elevated attributes, and its memberships in host-reaching roles are left out: on a
//     replica only readers log in.
// Returns kCreateRole, kAlterRole and kMembership statements only, in script order; `notes` gets one
// line per statement changed or left out. Pure.
std::vector<PermStatement> restrict_for_replica(const std::vector<PermStatement>& stmts,
                                                const std::vector<std::string>& readers,
                                                std::vector<std::string>* notes = nullptr);

}  // namespace sk::sql
