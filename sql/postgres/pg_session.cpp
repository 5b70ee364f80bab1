#include "sql/postgres/pg_session.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

#include <soci/soci.h>
#include <soci/odbc/soci-odbc.h>
#include <soci/postgresql/soci-postgresql.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "sql/postgres/pg_sql.hpp"

namespace sk::sql::pg {

namespace {
// Every value percent-encoded in a URI: SOCI's PostgreSQL backend re-splits a keyword/value string on
// spaces (it looks for its own "singlerow" option), which breaks quoted values such as database names
// with spaces. A URI has no spaces to split.
std::string uri_value(const std::string& v) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}
// psqlODBC honours {braces} only for PWD; other values go in plain and must not carry separators.
std::string odbc_plain(const std::string& key, const std::string& v) {
  if (v.find_first_of(";{}=") != std::string::npos || v.empty() || v.front() == ' ' || v.back() == ' ')
    throw Error(key + " value '" + v + "' cannot be passed to the ODBC driver",
                "use transport = \"native\" for names with ; { } = or surrounding spaces");
  return v;
}
std::string odbc_value(const std::string& v) {
  std::string out = "{";
  for (char c : v) {
    out += c;
    if (c == '}') out += '}';
  }
  return out + "}";
}
std::string first_line(const std::string& s) {
  std::string t = s;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  return t;
}
}  // namespace

std::string conninfo(const ServerConfig& s, const std::string& db, std::chrono::milliseconds timeout,
                     bool with_password) {
  long secs = std::max<long>(2, static_cast<long>((timeout.count() + 999) / 1000));
  std::string c = "postgresql://?host=" + uri_value(s.host) + "&port=" + std::to_string(s.port) +
                  "&dbname=" + uri_value(db) + "&user=" + uri_value(s.user) +
                  "&connect_timeout=" + std::to_string(secs) + "&application_name=sitekeeper";
  if (with_password && !s.password.empty()) c += "&password=" + uri_value(s.password);
  return c;
}

std::string odbc_string(const ServerConfig& s, const std::string& db) {
  std::string c = "DRIVER={" + odbc_plain("odbc_driver", s.odbc_driver) + "};SERVER=" + odbc_plain("host", s.host) +
                  ";PORT=" + std::to_string(s.port) + ";DATABASE=" + odbc_plain("database", db) +
                  ";UID=" + odbc_plain("user", s.user) + ";BoolsAsChar=0;";
  if (!s.password.empty()) c += "PWD=" + odbc_value(s.password) + ";";
  return c;
}

void reach_within(const std::string& host, int port, std::chrono::milliseconds timeout) {
  if (host.empty() || host.front() == '/') return;  // a Unix socket: nothing on the network to wait for
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    throw Error("cannot resolve " + host + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(found, &::freeaddrinfo);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string why = "no address";
  for (addrinfo* a = found; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, left.count())));
      if (rc == 0) {
        ::close(fd);
        throw Error("no answer from " + host + ":" + std::to_string(port) + " within " + std::to_string(timeout.count()) +
                    " ms");
      }
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      rc = err == 0 ? 0 : -1;
      errno = err;
    }
    const int saved = errno;
    ::close(fd);
    if (rc == 0) return;
    why = std::strerror(saved);
  }
  throw Error("cannot reach " + host + ":" + std::to_string(port) + ": " + why);
}

std::unique_ptr<soci::session> connect(const ServerConfig& s, const std::string& db,
                                       std::chrono::milliseconds timeout, bool probe) {
  try {
    // libpq rounds connect_timeout up to 2 s and a silent host answers nothing: the TCP handshake is
    // done here first, within `timeout`, so no caller waits longer on a dead server.
    reach_within(s.host, s.port, timeout);
    std::unique_ptr<soci::session> session;
    if (s.transport == "odbc") {
      session = std::make_unique<soci::session>(soci::odbc, odbc_string(s, db));
    } else {
      std::string c = conninfo(s, db, timeout, true);
      if (probe)
        c += "&tcp_user_timeout=" + std::to_string(timeout.count()) + "&keepalives=1&keepalives_idle=1" +
             "&keepalives_interval=1&keepalives_count=" + std::to_string(std::max<long long>(1, timeout.count() / 1000));
      session = std::make_unique<soci::session>(soci::postgresql, c);
    }
    *session << q::kStandardStrings;
    *session << q::kQuietNotices;
    return session;
  } catch (const std::exception& e) {
    throw Error("cannot connect to server " + s.name + " (" + s.host + ":" + std::to_string(s.port) +
                    ", database " + db + ", " + s.transport + "): " + first_line(log::redact(e.what())),
                "check that the server is running and that host, port, user and password are right");
  }
}

void exec(soci::session& db, const std::string& sql, const std::string& what) {
  try {
    db << sql;
  } catch (const std::exception& e) {
    throw Error(what + ": " + first_line(log::redact(e.what())));
  }
}

namespace {
std::optional<std::string> cell(const soci::row& r, std::size_t i) {
  if (r.get_indicator(i) == soci::i_null) return std::nullopt;
  switch (r.get_properties(i).get_data_type()) {
    case soci::dt_string: return r.get<std::string>(i);
    case soci::dt_integer: return std::to_string(r.get<int>(i));
    case soci::dt_long_long: return std::to_string(r.get<long long>(i));
    case soci::dt_unsigned_long_long: return std::to_string(r.get<unsigned long long>(i));
    case soci::dt_double: return std::to_string(r.get<double>(i));
    default: throw Error("unexpected column type in a sitekeeper query");
  }
}
}  // namespace

std::vector<Row> query(soci::session& db, const std::string& sql, const std::string& what) {
  std::vector<Row> out;
  try {
    soci::rowset<soci::row> rs = db.prepare << sql;
    for (const auto& r : rs) {
      Row row;
      for (std::size_t i = 0; i < r.size(); ++i) row.push_back(cell(r, i));
      out.push_back(std::move(row));
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(what + ": " + first_line(log::redact(e.what())));
  }
  return out;
}

std::optional<std::string> query_value(soci::session& db, const std::string& sql, const std::string& what) {
  auto rows = query(db, sql, what);
  if (rows.empty() || rows[0].empty()) return std::nullopt;
  return rows[0][0];
}

Transaction::Transaction(soci::session& db, const std::string& what) : db_(db), what_(what) {
  try {
    db_.begin();
  } catch (const std::exception& e) {
    throw Error(what_ + ": cannot begin a transaction: " + first_line(e.what()));
  }
}

Transaction::~Transaction() {
  if (open_) {
    try {
      db_.rollback();
    } catch (...) {
    }
  }
}

void Transaction::commit() {
  try {
    db_.commit();
    open_ = false;
  } catch (const std::exception& e) {
    throw Error(what_ + ": commit failed: " + first_line(log::redact(e.what())));
  }
}

void Transaction::rollback() {
  if (!open_) return;
  open_ = false;
  try {
    db_.rollback();
  } catch (const std::exception& e) {
    throw Error(what_ + ": rollback failed: " + first_line(e.what()));
  }
}

std::optional<std::string> try_exec(soci::session& db, const std::string& sql) {
  try {
    db << sql;
    return std::nullopt;
  } catch (const std::exception& e) {
    return first_line(e.what());
  }
}

}  // namespace sk::sql::pg
