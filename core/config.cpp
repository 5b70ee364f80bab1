#include "core/config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <string_view>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <toml++/toml.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/secrets.hpp"
#include "core/text.hpp"

namespace sk {

namespace {

// PostgreSQL truncates identifiers past NAMEDATALEN - 1 bytes, which would silently merge names.
constexpr std::size_t kMaxName = 63;
// The site database gets suffixes for staging and retired copies; they must still fit in kMaxName.
constexpr std::size_t kMaxDatabase = 50;
// SQL Server's sysname.
constexpr std::size_t kMaxSqlServerName = 128;
// A DNS name is at most 253 bytes; a socket folder for libpq fits too.
constexpr std::size_t kMaxHost = 255;
// Bounds other one-line values (driver names, cron expressions, zones) only against absurd input.
constexpr std::size_t kMaxText = 1024;

constexpr const char* kSecretsPassphraseEnv = "SITEKEEPER_SECRETS_PASSPHRASE";

const std::vector<std::string> kRefreshKinds = {"logical", "physical"};
const std::vector<std::string> kJobs = {"backup", "refresh", "capture", "verify", "check", "copy"};
const std::vector<std::string> kEngines = {"postgresql", "sqlite", "sqlserver"};
const std::vector<std::string> kTransports = {"native", "odbc"};
const std::vector<std::string> kModes = {"manual", "automatic"};

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7F; }
bool has_control(std::string_view s) { return std::any_of(s.begin(), s.end(), is_control); }

// Quotes a value for a message; control bytes are escaped so a NUL or newline cannot garble it.
std::string quote(std::string_view s) {
  constexpr std::size_t kMaxShown = 80;
  std::string out = "\"";
  std::size_t n = 0;
  for (unsigned char c : s) {
    // Stop on a character boundary so a long value never ends in half a UTF-8 sequence.
    if (n >= kMaxShown && (c & 0xC0) != 0x80) {
      out += "...";
      break;
    }
    ++n;
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (is_control(c)) {
      static const char* hex = "0123456789abcdef";
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// Shows a key the way TOML would need it written: bare when possible, quoted otherwise.
std::string key_segment(std::string_view k) {
  bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-';
  });
  return bare ? std::string(k) : quote(k);
}

std::string type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

// What the operator wrote, for "got ..."; `secret` values are described by type only.
std::string describe(const toml::node& n, bool secret = false) {
  if (!secret) {
    if (auto s = n.as_string()) return quote(s->get());
    if (auto i = n.as_integer()) return std::to_string(i->get());
    if (auto b = n.as_boolean()) return b->get() ? "true" : "false";
  }
  return type_name(n.type());
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                  std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// Returns why `name` cannot be used as an identifier (database, role, server, user, host...), or ""
// when it can. Control characters are refused because names end up in log lines, SQL and files.
std::string name_problem(std::string_view name, std::size_t max, const std::string& noun = "a name") {
  if (name.empty()) return "expected " + noun + ", got an empty one";
  if (name.find('\0') != std::string_view::npos) return "expected " + noun + " without NUL bytes";
  if (has_control(name))
    return "expected " + noun + " without control characters, got " + quote(name);
  if (name.size() > max)
    return "expected " + noun + " of at most " + std::to_string(max) + " bytes, got " +
           std::to_string(name.size()) + " bytes";
  return {};
}

// Stats `p`, following links; a broken link is a problem rather than a missing path.
std::string status_problem(const fs::path& p, fs::file_status& st) {
  std::error_code ec;
  st = fs::status(p, ec);
  if (st.type() == fs::file_type::not_found) {
    bool link = fs::is_symlink(fs::symlink_status(p, ec));
    return link ? show_path(p) + " is a broken symbolic link" : "";
  }
  if (ec) return show_path(p) + " cannot be checked: " + ec.message();
  return {};
}

std::string access_problem(const fs::path& p, int mode) {
  if (::access(p.c_str(), mode) == 0) return {};
  return show_path(p) + " is not writable: " + std::strerror(errno);
}

// Why `dir` can neither be used nor created as a folder to write into, or "" when it can. It only
// looks, walking up to the nearest existing folder: a refused file must leave nothing on disk.
std::string folder_problem(const fs::path& dir) {
  for (fs::path p = dir;; p = p.parent_path()) {
    fs::file_status st;
    if (auto why = status_problem(p, st); !why.empty()) return why;
    if (st.type() == fs::file_type::not_found) {
      if (p == p.parent_path()) return "no folder of " + show_path(dir) + " exists";
      continue;
    }
    if (!fs::is_directory(st)) return show_path(p) + " is not a folder";
    return access_problem(p, W_OK | X_OK);
  }
}

// The same for a file that is opened for writing, and created when missing.
std::string file_problem(const fs::path& file) {
  if (!file.has_filename()) return show_path(file) + " names a folder";
  if (auto why = folder_problem(file.parent_path()); !why.empty()) return why;
  fs::file_status st;
  if (auto why = status_problem(file, st); !why.empty()) return why;
  if (st.type() == fs::file_type::not_found) return {};
  if (fs::is_directory(st)) return show_path(file) + " is a folder";
  return access_problem(file, R_OK | W_OK);
}

// Why `sql` cannot be a validate query, or "" when it can. Tabs and newlines are ordinary in SQL.
std::string query_problem(std::string_view sql) {
  if (std::all_of(sql.begin(), sql.end(), [](unsigned char c) { return std::isspace(c); }))
    return "expected an SQL query, got an empty one";
  if (sql.find('\0') != std::string_view::npos) return "expected an SQL query without NUL bytes";
  if (std::any_of(sql.begin(), sql.end(), [](unsigned char c) {
        return is_control(c) && c != '\t' && c != '\n' && c != '\r';
      }))
    return "expected an SQL query without control characters other than tab and newline, got " +
           quote(sql);
  return {};
}

SourcePos pos_of(const toml::source_region& r) {
  return {static_cast<int>(r.begin.line), static_cast<int>(r.begin.column)};
}

std::optional<std::string> getenv_lookup(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

std::string password_env_name(std::string_view server) {
  std::string out = "SITEKEEPER_PASSWORD_";
  for (unsigned char c : server) out += std::isalnum(c) ? static_cast<char>(std::toupper(c)) : '_';
  return out;
}

// Why `s` is not an address the HTTP server can bind, "IPv4:port" or "[IPv6]:port" with a port from 1
// to 65535, or "" when it is. Host names are refused: the server binds addresses, and a name's
// addresses may differ between this check and the bind.
std::string listen_problem(std::string_view s) {
  const std::string expected = "expected host:port such as \"127.0.0.1:8008\", got " + quote(s);
  auto colon = s.rfind(':');
  if (colon == std::string_view::npos) return expected;
  std::string_view port = s.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }))
    return expected;
  long p = std::stol(std::string(port));
  if (p < 1 || p > 65535) return expected;
  std::string host(s.substr(0, colon));
  unsigned char addr[sizeof(in6_addr)];
  bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
  if (bracketed ? inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), addr) == 1
                : inet_pton(AF_INET, host.c_str(), addr) == 1)
    return {};
  // An unbracketed IPv6 address would make the port ambiguous.
  if (!bracketed && host.find(':') != std::string::npos) return expected;
  return "expected an IP address and port such as \"127.0.0.1:8008\" or \"[::1]:8008\", got " + quote(s);
}

// An etcd client URL cut into its parts.
struct Endpoint {
  std::string scheme, host;  // host as written; an IPv6 address keeps its brackets
  std::string port;
};

bool is_ascii_alnum(unsigned char c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

// A DNS name: dot-separated labels of letters, digits and '-', none starting or ending with '-'.
bool is_host_name(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  for (std::size_t begin = 0;;) {
    std::size_t end = std::min(h.find('.', begin), h.size());
    std::string_view label = h.substr(begin, end - begin);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
        !std::all_of(label.begin(), label.end(), [](unsigned char c) { return is_ascii_alnum(c) || c == '-'; }))
      return false;
    if (end == h.size()) return true;
    begin = end + 1;
  }
}

// Why `url` is not an etcd client URL, "http://host:port" or "https://host:port" and nothing more, or
// "" when it is (then `out` holds its parts). The host is a name, an IPv4 address or a bracketed IPv6
// address; a path would be silently dropped or misread by the client, and credentials belong in user
// and password_file, not in a URL that is shown in status and logs.
std::string endpoint_problem(std::string_view url, Endpoint& out) {
  const std::string got = ", got " + quote(url);
  std::string_view rest;
  if (url.starts_with("http://")) {
    out.scheme = "http";
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    out.scheme = "https";
    rest = url.substr(8);
  } else {
    return "expected an http:// or https:// URL such as \"http://10.0.0.1:2379\"" + got;
  }
  if (rest.find_first_of("/?#@") != std::string_view::npos)
    return "expected scheme://host:port without a path, query or user name" + got;
  const auto colon = rest.rfind(':');
  const auto bracket = rest.rfind(']');
  if (colon == std::string_view::npos || (bracket != std::string_view::npos && colon < bracket))
    return "expected a port after the host, such as \"http://10.0.0.1:2379\"" + got;
  const std::string_view port = rest.substr(colon + 1), host = rest.substr(0, colon);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](unsigned char c) { return c >= '0' && c <= '9'; }) ||
      std::stol(std::string(port)) < 1 || std::stol(std::string(port)) > 65535)
    return "expected a port from 1 to 65535 after the host" + got;
  unsigned char addr[sizeof(in6_addr)];
  bool ok;
  if (host.starts_with('[')) {
    ok = host.size() > 2 && host.back() == ']' &&
         inet_pton(AF_INET6, std::string(host.substr(1, host.size() - 2)).c_str(), addr) == 1;
  } else if (host.find(':') != std::string_view::npos) {
    return "expected an IPv6 address in brackets, such as \"http://[::1]:2379\"" + got;
  } else if (std::all_of(host.begin(), host.end(), [](unsigned char c) { return (c >= '0' && c <= '9') || c == '.'; })) {
    ok = inet_pton(AF_INET, std::string(host).c_str(), addr) == 1;  // "10.1" is no address, nor a name
  } else {
    ok = is_host_name(host);
  }
  if (!ok) return "expected a host name, an IPv4 address or an [IPv6] address before the port" + got;
  out.host = std::string(host);
  out.port = std::string(port);
  return {};
}

// A manager's name goes into etcd keys and the API's answers: a '/' would nest keys, a leading '.' or
// '-' reads like a path or an option.
std::string manager_name_problem(std::string_view n) {
  if (n.size() > kMaxName)
    return "expected a manager name of at most " + std::to_string(kMaxName) + " characters, got " +
           std::to_string(n.size());
  if (n.empty() || n.front() == '.' || n.front() == '-' ||
      !std::all_of(n.begin(), n.end(), [](unsigned char c) { return is_ascii_alnum(c) || c == '_' || c == '.' || c == '-'; }))
    return "expected a manager name of letters, digits, '_', '.' or '-', not starting with '.' or '-', got " + quote(n);
  return {};
}

// etcd keys are bytes, but a prefix is written in configs, logs and etcdctl command lines: plain text
// keeps it the same everywhere. The keys are the prefix, "/" and a name, so a trailing "/" would make
// "//" in every key.
std::string prefix_problem(std::string_view p) {
  if (!p.starts_with('/')) return "expected a key prefix starting with \"/\", such as \"/sitekeeper/CEN\", got " + quote(p);
  if (std::any_of(p.begin(), p.end(), [](unsigned char c) { return c <= ' ' || c >= 0x7F; }))
    return "expected a key prefix of printable ASCII without spaces, got " + quote(p);
  if (p.ends_with('/')) return "expected a key prefix without a trailing \"/\", got " + quote(p);
  if (p.find("//") != std::string_view::npos) return "expected a key prefix without \"//\", got " + quote(p);
  if (p.size() > kMaxText)
    return "expected a key prefix of at most " + std::to_string(kMaxText) + " bytes, got " + std::to_string(p.size());
  return {};
}

// The TLS check's OpenSSL objects, freed on every path. OpenSSL's own messages are left out of
// ours: they name nothing the operator can act on and could quote key material.
using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

Bio pem_bio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
}

X509Ptr pem_certificate(const std::string& pem) {
  Bio bio = pem_bio(pem);
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr, &X509_free);
  ERR_clear_error();
  return cert;
}

// Never asks for a passphrase: an encrypted key is refused rather than prompting on a terminal that a
// daemon does not have.
KeyPtr pem_private_key(const std::string& pem) {
  Bio bio = pem_bio(pem);
  auto no_passphrase = [](char*, int, int, void*) { return 0; };
  KeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr, &EVP_PKEY_free);
  ERR_clear_error();
  return key;
}

struct Problem {
  SourcePos at;
  std::string text;
};

// Collects every problem of one file, so the operator fixes them all in one pass.
class Reporter {
 public:
  explicit Reporter(std::string shown_file) : file_(std::move(shown_file)) {}

  void error(SourcePos at, const std::string& key, const std::string& what) {
    if (at.line <= 0) at = {1, 1};
    problems_.push_back({at, file_ + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) +
                                 ": " + key + ": " + what});
  }
  void hint(const std::string& h) {
    if (!contains(hints_, h)) hints_.push_back(h);
  }

  void throw_if_any() {
    if (problems_.empty()) return;
    std::stable_sort(problems_.begin(), problems_.end(), [](const Problem& a, const Problem& b) {
      return std::tie(a.at.line, a.at.column) < std::tie(b.at.line, b.at.column);
    });
    std::string msg;
    for (const auto& p : problems_) msg += (msg.empty() ? "" : "\n") + p.text;
    throw ConfigError(msg, join_list(hints_, "; "));
  }

 private:
  std::string file_;
  std::vector<Problem> problems_;
  std::vector<std::string> hints_;
};

// One TOML table being read. Every key the code asks for counts as known; finish() reports the
// rest as unknown, so the list of allowed keys can never drift from the keys actually read.
class Section {
 public:
  Section(Reporter& r, const toml::table* t, std::string path, SourcePos pos)
      : r_(r), t_(t), path_(std::move(path)), pos_(pos) {
    if (t_ && t_->source().begin.line > 0) pos_ = pos_of(t_->source());
  }

  std::string path(std::string_view key) const {
    return path_.empty() ? key_segment(key) : path_ + "." + key_segment(key);
  }
  SourcePos pos() const { return pos_; }
  const toml::table* raw() const { return t_; }
  Reporter& reporter() { return r_; }

  const toml::node* get(const std::string& key) {
    if (!contains(known_, key)) known_.push_back(key);
    return t_ ? t_->get(key) : nullptr;
  }

  void error(const toml::node& n, const std::string& key, const std::string& what) {
    r_.error(pos_of(n.source()), path(key), what);
  }

  void require(const std::string& key, const std::string& expected) {
    if (!get(key)) r_.error(pos_, path(key), "expected " + expected + ", but it is missing");
  }

  Section table(const std::string& key) {
    const toml::node* n = get(key);
    if (n && !n->is_table()) {
      error(*n, key, "expected a table, got " + describe(*n));
      n = nullptr;
    }
    return Section(r_, n ? n->as_table() : nullptr, path(key), pos_);
  }

  // The node when present and of type `type`; reports a wrong type.
  const toml::node* typed(const std::string& key, toml::node_type type, bool secret = false) {
    const toml::node* n = get(key);
    if (!n) return nullptr;
    if (n->type() != type) {
      error(*n, key, "expected " + type_name(type) + ", got " + describe(*n, secret));
      return nullptr;
    }
    return n;
  }

  bool string(const std::string& key, std::string& out, SourcePos* at = nullptr) {
    const toml::node* n = typed(key, toml::node_type::string);
    if (!n) return false;
    out = n->as_string()->get();
    if (at) *at = pos_of(n->source());
    return true;
  }

  bool boolean(const std::string& key, bool& out) {
    const toml::node* n = typed(key, toml::node_type::boolean);
    if (n) out = n->as_boolean()->get();
    return n != nullptr;
  }

  template <class T>
  bool integer(const std::string& key, std::int64_t lo, std::int64_t hi, T& out,
               const std::string& noun = "an integer") {
    const toml::node* n = typed(key, toml::node_type::integer);
    if (!n) return false;
    std::int64_t v = n->as_integer()->get();
    if (v < lo || v > hi) {
      std::string range = hi == std::numeric_limits<std::int64_t>::max() ||
                                  hi == std::numeric_limits<int>::max()
                              ? "of at least " + std::to_string(lo)
                              : "from " + std::to_string(lo) + " to " + std::to_string(hi);
      error(*n, key, "expected " + noun + " " + range + ", got " + std::to_string(v));
      return false;
    }
    out = static_cast<T>(v);
    return true;
  }

  bool one_of(const std::string& key, const std::vector<std::string>& allowed, std::string& out) {
    std::string v;
    if (!string(key, v)) return false;
    if (!contains(allowed, v)) {
      error(*get(key), key, "expected " + join_list(allowed, " or ") + ", got " + quote(v));
      return false;
    }
    out = v;
    return true;
  }

  bool duration(const std::string& key, Millis& out, bool positive) {
    const toml::node* n = get(key);
    if (!n) return false;
    auto d = n->is_string() ? parse_duration(n->as_string()->get()) : std::nullopt;
    if (!d) {
      error(*n, key, "expected a duration such as \"5s\", got " + describe(*n));
      return false;
    }
    if (positive && d->count() <= 0) {
      error(*n, key, "expected a duration above zero, got " + describe(*n));
      return false;
    }
    out = *d;
    return true;
  }

  // A size is a string with a unit ("16MB") or a plain count of bytes.
  bool size(const std::string& key, std::uint64_t& out) {
    const toml::node* n = get(key);
    if (!n) return false;
    std::optional<std::uint64_t> v;
    if (auto s = n->as_string()) v = parse_size(s->get());
    if (auto i = n->as_integer(); i && i->get() >= 0) v = static_cast<std::uint64_t>(i->get());
    if (!v) {
      error(*n, key, "expected a size such as \"16MB\", got " + describe(*n));
      return false;
    }
    out = *v;
    return true;
  }

  // An array of strings; each bad element is reported at its own position.
  bool strings(const std::string& key, std::vector<std::string>& out,
               std::vector<SourcePos>* positions = nullptr) {
    const toml::node* n = typed(key, toml::node_type::array);
    if (!n) return false;
    bool ok = true;
    std::vector<std::string> items;
    const auto& arr = *n->as_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const toml::node& el = *arr.get(i);
      if (!el.is_string()) {
        r_.error(pos_of(el.source()), path(key) + "[" + std::to_string(i) + "]",
                 "expected a string, got " + describe(el));
        ok = false;
        continue;
      }
      items.push_back(el.as_string()->get());
      if (positions) positions->push_back(pos_of(el.source()));
    }
    if (ok) out = std::move(items);
    return ok;
  }

  // An array of strings whose every element `problem(element, index)` accepts ("" when it does);
  // each refused one is reported at its own position.
  template <class Check>
  bool checked_strings(const std::string& key, std::vector<std::string>& out, Check problem) {
    std::vector<std::string> v;
    std::vector<SourcePos> where;
    if (!strings(key, v, &where)) return false;
    bool ok = true;
    for (std::size_t i = 0; i < v.size(); ++i) {
      std::string why = problem(v[i], i);
      if (why.empty()) continue;
      r_.error(where[i], path(key) + "[" + std::to_string(i) + "]", why);
      ok = false;
    }
    if (ok) out = std::move(v);
    return ok;
  }

  // A command run without a shell: at least the program, which must not be empty. The program is
  // a path; an argument is any text but empty (a forgotten value) or NUL (exec would cut it there).
  bool argv(const std::string& key, std::vector<std::string>& out) {
    std::vector<std::string> v;
    auto problem = [](const std::string& arg, std::size_t i) -> std::string {
      if (i == 0 && has_control(arg))
        return "expected a program path without control characters, got " + quote(arg);
      if (i == 0) return {};  // an empty program is reported for the whole array below
      if (arg.empty()) return "expected an argument, got an empty one";
      if (arg.find('\0') != std::string::npos) return "expected an argument without NUL bytes";
      return {};
    };
    if (!checked_strings(key, v, problem)) return false;
    if (v.empty() || v.front().empty()) {
      error(*get(key), key,
            "expected a command as an argv array such as [\"/usr/local/bin/tool\", \"arg\"], got " +
                std::string(v.empty() ? "an empty array" : "an empty program"));
      return false;
    }
    out = std::move(v);
    return true;
  }

  bool name(const std::string& key, std::size_t max, std::string& out,
            const std::string& noun = "a name", SourcePos* at = nullptr) {
    std::string v;
    if (!string(key, v, at)) return false;
    if (auto why = name_problem(v, max, noun); !why.empty()) {
      error(*get(key), key, why);
      return false;
    }
    out = std::move(v);
    return true;
  }

  // A path; relative ones are taken relative to `base` (the config file's folder).
  bool file_path(const std::string& key, const fs::path& base, fs::path& out) {
    std::string v;
    if (!string(key, v)) return false;
    if (v.empty() || v.find('\0') != std::string::npos) {
      error(*get(key), key, "expected a path, got " + quote(v));
      return false;
    }
    // A path goes into server settings and commands, where a newline would start a new setting.
    if (has_control(v)) {
      error(*get(key), key, "expected a path without control characters, got " + quote(v));
      return false;
    }
    fs::path p(v);
    out = base.empty() || p.is_absolute() ? p : (base / p).lexically_normal();
    return true;
  }

  void finish() {
    if (!t_) return;
    for (auto&& [k, v] : *t_) {
      std::string key(k.str());
      if (contains(known_, key)) continue;
      r_.error(pos_of(k.source()), path(key), unknown_key_text(key));
    }
  }

 private:
  std::string unknown_key_text(const std::string& key) const {
    std::string best;
    std::size_t best_d = 3;
    for (const auto& k : known_) {
      std::size_t d = edit_distance(key, k);
      if (d < best_d && d < k.size()) best = k, best_d = d;
    }
    if (!best.empty()) return "unknown key, did you mean " + quote(best) + "?";
    std::vector<std::string> sorted = known_;
    std::sort(sorted.begin(), sorted.end());
    return "unknown key, expected one of: " + join_list(sorted);
  }

  Reporter& r_;
  const toml::table* t_;
  std::string path_;
  SourcePos pos_;
  std::vector<std::string> known_;
};

class Loader {
 public:
  Loader(const fs::path& file, EnvLookup env)
      : file_(fs::absolute(file).lexically_normal()),
        dir_(file_.parent_path()),
        env_(env ? env : &getenv_lookup),
        r_(file_.string()) {}

  Config load() {
    toml::table root = parse();
    cfg_.file = file_;
    Section top(r_, &root, "", {1, 1});
    read_site(top.table("site"));
    read_state(top.table("state"));
    read_archive(top.table("archive"));
    read_servers(top.table("servers"));
    read_roles(top.table("roles"));
    read_replica(top.table("replica"));
    read_failover(top.table("failover"));
    read_schedules(top);
    read_http(top.table("http"));
    read_health(top.table("health"));
    read_alerts(top.table("alerts"));
    read_dcs(top.table("dcs"));  // after [site] and [http], whose values it needs
    top.finish();
    r_.throw_if_any();
    return std::move(cfg_);
  }

 private:
  toml::table parse() {
    std::string text;
    try {
      text = read_file(file_);
    } catch (const std::exception& e) {
      throw ConfigError(e.what());  // read_file names the file and the reason
    }
    try {
      return toml::parse(text, file_.string());
    } catch (const toml::parse_error& e) {
      std::string what(e.description());
      if (!what.empty()) what[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(what[0])));
      r_.error(pos_of(e.source()), "toml", "expected valid TOML, " + what);
      r_.throw_if_any();
      throw;  // unreachable: throw_if_any always throws here
    }
  }

  void read_site(Section s) {
    s.name("code", kMaxName, cfg_.site.code, "a site code");
    if (s.get("database") && s.get("databases")) {
      s.error(*s.get("databases"), "databases",
              "expected either database (one) or databases (a list), not both; put every name in databases");
    } else if (s.get("databases")) {
      // SQL Server compares names without case: two that differ only in case would be one database.
      std::set<std::string> seen;
      const bool read = s.checked_strings("databases", cfg_.site.databases, [&seen](const std::string& d, std::size_t) {
        if (auto why = name_problem(d, kMaxDatabase, "a database name"); !why.empty()) return why;
        std::string folded(d);
        for (auto& c : folded) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (!seen.insert(folded).second) return "expected each database once, got " + quote(d) + " again";
        return std::string();
      });
      if (read && cfg_.site.databases.empty())
        s.error(*s.get("databases"), "databases", "expected at least one database name, got an empty list");
    } else {
      s.require("database", "the site database name (or databases, a list)");
      std::string one;
      if (s.name("database", kMaxDatabase, one)) cfg_.site.databases = {one};
    }
    if (!cfg_.site.databases.empty()) cfg_.site.database = cfg_.site.databases.front();
    s.finish();
  }

  void read_state(Section s) {
    cfg_.state_path = (dir_ / "state/sitekeeper.db").lexically_normal();
    if (s.file_path("path", dir_, cfg_.state_path) || !s.get("path"))
      check_writable(s, "a file", file_problem(cfg_.state_path));
    s.finish();
  }

  void read_archive(Section s) {
    cfg_.archive.path = (dir_ / "archive").lexically_normal();
    if (s.file_path("path", dir_, cfg_.archive.path) || !s.get("path"))
      check_writable(s, "a folder", folder_problem(cfg_.archive.path));
    s.integer("keep", 1, std::numeric_limits<int>::max(), cfg_.archive.keep);
    s.duration("max_age", cfg_.archive.max_age, true);
    s.argv("after_backup", cfg_.archive.after_backup);
    // The keys that seal generations live with the manager, never in the archive: whoever can write the
    // archive must not be able to read them.
    cfg_.archive.key_file = (cfg_.state_path.parent_path() / "archive.keys").lexically_normal();
    s.file_path("key_file", dir_, cfg_.archive.key_file);
    const auto rel = cfg_.archive.key_file.lexically_relative(cfg_.archive.path);
    if (!rel.empty() && *rel.begin() != "..") {
      const std::string key = s.get("key_file") ? "key_file" : "path";
      const std::string what = "expected the archive key file outside the archive, but " +
                               quote(cfg_.archive.key_file.string()) + " is inside " +
                               quote(cfg_.archive.path.string());
      if (const toml::node* n = s.get(key)) s.error(*n, key, what);
      else r_.error(s.pos(), s.path(key), what);
    }
    {
      std::set<std::string> seen;
      const bool read = s.checked_strings("kinds", cfg_.archive.kinds, [&seen](const std::string& k, std::size_t) {
        if (k != "logical" && k != "physical") return "expected logical or physical, got " + quote(k);
        if (!seen.insert(k).second) return "expected each kind once, got " + quote(k) + " again";
        return std::string();
      });
      // Logical replicas and recover onto a server without data_dir restore the logical dumps.
      if (read && !seen.count("logical"))
        s.error(*s.get("kinds"), "kinds",
                "expected \"logical\" among the kinds: refresh and recover restore the logical dumps");
    }
    // WAL rolls a base backup forward; without base backups there is nothing to roll forward.
    if (s.boolean("wal_stream", cfg_.archive.wal_stream) && cfg_.archive.wal_stream &&
        std::find(cfg_.archive.kinds.begin(), cfg_.archive.kinds.end(), "physical") == cfg_.archive.kinds.end()) {
      s.error(*s.get("wal_stream"), "wal_stream",
              "expected kinds to include \"physical\" with wal_stream = true: WAL is replayed onto a base backup");
      r_.hint("set kinds = [\"logical\", \"physical\"] in [archive]");
    }
    read_site_files(s);
    read_secrets(s.table("secrets"));
    read_copies(s);
    s.finish();
  }

  // [[archive.copy]]: each destination a folder of its own, so that retention there never meets the
  // archive's own generations.
  void read_copies(Section& s) {
    const toml::node* n = s.typed("copy", toml::node_type::array);
    if (!n) return;
    const auto& arr = *n->as_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const toml::node& el = *arr.get(i);
      const std::string path = s.path("copy") + "[" + std::to_string(i) + "]";
      if (!el.is_table()) {
        r_.error(pos_of(el.source()), path, "expected a table ([[archive.copy]]), got " + describe(el));
        continue;
      }
      Section c(r_, el.as_table(), path, pos_of(el.source()));
      if (auto cp = read_copy(c)) cfg_.archive.copies.push_back(std::move(*cp));
      c.finish();
    }
  }

  std::optional<Config::Archive::Copy> read_copy(Section& c) {
    Config::Archive::Copy cp;
    c.require("path", "a destination folder such as \"/mnt/offsite/sitekeeper\"");
    c.require("rate", "a rate such as \"10MB/s\"");
    bool ok = c.file_path("path", {}, cp.path);
    if (ok) {
      cp.path = cp.path.lexically_normal();
      if (!cp.path.has_filename() && cp.path != cp.path.root_path()) cp.path = cp.path.parent_path();  // "/mnt/x/"
      auto inside = [](const fs::path& a, const fs::path& b) {  // a is b or below it
        const auto rel = a.lexically_relative(b);
        return !rel.empty() && *rel.begin() != "..";
      };
      std::string why;
      if (!cp.path.is_absolute()) why = "expected an absolute path, got " + quote(cp.path.string());
      else if (inside(cp.path, cfg_.archive.path))
        why = "expected a folder outside the archive, but " + quote(cp.path.string()) + " is inside " +
              quote(cfg_.archive.path.string());
      else if (inside(cfg_.archive.path, cp.path))
        why = "expected a folder that does not hold the archive, but " + quote(cfg_.archive.path.string()) +
              " is inside " + quote(cp.path.string());
      for (const auto& other : cfg_.archive.copies)
        if (why.empty() && other.path == cp.path) why = "expected each destination once, but " + quote(cp.path.string()) + " is listed before";
      if (!why.empty()) {
        c.error(*c.get("path"), "path", why);
        r_.hint("[[archive.copy]] path names a folder of its own on the off-site share, such as /mnt/offsite/sitekeeper");
        ok = false;
      }
    }
    if (const toml::node* r = c.get("rate")) {
      std::optional<std::uint64_t> v = r->is_string() ? parse_rate(r->as_string()->get()) : std::nullopt;
      if (!v) {
        c.error(*r, "rate", "expected a rate such as \"10MB/s\" or \"512kB/s\", got " + describe(*r));
        ok = false;
      } else if (*v == 0) {
        c.error(*r, "rate", "expected a rate above zero, got " + describe(*r));
        r_.hint("a copy at 0/s would never finish; give the share the bandwidth it may use, such as \"10MB/s\"");
        ok = false;
      } else {
        cp.rate = *v;
      }
    }
    if (!ok || cp.rate == 0) return std::nullopt;
    return cp;
  }

  // [archive] files: copied as they are into each generation, so one listed twice, one inside another
  // or one overlapping the archive (which would copy the archive into itself) is refused.
  void read_site_files(Section& s) {
    std::vector<std::string> files;
    std::vector<fs::path> seen;
    const fs::path archive = cfg_.archive.path;
    auto inside = [](const fs::path& p, const fs::path& dir) {
      const auto rel = p.lexically_relative(dir);
      return !rel.empty() && *rel.begin() != "..";
    };
    s.checked_strings("files", files, [&](const std::string& f, std::size_t) -> std::string {
      if (f == "/") return "expected a file or folder, not the root folder";
      if (auto why = secrets::path_problem(f); !why.empty()) return why + ", got " + quote(f);
      const fs::path p(f);
      if (inside(p, archive) || inside(archive, p))
        return "expected a path outside the archive " + quote(archive.string()) + ", but " + quote(f) +
               (inside(p, archive) ? " is inside it" : " holds it");
      for (const auto& q : seen)
        if (inside(p, q) || inside(q, p))
          return "expected each path once, but " + quote(f) +
                 (p == q ? " is listed before" : " overlaps " + quote(q.string()) + ", listed before");
      seen.push_back(p);
      return {};
    });
    cfg_.archive.files = std::move(seen);
  }

  // Key material for a site recovery, encrypted into every generation. The passphrase comes from a file
  // or the environment, never from the config text or argv: the config itself may be one of the files.
  void read_secrets(Section s) {
    auto& sec = cfg_.archive.secrets;
    std::vector<std::string> files;
    std::set<std::string> seen;
    s.checked_strings("files", files, [&seen](const std::string& f, std::size_t) -> std::string {
      if (auto why = secrets::path_problem(f); !why.empty()) return why + ", got " + quote(f);
      if (!seen.insert(f).second) return "expected each file once, but " + quote(f) + " is listed before";
      return {};
    });
    sec.files.assign(files.begin(), files.end());
    fs::path f;
    if (s.file_path("passphrase_file", dir_, f)) {
      passphrase_from_file(s, f);
    } else if (!s.get("passphrase_file")) {
      if (auto v = env_(kSecretsPassphraseEnv)) passphrase_from_env(s, *v);
    }
    if (!sec.files.empty() && !s.get("passphrase_file") && sec.passphrase_source.empty() &&
        !env_(kSecretsPassphraseEnv)) {
      s.error(*s.get("files"), "files",
              std::string("expected a passphrase for the secrets, but neither passphrase_file nor ") +
                  kSecretsPassphraseEnv + " is set");
      r_.hint("add passphrase_file = \"FILE\" (mode 0600) to [archive.secrets], or set " +
              std::string(kSecretsPassphraseEnv));
    }
    s.finish();
  }

  void passphrase_from_file(Section& s, const fs::path& f) {
    auto text = read_named_file(s, "passphrase_file", f, /*secret=*/true);
    if (!text) return;
    std::string pass = secrets::passphrase_from_file_text(std::move(*text));
    if (!secrets::passphrase_problem(pass).empty()) {
      s.error(*s.get("passphrase_file"), "passphrase_file",
              "expected a passphrase of at least " + std::to_string(secrets::kMinPassphrase) + " characters, but " +
                  show_path(f) + " holds a shorter one, too easy to guess for an archive that may be copied off-site");
      r_.hint("write a longer one with: (umask 077; openssl rand -base64 24 > " + show_path(f) + ")");
      return;
    }
    cfg_.archive.secrets.passphrase_file = f;
    cfg_.archive.secrets.passphrase = std::move(pass);
    cfg_.archive.secrets.passphrase_source = "file";
  }

  void passphrase_from_env(Section& s, std::string pass) {
    if (!secrets::passphrase_problem(pass).empty()) {
      r_.error(s.pos(), "archive.secrets",
               "expected a passphrase of at least " + std::to_string(secrets::kMinPassphrase) + " characters, but " +
                   kSecretsPassphraseEnv + " holds a shorter one, too easy to guess for an archive that may be " +
                   "copied off-site");
      r_.hint("set a longer " + std::string(kSecretsPassphraseEnv) + ", or unset it");
      return;
    }
    cfg_.archive.secrets.passphrase = std::move(pass);
    cfg_.archive.secrets.passphrase_source = "environment";
  }

  // Checked here, before any command creates its first file, so that a path that cannot be made is
  // refused with its line instead of failing halfway through a command.
  void check_writable(Section& s, const std::string& what, const std::string& why) {
    if (why.empty()) return;
    const toml::node* n = s.get("path");
    r_.error(n ? pos_of(n->source()) : s.pos(), s.path("path"),
             "expected " + what + " that sitekeeper can create or write, but " + why);
    r_.hint("missing folders are created, so the nearest existing one must be a folder that the "
            "user running sitekeeper can write into");
  }

  // [servers] is the one table whose keys are free names, so it has no unknown keys.
  void read_servers(Section s) {
    if (!s.raw()) return;
    for (auto&& [k, v] : *s.raw()) {
      std::string name(k.str());
      known_servers_.push_back(name);
      if (auto why = name_problem(name, kMaxName, "a server name"); !why.empty()) {
        r_.error(pos_of(k.source()), s.path(name), why);
        continue;
      }
      if (!v.is_table()) {
        r_.error(pos_of(v.source()), s.path(name), "expected a table, got " + describe(v));
        continue;
      }
      read_server(Section(r_, v.as_table(), s.path(name), pos_of(k.source())), name);
    }
  }

  void read_server(Section s, const std::string& name) {
    ServerConfig sv;
    sv.name = name;
    s.one_of("engine", kEngines, sv.engine);
    apply_engine_defaults(sv);
    if (s.one_of("transport", kTransports, sv.transport) && sv.engine == "sqlserver" &&
        sv.transport != "odbc")
      s.error(*s.get("transport"), "transport", "expected \"odbc\" for a sqlserver server, got " +
                                                    quote(sv.transport));
    s.name("host", kMaxHost, sv.host, "a host");
    s.integer("port", 1, 65535, sv.port, "a port");
    s.name("user", sv.engine == "sqlserver" ? kMaxSqlServerName : kMaxName, sv.user, "a user name");
    // Written into the ODBC connection string as is, where these characters would end the value.
    const std::string& d = sv.odbc_driver;
    if (s.name("odbc_driver", kMaxText, sv.odbc_driver, "an ODBC driver name") &&
        (d.find_first_of(";{}=") != std::string::npos || d.front() == ' ' || d.back() == ' '))
      s.error(*s.get("odbc_driver"), "odbc_driver",
              "expected an ODBC driver name without ; { } = or surrounding spaces, got " +
                  quote(sv.odbc_driver));
    s.file_path("data_dir", dir_, sv.data_dir);
    if (sv.engine == "sqlite") s.require("data_dir", "the database directory of a sqlite server");
    s.file_path("bin_dir", {}, sv.bin_dir);
    if (s.one_of("refresh", kRefreshKinds, sv.refresh) && sv.refresh == "physical") {
      if (sv.engine != "postgresql")
        s.error(*s.get("refresh"), "refresh", "expected \"logical\" for a " + sv.engine + " server, got \"physical\"");
      else if (sv.data_dir.empty())
        s.error(*s.get("refresh"), "refresh",
                "expected data_dir with refresh = \"physical\": sitekeeper replaces the replica's data directory");
      // Checked here, not at the first refresh: [archive] is read before the servers.
      else if (std::find(cfg_.archive.kinds.begin(), cfg_.archive.kinds.end(), "physical") == cfg_.archive.kinds.end()) {
        s.error(*s.get("refresh"), "refresh",
                "expected [archive] kinds to include \"physical\" with refresh = \"physical\": a physical refresh "
                "restores the generation's base backup");
        r_.hint("set kinds = [\"logical\", \"physical\"] in [archive]");
      }
    }
    read_password(s, sv);
    s.finish();
    cfg_.servers[name] = std::move(sv);
  }

  static void apply_engine_defaults(ServerConfig& sv) {
    if (sv.engine != "sqlserver") return;
    sv.transport = "odbc";
    sv.port = 1433;
    sv.odbc_driver = "ODBC Driver 18 for SQL Server";
  }

  void read_password(Section& s, ServerConfig& sv) {
    const toml::node* plain = s.typed("password", toml::node_type::string, /*secret=*/true);
    fs::path pw_file;
    bool has_file = s.file_path("password_file", dir_, pw_file);
    if (plain && has_file) {
      s.error(*s.get("password_file"), "password_file",
              "expected only one of password and password_file");
      return;
    }
    if (plain) return password_from_config(s, sv, *plain);
    if (has_file) return password_from_file(s, sv, pw_file);
    if (auto v = env_(password_env_name(sv.name))) {
      sv.password = *v;
      sv.password_source = "environment";
    }
  }

  void password_from_config(Section& s, ServerConfig& sv, const toml::node& n) {
    if (n.as_string()->get().empty()) {
      s.error(n, "password", "expected a password, got an empty one");
      r_.hint("leave password out for a server that needs none");
      return;
    }
    if (readable_by_others(file_)) {
      s.error(n, "password",
              "expected a config file that only its owner can read when it holds a password, but " +
                  show_path(file_) + " is readable by group or others");
      r_.hint("run chmod 600 " + show_path(file_) + ", or move the password into password_file");
      return;
    }
    sv.password = n.as_string()->get();
    sv.password_source = "config";
  }

  void password_from_file(Section& s, ServerConfig& sv, const fs::path& f) {
    auto pw = password_line(s, f);
    if (!pw) return;
    sv.password_file = f;
    sv.password = std::move(*pw);
    sv.password_source = "file";
  }

  // The password on the first line of `f`, which `s`'s password_file names, or nullopt once reported.
  // A file that others can read is refused, and the password never appears in a message.
  std::optional<std::string> password_line(Section& s, const fs::path& f) {
    auto text = read_named_file(s, "password_file", f, /*secret=*/true);
    if (!text) return std::nullopt;
    // Only the first line counts, so an editor's trailing newline never becomes part of it.
    auto eol = text->find('\n');
    if (eol != std::string::npos) text->resize(eol);
    if (!text->empty() && text->back() == '\r') text->pop_back();
    if (text->empty()) {
      s.error(*s.get("password_file"), "password_file",
              "expected a password on the first line of " + show_path(f) + ", got an empty line");
      return std::nullopt;
    }
    return text;
  }

  void read_roles(Section s) {
    s.require("active", "the name of the active server");
    std::map<std::string, std::string> taken;  // server -> the role key that holds it
    if (s.string("active", cfg_.roles.active)) check_role(s.path("active"), *s.get("active"), taken);
    if (s.string("standby", cfg_.roles.standby))
      check_role(s.path("standby"), *s.get("standby"), taken);
    s.strings("replicas", cfg_.roles.replicas);
    // Checked element by element, so one wrong type does not hide an undefined server.
    if (const toml::node* n = s.get("replicas"); n && n->is_array()) {
      const auto& arr = *n->as_array();
      for (std::size_t i = 0; i < arr.size(); ++i)
        if (arr.get(i)->is_string())
          check_role(s.path("replicas") + "[" + std::to_string(i) + "]", *arr.get(i), taken);
    }
    // A server for verify --deep trial restores: in no other role, so a trial never touches a server
    // that serves the site.
    if (s.string("trial", cfg_.roles.trial)) check_role(s.path("trial"), *s.get("trial"), taken);
    s.finish();
  }

  // A role names a defined server, of the active server's engine, not already in another role.
  void check_role(const std::string& path, const toml::node& n,
                  std::map<std::string, std::string>& taken) {
    const std::string& name = n.as_string()->get();
    SourcePos at = pos_of(n.source());
    auto it = cfg_.servers.find(name);
    if (it == cfg_.servers.end()) {
      // A server that is defined but failed validation was already reported.
      if (!contains(known_servers_, name))
        r_.error(at, path, "expected a server defined in [servers], got " + quote(name));
      return;
    }
    if (auto t = taken.find(name); t != taken.end()) {
      r_.error(at, path, "expected a server in only one role, but " + quote(name) + " is already " +
                             t->second);
      return;
    }
    bool first = taken.empty();
    taken[name] = path;
    auto active = cfg_.servers.find(cfg_.roles.active);
    if (!first && active != cfg_.servers.end() && active->second.engine != it->second.engine)
      r_.error(at, path, "expected a " + active->second.engine + " server like the active one, but " +
                             quote(name) + " is " + it->second.engine);
  }

  void read_replica(Section s) {
    s.checked_strings("readers", cfg_.replica.readers,
                      [](const std::string& r, std::size_t) { return name_problem(r, kMaxName); });
    s.integer("jobs", 1, 64, cfg_.replica.jobs);
    s.integer("parallel", 1, 64, cfg_.replica.parallel);
    s.duration("swap_timeout", cfg_.replica.swap_timeout, true);
    s.checked_strings("validate", cfg_.replica.validate, [](const std::string& q, std::size_t) {
      return query_problem(q);
    });
    s.finish();
  }

  void read_failover(Section s) {
    s.one_of("mode", kModes, cfg_.failover.mode);
    s.duration("probe_interval", cfg_.failover.probe_interval, true);
    s.duration("probe_timeout", cfg_.failover.probe_timeout, true);
    s.integer("failures", 1, std::numeric_limits<int>::max(), cfg_.failover.failures);
    s.size("max_lag", cfg_.failover.max_lag);
    s.integer("serial_headroom", 0, std::numeric_limits<std::int64_t>::max(),
              cfg_.failover.serial_headroom);
    s.argv("fence", cfg_.failover.fence);
    s.argv("alias", cfg_.failover.alias);
    s.boolean("synchronous", cfg_.failover.synchronous);
    s.finish();
  }

  void read_schedules(Section& top) {
    const toml::node* n = top.typed("schedule", toml::node_type::array);
    if (!n) return;
    const auto& arr = *n->as_array();
    std::vector<SourcePos> after_pos;
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const toml::node& el = *arr.get(i);
      std::string path = "schedule[" + std::to_string(i) + "]";
      if (!el.is_table()) {
        r_.error(pos_of(el.source()), path, "expected a table ([[schedule]]), got " + describe(el));
        continue;
      }
      SourcePos ap;
      if (auto sc = read_schedule(Section(r_, el.as_table(), path, pos_of(el.source())), ap)) {
        cfg_.schedules.push_back(std::move(*sc));
        after_pos.push_back(ap);
      }
    }
    check_after_chains(after_pos);
  }

  std::optional<ScheduleConfig> read_schedule(Section s, SourcePos& after_at) {
    ScheduleConfig sc;
    sc.pos = s.pos();
    s.require("job", "a job (" + join_list(kJobs, ", ") + ")");
    bool ok = s.one_of("job", kJobs, sc.job);
    if (ok && sc.job == "copy" && cfg_.archive.copies.empty()) {
      s.error(*s.get("job"), "job", "expected [[archive.copy]] destinations for job = \"copy\"");
      ok = false;
    }
    int triggers = count_triggers(s);
    if (triggers == 0)
      s.reporter().error(s.pos(), s.path("cron"), "expected one of cron, every or after");
    // A trigger that fails its own check leaves no trigger, which is not a schedule either.
    if (s.get("cron") && !s.name("cron", kMaxText, sc.cron, "a cron expression", &sc.cron_pos))
      ok = false;
    Millis every{0};
    if (s.duration("every", every, true)) sc.every = every;
    else if (s.get("every")) ok = false;
    if (s.one_of("after", kJobs, sc.after)) after_at = pos_of(s.get("after")->source());
    else if (s.get("after")) ok = false;
    if (const toml::node* d = s.get("delay"); d && !s.get("after"))
      s.error(*d, "delay", "expected only together with after");
    else
      s.duration("delay", sc.delay, false);
    // Only the name is checked here; schedules/ loads the zone, whatever the trigger.
    s.name("timezone", kMaxText, sc.timezone, "a time zone", &sc.timezone_pos);
    s.boolean("catch_up", sc.catch_up);
    s.integer("retries", 0, 1000, sc.retries);
    s.duration("retry_delay", sc.retry_delay, false);
    if (const toml::node* d = s.get("deep"); d && ok && sc.job != "verify")
      s.error(*d, "deep", "expected only with job = \"verify\"");
    else
      s.boolean("deep", sc.deep);
    s.finish();
    if (!ok || triggers != 1) return std::nullopt;
    return sc;
  }

  // Reports every trigger after the first one written, so the message points at the extra one.
  static int count_triggers(Section& s) {
    std::vector<std::pair<const toml::node*, std::string>> found;
    for (const char* key : {"cron", "every", "after"})
      if (const toml::node* t = s.get(key)) found.emplace_back(t, key);
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
      return a.first->source().begin < b.first->source().begin;
    });
    for (std::size_t i = 1; i < found.size(); ++i)
      s.error(*found[i].first, found[i].second, "expected only one of cron, every or after");
    return static_cast<int>(found.size());
  }

  // `after` must name a job that itself runs, eventually, from a cron or an interval; a cycle of
  // `after`s would never fire and a job without a schedule never finishes to trigger anything.
  void check_after_chains(const std::vector<SourcePos>& after_pos) {
    std::set<std::string> scheduled, rooted;
    for (const auto& sc : cfg_.schedules) {
      scheduled.insert(sc.job);
      if (sc.after.empty()) rooted.insert(sc.job);
    }
    for (bool grew = true; grew;) {
      grew = false;
      for (const auto& sc : cfg_.schedules)
        if (!sc.after.empty() && rooted.count(sc.after) && rooted.insert(sc.job).second) grew = true;
    }
    for (std::size_t i = 0; i < cfg_.schedules.size(); ++i) {
      const auto& sc = cfg_.schedules[i];
      if (sc.after.empty()) continue;
      std::string path = "schedule[" + std::to_string(i) + "].after";
      if (!scheduled.count(sc.after))
        r_.error(after_pos[i], path, "expected a job that has its own [[schedule]], got " +
                                         quote(sc.after));
      else if (!rooted.count(sc.after))
        r_.error(after_pos[i], path, "expected a job that runs from cron or every, but " +
                                         quote(sc.after) + " only runs after a cycle of jobs");
    }
  }

  void read_http(Section s) {
    std::string listen;
    if (s.string("listen", listen)) {
      if (auto why = listen.empty() ? "" : listen_problem(listen); !why.empty()) {
        s.error(*s.get("listen"), "listen", why);
        r_.hint("http.listen takes an IP address: 127.0.0.1:PORT for this machine only, 0.0.0.0:PORT for all");
        listen_refused_ = true;
      } else {
        cfg_.http.listen = listen;
      }
    }
    s.integer("max_connections", 1, 10000, cfg_.http.max_connections);
    read_token(s);
    read_tls(s);
    s.finish();
  }

  // The text of the file that `key` names, or nullopt once reported. A secret's file must be private
  // to its owner, like a password file.
  std::optional<std::string> read_named_file(Section& s, const std::string& key, const fs::path& f, bool secret) {
    const toml::node& n = *s.get(key);
    try {
      if (secret && readable_by_others(f)) {
        s.error(n, key, "expected a file that only its owner can read, but " + show_path(f) +
                            " is readable by group or others");
        r_.hint("run chmod 600 " + show_path(f));
        return std::nullopt;
      }
      return read_file(f);
    } catch (const std::exception&) {
      s.error(n, key, "expected a readable file, cannot read " + show_path(f));
      return std::nullopt;
    }
  }

  void read_token(Section& s) {
    // Shorter tokens can be guessed: nothing limits how often a client may try.
    constexpr std::size_t kMinToken = 16;
    fs::path f;
    if (!s.file_path("token_file", dir_, f)) return;
    auto token = read_named_file(s, "token_file", f, /*secret=*/true);
    if (!token) return;
    // An editor's trailing newline is not part of the token.
    if (token->ends_with('\n')) token->pop_back();
    if (token->ends_with('\r')) token->pop_back();
    const toml::node& n = *s.get("token_file");
    if (token->empty()) {
      s.error(n, "token_file", "expected a token, but " + show_path(f) + " is empty");
    } else if (std::any_of(token->begin(), token->end(), [](unsigned char c) { return c <= ' ' || c == 0x7F; })) {
      s.error(n, "token_file", "expected a token on one line without spaces or control characters, in " +
                                   show_path(f));
    } else if (token->size() < kMinToken) {
      s.error(n, "token_file", "expected a token of at least " + std::to_string(kMinToken) + " characters, but " +
                                   show_path(f) + " holds " + std::to_string(token->size()));
    } else {
      cfg_.http.token_file = f;
      cfg_.http.token = std::move(*token);
      return;
    }
    r_.hint("write a token with: (umask 077; openssl rand -hex 32 > " + show_path(f) + ")");
  }

  void read_tls(Section& s) {
    auto pair = read_pem_pair(s, "tls_cert", "tls_key");
    if (!pair) return;
    cfg_.http.tls_cert = pair->cert;
    cfg_.http.tls_key = pair->key;
    cfg_.http.tls_cert_pem = std::move(pair->cert_pem);
    cfg_.http.tls_key_pem = std::move(pair->key_pem);
  }

  struct PemPair {
    fs::path cert, key;
    std::string cert_pem, key_pem;
  };

  // A certificate and its private key from the PEM files that `cert_key` and `key_key` name, both or
  // neither: nullopt when neither is set or once a problem is reported. The key's file must be private.
  std::optional<PemPair> read_pem_pair(Section& s, const std::string& cert_key, const std::string& key_key) {
    const toml::node* cert_n = s.get(cert_key);
    const toml::node* key_n = s.get(key_key);
    if (!cert_n != !key_n) {
      const std::string given = cert_n ? cert_key : key_key, missing = cert_n ? key_key : cert_key;
      s.error(*s.get(given), given,
              "expected " + cert_key + " and " + key_key + " together, but " + missing + " is missing");
      return std::nullopt;
    }
    PemPair p;
    bool paths = s.file_path(cert_key, dir_, p.cert);
    paths = s.file_path(key_key, dir_, p.key) && paths;
    if (!paths) return std::nullopt;
    auto cert_pem = read_named_file(s, cert_key, p.cert, /*secret=*/false);
    auto key_pem = read_named_file(s, key_key, p.key, /*secret=*/true);
    if (!cert_pem || !key_pem) return std::nullopt;
    X509Ptr x509 = pem_certificate(*cert_pem);
    KeyPtr pkey = pem_private_key(*key_pem);
    if (!x509)
      s.error(*cert_n, cert_key, "expected a PEM certificate, but " + show_path(p.cert) + " holds none");
    if (!pkey)
      s.error(*key_n, key_key, "expected an unencrypted PEM private key, but " + show_path(p.key) + " holds none");
    if (!x509 || !pkey) return std::nullopt;
    if (X509_check_private_key(x509.get(), pkey.get()) != 1) {
      ERR_clear_error();
      s.error(*key_n, key_key, "expected the private key of " + cert_key + ", but " + show_path(p.key) +
                                   " does not match " + show_path(p.cert));
      return std::nullopt;
    }
    p.cert_pem = std::move(*cert_pem);
    p.key_pem = std::move(*key_pem);
    return p;
  }

  // [dcs]: this manager is one of several of the site, one leader at a time on an etcd lease. Present,
  // the table must be complete: a manager that half-joins would run jobs beside the leader.
  void read_dcs(Section s) {
    if (!s.raw()) return;
    auto& d = cfg_.dcs;
    const bool https = read_endpoints(s);
    s.require("name", "this manager's name, unique among the site's managers, such as \"mgr1\"");
    std::string name;
    if (s.string("name", name)) {
      if (auto why = manager_name_problem(name); !why.empty()) {
        s.error(*s.get("name"), "name", why);
        r_.hint("name each manager after its host, such as name = \"mgr1\", a name of its own for each manager of the site");
      } else {
        d.name = std::move(name);
      }
    }
    Millis ttl{0};
    if (s.duration("ttl", ttl, true)) {
      // etcd grants leases in whole seconds. Below 2 s a lease outlives no network hiccup (and etcd may
      // raise it to its own minimum); above 5 minutes a dead leader leaves the site without jobs and
      // failover for longer than anyone waits.
      const toml::node& n = *s.get("ttl");
      std::string why;
      if (ttl.count() % 1000 != 0) why = "expected whole seconds (etcd grants leases in seconds), got " + describe(n);
      else if (ttl < std::chrono::seconds(2) || ttl > std::chrono::seconds(300))
        why = "expected a ttl from 2s to 300s, got " + describe(n);
      if (why.empty()) {
        d.ttl = ttl;
      } else {
        s.error(n, "ttl", why);
        r_.hint("ttl is how long the leader's lease outlives a leader that stopped renewing it, \"10s\" by default");
      }
    }
    read_dcs_prefix(s);
    read_dcs_auth(s);
    read_dcs_tls(s, https);
    // Followers ask the leader's API, and HAProxy asks each manager's: a manager without one is blind.
    if (cfg_.http.listen.empty() && !listen_refused_) {
      r_.error(s.pos(), "dcs", "expected [http] listen with [dcs]: the other managers and HAProxy ask each manager's API");
      r_.hint("set listen = \"0.0.0.0:8008\" (or this host's address) in [http] on every manager of the site");
    }
    s.finish();
  }

  // `etcd`: at least one member's client URL, each once, all of one scheme (a password must not go
  // over plain HTTP to one member and TLS to another). Returns true when they are https://.
  bool read_endpoints(Section& s) {
    s.require("etcd", "the etcd members' client URLs, such as [\"http://10.0.0.1:2379\"]");
    std::set<std::string> seen;
    std::string scheme;
    std::vector<std::string> urls;
    const bool read = s.checked_strings("etcd", urls, [&](const std::string& url, std::size_t) -> std::string {
      Endpoint e;
      if (auto why = endpoint_problem(url, e); !why.empty()) return why;
      if (scheme.empty()) scheme = e.scheme;
      if (e.scheme != scheme)
        return "expected " + scheme + ":// like the first endpoint, got " + quote(url);
      std::string host = e.host;
      for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!seen.insert(host + ":" + e.port).second)
        return "expected each endpoint once, but " + quote(url) + " is listed before";
      return {};
    });
    if (read && urls.empty())
      s.error(*s.get("etcd"), "etcd", "expected at least one etcd endpoint, got an empty list");
    if (read && !urls.empty()) cfg_.dcs.etcd = std::move(urls);
    else if (s.get("etcd"))
      r_.hint("etcd lists the members' client URLs (etcd's --advertise-client-urls), such as "
              "[\"http://10.0.0.1:2379\", \"http://10.0.0.2:2379\", \"http://10.0.0.3:2379\"]");
    return scheme == "https";
  }

  void read_dcs_prefix(Section& s) {
    auto& d = cfg_.dcs;
    std::string p;
    if (s.string("prefix", p)) {
      if (auto why = prefix_problem(p); !why.empty()) {
        s.error(*s.get("prefix"), "prefix", why);
        r_.hint("prefix names the site's keys in etcd, such as \"/sitekeeper/CEN\", the same on every manager of the site");
      } else {
        d.prefix = std::move(p);
      }
      return;
    }
    if (s.get("prefix")) return;  // of the wrong type: reported
    const std::string fallback = "/sitekeeper/" + cfg_.site.code;
    if (cfg_.site.code.empty()) {
      r_.error(s.pos(), s.path("prefix"), "expected prefix, or [site] code for the default \"/sitekeeper/CODE\", but neither is set");
      r_.hint("set code = \"CEN\" in [site] (the prefix is then \"/sitekeeper/CEN\"), or prefix in [dcs]");
    } else if (!prefix_problem(fallback).empty()) {
      r_.error(s.pos(), s.path("prefix"), "expected prefix, since the default " + quote(fallback) +
                                             " made from [site] code is not a key prefix of printable ASCII "
                                             "without spaces, \"//\" or a trailing \"/\"");
      r_.hint("set prefix = \"/sitekeeper/NAME\" in [dcs], the same on every manager of the site");
    } else {
      d.prefix = fallback;
    }
  }

  // etcd authenticates a user by password (a client certificate alone names its user by its common
  // name, and needs neither key). The password is read like a server's password_file.
  void read_dcs_auth(Section& s) {
    auto& d = cfg_.dcs;
    const bool user = s.name("user", kMaxText, d.user, "an etcd user name");
    fs::path f;
    const bool file = s.file_path("password_file", dir_, f);
    if (s.get("password_file") && !s.get("user")) {
      s.error(*s.get("password_file"), "password_file", "expected user with password_file: the password is an etcd user's");
      r_.hint("add user = \"NAME\", the etcd user (etcdctl user add NAME) whose password the file holds");
    } else if (s.get("user") && !s.get("password_file")) {
      s.error(*s.get("user"), "user", "expected password_file with user: etcd authenticates a user by its password");
      r_.hint("put the etcd user's password on the first line of a file only sitekeeper can read "
              "(chmod 600), and set password_file = \"FILE\"");
    } else if (user && file) {
      if (auto pw = password_line(s, f)) {
        d.password_file = f;
        d.password = std::move(*pw);
      }
    }
  }

  // The TLS files are used only over https://, so over http:// they would be a silent no-op: refused.
  void read_dcs_tls(Section& s, bool https) {
    auto& d = cfg_.dcs;
    if (!https && !d.etcd.empty()) {
      for (const char* key : {"ca_file", "cert_file", "key_file"})
        if (const toml::node* n = s.get(key))
          s.error(*n, key, "expected only with https:// endpoints: TLS files are not used over http://");
      if (s.get("ca_file") || s.get("cert_file") || s.get("key_file"))
        r_.hint("write the etcd endpoints as https://HOST:2379, or leave ca_file, cert_file and key_file out");
      return;
    }
    fs::path ca;
    if (s.file_path("ca_file", dir_, ca)) {
      if (auto pem = read_named_file(s, "ca_file", ca, /*secret=*/false)) {
        if (!pem_certificate(*pem))
          s.error(*s.get("ca_file"), "ca_file", "expected a PEM certificate, but " + show_path(ca) + " holds none");
        else
          d.ca_file = ca;
      }
    }
    if (auto pair = read_pem_pair(s, "cert_file", "key_file")) {
      d.cert_file = pair->cert;
      d.key_file = pair->key;
    }
  }

  void read_alerts(Section s) {
    s.argv("command", cfg_.alerts.command);
    s.finish();
  }

  // HAProxy's names for the same idea: a server changes state only after `rise` (or `fall`) probes in
  // a row agree, so health checks do not flap.
  void read_health(Section s) {
    s.duration("interval", cfg_.health.interval, true);
    s.integer("rise", 1, 100, cfg_.health.rise);
    s.integer("fall", 1, 100, cfg_.health.fall);
    s.finish();
  }

  fs::path file_;
  fs::path dir_;
  EnvLookup env_;
  Reporter r_;
  Config cfg_;
  std::vector<std::string> known_servers_;
  bool listen_refused_ = false;  // [http] listen was set but refused (reported there)
};

}  // namespace

const ServerConfig& Config::server(const std::string& name) const {
  auto it = servers.find(name);
  if (it == servers.end()) throw Error("unknown server " + quote(name));
  return it->second;
}

Config load_config(const fs::path& file, EnvLookup env) { return Loader(file, env).load(); }

}  // namespace sk
