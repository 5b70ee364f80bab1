#pragma once
// Opening PostgreSQL sessions over either transport (native libpq or ODBC through psqlODBC) and
// reading rows in a transport-neutral way: every query sitekeeper runs returns text columns, because
// psqlODBC and libpq disagree on how booleans and OIDs arrive.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"

namespace soci {
class session;
}

namespace sk::sql::pg {

using Row = std::vector<std::optional<std::string>>;

// libpq connection URI for `db` (every value percent-encoded); includes the password when
// `with_password` (only for in-process sessions: tools get it through PGPASSWORD).
std::string conninfo(const ServerConfig& s, const std::string& db, std::chrono::milliseconds timeout,
                     bool with_password);
// ODBC connection string for psqlODBC.
std::string odbc_string(const ServerConfig& s, const std::string& db);

// Connects to `db` on the server. Throws sk::Error "cannot connect to server NAME (host:port): ..."
// with the driver's message (passwords redacted).
// The server must complete a TCP handshake within `timeout` (reach_within) before libpq connects.
// `probe`: the session is meant to be kept for repeated probes, so a dead peer must fail a query within
// `timeout` (tcp_user_timeout and keepalives on the native transport).
// Completes a TCP handshake with host:port within `timeout` (a Unix socket path is skipped), so that
// a server that does not answer at all is known to be unreachable after `timeout`, not libpq's 2 s
// minimum. Throws sk::Error saying which.
void reach_within(const std::string& host, int port, std::chrono::milliseconds timeout);

std::unique_ptr<soci::session> connect(const ServerConfig& s, const std::string& db,
                                       std::chrono::milliseconds timeout, bool probe = false);

// Runs a statement. Throws sk::Error with the server's message prefixed by `what`.
void exec(soci::session& db, const std::string& sql, const std::string& what);
std::vector<Row> query(soci::session& db, const std::string& sql, const std::string& what);
// The first column of the first row, or nullopt when there is no row or it is NULL.
std::optional<std::string> query_value(soci::session& db, const std::string& sql, const std::string& what);

// A transaction through the driver's own API: psqlODBC in autocommit mode does not keep a BEGIN sent
// as text, so SET LOCAL and multi-statement atomicity would silently not hold over ODBC.
// The destructor rolls back unless commit() succeeded.
class Transaction {
 public:
  Transaction(soci::session& db, const std::string& what);
  ~Transaction();
  void commit();
  void rollback();

 private:
  soci::session& db_;
  std::string what_;
  bool open_ = true;
};

// Runs `sql` and returns the error text, or nullopt when it succeeded (for probes expected to fail).
std::optional<std::string> try_exec(soci::session& db, const std::string& sql);

}  // namespace sk::sql::pg
