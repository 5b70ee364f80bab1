#include "dcs/etcd_http.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "core/error.hpp"
#include "dcs/etcd_json.hpp"

namespace sk::dcs {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using net::ip::tcp;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// ===== endpoint URLs ========================================================================================

namespace {

[[noreturn]] void bad_url(const std::string& url, const std::string& why) {
  throw ConfigError("etcd endpoint '" + url + "': " + why,
                    "write each endpoint as http://HOST:PORT or https://HOST:PORT, e.g. http://10.0.0.5:2379");
}

bool host_char(unsigned char c) { return std::isalnum(c) || c == '.' || c == '-' || c == '_'; }

}  // namespace

EtcdEndpoint parse_endpoint(const std::string& url) {
  EtcdEndpoint ep;
  ep.url = url;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    ep.tls = true;
    rest = url.substr(8);
  } else {
    bad_url(url, "the scheme must be http:// or https://");
  }
  size_t colon;
  if (!rest.empty() && rest[0] == '[') {
    const size_t close = rest.find(']');
    if (close == std::string::npos) bad_url(url, "an IPv6 address without its closing ]");
    ep.host = rest.substr(1, close - 1);
    boost::system::error_code ec;
    net::ip::make_address_v6(ep.host, ec);
    if (ec || ep.host.empty()) bad_url(url, "'" + ep.host + "' is not an IPv6 address");
    colon = close + 1;
    if (colon >= rest.size() || rest[colon] != ':') bad_url(url, "no :PORT after the host");
  } else {
    colon = rest.find(':');
    if (colon == std::string::npos) bad_url(url, "no :PORT after the host");
    ep.host = rest.substr(0, colon);
    if (ep.host.empty()) bad_url(url, "no host");
    if (!std::all_of(ep.host.begin(), ep.host.end(), [](unsigned char c) { return host_char(c); }))
      bad_url(url, "the host may hold letters, digits, '.', '-' and '_' only (no user, path or query)");
  }
  const std::string port = rest.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }))
    bad_url(url, "the port must be a number from 1 to 65535, and nothing may follow it (no path)");
  const int p = std::stoi(port);
  if (p < 1 || p > 65535) bad_url(url, "the port must be a number from 1 to 65535");
  ep.port = static_cast<unsigned short>(p);
  return ep;
}

// ===== connections ==========================================================================================

namespace {

// One HTTP/1.1 connection to one endpoint, with its own io_context: the calls are synchronous, but
// Beast's timeouts work on asynchronous operations only, so each step is started and run to its end,
// which the stream's expiry bounds.
struct Conn {
  net::io_context ioc;
  std::unique_ptr<beast::tcp_stream> tcp;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  bool reused = false;  // has carried an answer: a failure at once may be a keep-alive the server dropped

  bool open() const { return tcp || tls; }
  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *tcp; }
  void close() {
    if (open()) {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
      lowest().socket().close(ignored);
    }
    tls.reset();
    tcp.reset();
    buffer.clear();
    reused = false;
  }
};

template <class Start>
beast::error_code run_op(Conn& c, Start&& start) {
  beast::error_code result = net::error::operation_aborted;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  c.ioc.restart();
  c.ioc.run();
  return result;
}

std::string lowercase(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::string describe(const beast::error_code& ec, std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout) return "timed out after " + std::to_string(timeout.count()) + " ms";
  if (ec == net::error::connection_refused) return "connection refused";
  if (ec == http::error::end_of_stream || ec == net::error::eof) return "closed the connection";
  return lowercase(ec.message());
}

bool stale_keepalive(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe;
}

struct Answer {
  int status = 0;
  json body;
};

// What one endpoint did with a call: answered (body), or failed in a way the next one may not.
struct Attempt {
  bool answered = false;
  json body;
  std::string reason;  // when not answered
};

}  // namespace

struct EtcdHttp::Impl {
  EtcdHttpOptions opts;
  std::vector<EtcdEndpoint> endpoints;
  std::unique_ptr<ssl::context> tls_context;
  std::atomic<size_t> preferred{0};

  std::mutex mu;  // guards idle and token
  std::vector<std::vector<std::unique_ptr<Conn>>> idle;
  std::string token;

  explicit Impl(EtcdHttpOptions o) : opts(std::move(o)) {
    if (opts.endpoints.empty())
      throw ConfigError("no etcd endpoint", "list the etcd members' client URLs in [dcs] etcd");
    bool any_tls = false;
    for (const auto& url : opts.endpoints) {
      endpoints.push_back(parse_endpoint(url));
      any_tls = any_tls || endpoints.back().tls;
    }
    idle.resize(endpoints.size());
    if (opts.cert_file.empty() != opts.key_file.empty())
      throw ConfigError("etcd client certificate: cert_file and key_file go together",
                        "set both [dcs] cert_file and key_file, or neither");
    if (any_tls) make_tls_context();
  }

  void make_tls_context() {
    tls_context = std::make_unique<ssl::context>(ssl::context::tls_client);
    tls_context->set_verify_mode(ssl::verify_peer);
    const auto load = [](const std::filesystem::path& file, const char* what, auto&& fn) {
      try {
        fn();
      } catch (const boost::system::system_error& e) {
        throw ConfigError(std::string("cannot load the etcd ") + what + " " + file.string() + ": " +
                              lowercase(e.code().message()),
                          "the file must exist, be readable and hold PEM");
      }
    };
    if (opts.ca_file.empty())
      tls_context->set_default_verify_paths();
    else
      load(opts.ca_file, "ca_file", [&] { tls_context->load_verify_file(opts.ca_file.string()); });
    if (!opts.cert_file.empty()) {
      load(opts.cert_file, "cert_file", [&] { tls_context->use_certificate_chain_file(opts.cert_file.string()); });
      load(opts.key_file, "key_file",
           [&] { tls_context->use_private_key_file(opts.key_file.string(), ssl::context::pem); });
    }
  }

  std::unique_ptr<Conn> take(size_t i) {
    std::lock_guard lock(mu);
    auto& pool = idle[i];
    if (pool.empty()) return std::make_unique<Conn>();
    auto c = std::move(pool.back());
    pool.pop_back();
    return c;
  }

  void give_back(size_t i, std::unique_ptr<Conn> c) {
    if (!c->open()) return;
    std::lock_guard lock(mu);
    if (idle[i].size() < 4) idle[i].push_back(std::move(c));
  }

  std::string current_token() {
    std::lock_guard lock(mu);
    return token;
  }

  // "" when connected, else why not.
  std::string connect(Conn& c, const EtcdEndpoint& ep, Clock::time_point deadline) {
    c.close();
    std::vector<tcp::endpoint> addresses;
    beast::error_code ec;
    const auto address = net::ip::make_address(ep.host, ec);
    const bool literal = !ec;
    if (literal) {
      addresses.emplace_back(address, ep.port);
    } else {
      tcp::resolver resolver(c.ioc);
      const auto found = resolver.resolve(ep.host, std::to_string(ep.port), ec);
      if (ec) return "cannot resolve " + ep.host + ": " + lowercase(ec.message());
      for (const auto& e : found) addresses.push_back(e.endpoint());
    }
    if (ep.tls)
      c.tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(c.ioc, *tls_context);
    else
      c.tcp = std::make_unique<beast::tcp_stream>(c.ioc);
    c.lowest().expires_at(deadline);
    ec = run_op(c, [&](auto handler) { c.lowest().async_connect(addresses, handler); });
    if (ec) {
      c.close();
      return describe(ec, opts.timeout);
    }
    if (c.tls) {
      SSL* s = c.tls->native_handle();
      X509_VERIFY_PARAM* param = SSL_get0_param(s);
      // The server's certificate must name the host of the URL (as a DNS name or an IP address).
      if (literal) {
        X509_VERIFY_PARAM_set1_ip_asc(param, ep.host.c_str());
      } else {
        SSL_set_tlsext_host_name(s, ep.host.c_str());
        X509_VERIFY_PARAM_set1_host(param, ep.host.c_str(), 0);
      }
      ec = run_op(c, [&](auto handler) { c.tls->async_handshake(ssl::stream_base::client, handler); });
      if (ec) {
        c.close();
        return ec == beast::error::timeout ? describe(ec, opts.timeout)
                                           : "tls handshake failed: " + lowercase(ec.message());
      }
    }
    return {};
  }

  // Sends one request on c (connecting first when needed) and reads the answer. "" on an answer (any
  // HTTP status), else why none came.
  std::string exchange(Conn& c, size_t i, const std::string& target, const std::string& body,
                       const std::string& auth_token, Clock::time_point deadline, Answer& out) {
    const auto& ep = endpoints[i];
    for (int round = 0;; ++round) {
      if (!c.open())
        if (auto why = connect(c, ep, deadline); !why.empty()) return why;
      const bool was_reused = c.reused;
      http::request<http::string_body> req{http::verb::post, target, 11};
      req.set(http::field::host, (ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host) + ":" +
                                     std::to_string(ep.port));
      req.set(http::field::content_type, "application/json");
      if (!auth_token.empty()) req.set(http::field::authorization, auth_token);
      req.keep_alive(true);
      req.body() = body;
      req.prepare_payload();
      c.lowest().expires_at(deadline);
      auto ec = run_op(c, [&](auto handler) {
        if (c.tls)
          http::async_write(*c.tls, req, handler);
        else
          http::async_write(*c.tcp, req, handler);
      });
      http::response_parser<http::string_body> parser;
      parser.body_limit(64u << 20);
      if (!ec)
        ec = run_op(c, [&](auto handler) {
          if (c.tls)
            http::async_read(*c.tls, c.buffer, parser, handler);
          else
            http::async_read(*c.tcp, c.buffer, parser, handler);
        });
      if (ec) {
        c.close();
        // A kept connection the member closed meanwhile (it restarted): once more on a new one.
        if (was_reused && round == 0 && stale_keepalive(ec) && Clock::now() < deadline) continue;
        return describe(ec, opts.timeout);
      }
      auto& res = parser.get();
      out.status = static_cast<int>(res.result_int());
      out.body = json::parse(res.body(), nullptr, false);
      if (res.keep_alive())
        c.reused = true;
      else
        c.close();
      if (out.body.is_discarded()) return "answered http " + std::to_string(out.status) + " without json";
      return {};
    }
  }

  // "" once a token is held (or the cluster has no authentication), else why this endpoint could not
  // give one. Throws when etcd refuses the user or password: every member would.
  std::string authenticate(Conn& c, size_t i, Clock::time_point deadline) {
    Answer a;
    if (auto why = exchange(c, i, "/v3/auth/authenticate",
                            wire::authenticate_request(opts.user, opts.password).dump(), "", deadline, a);
        !why.empty())
      return why;
    const auto e = wire::gateway_error(a.body);
    if (e.message.empty() && a.status == 200) {
      std::lock_guard lock(mu);
      token = wire::decode_token(a.body);
      return {};
    }
    if (a.status == 503 || e.code == wire::kGrpcUnavailable) return lowercase(e.message);
    if (e.message.find("authentication is not enabled") != std::string::npos) return {};
    throw Error("etcd refused the user '" + opts.user + "': " + lowercase(e.message),
                "check [dcs] user and password_file (etcdctl user get " + opts.user + " shows the user)");
  }

  Attempt attempt(size_t i, const std::string& target, const std::string& body, bool not_found_ok,
                  const std::string& what) {
    const auto deadline = Clock::now() + opts.timeout;
    auto c = take(i);
    bool renewed = false;
    for (;;) {
      std::string used_token;
      if (!opts.user.empty()) {
        used_token = current_token();
        if (used_token.empty()) {
          if (auto why = authenticate(*c, i, deadline); !why.empty()) return {false, {}, why};
          used_token = current_token();
        }
      }
      Answer a;
      if (auto why = exchange(*c, i, target, body, used_token, deadline, a); !why.empty()) return {false, {}, why};
      const auto e = wire::gateway_error(a.body);
      const bool ok = (e.message.empty() && a.status == 200) || (not_found_ok && e.code == wire::kGrpcNotFound);
      if (ok) {
        give_back(i, std::move(c));
        return {true, std::move(a.body), {}};
      }
      if (a.status == 503 || e.code == wire::kGrpcUnavailable)
        return {false, {}, lowercase(e.message.empty() ? "answered http 503" : e.message)};
      const bool stale_token = e.code == wire::kGrpcUnauthenticated ||
                               e.message.find("revision of auth store is old") != std::string::npos;
      if (stale_token && !opts.user.empty() && !renewed) {
        // The token expired, the member restarted and forgot it, or users or roles changed since it was
        // issued: a new one, once.
        renewed = true;
        std::lock_guard lock(mu);
        if (token == used_token) token.clear();
        continue;
      }
      give_back(i, std::move(c));
      if (e.message.empty()) return {false, {}, "answered http " + std::to_string(a.status)};
      if (e.code == wire::kGrpcPermissionDenied)
        throw Error("etcd refused the " + what + ": permission denied",
                    opts.user.empty() ? "the cluster has authentication enabled: set [dcs] user and password_file"
                                      : "grant the etcd user '" + opts.user +
                                            "' a role with readwrite on the site's prefix");
      if (e.code == wire::kGrpcUnauthenticated || e.message.find("user name is empty") != std::string::npos)
        throw Error("etcd refused the " + what + ": " + lowercase(e.message),
                    "the cluster has authentication enabled: set [dcs] user and password_file");
      throw Error("etcd refused the " + what + ": " + lowercase(e.message));
    }
  }

  json call(const std::string& target, const json& request, const std::string& what, bool not_found_ok = false) {
    const std::string body = request.dump();
    const size_t n = endpoints.size();
    const size_t first = preferred.load() % n;
    std::string reasons;
    for (size_t k = 0; k < n; ++k) {
      const size_t i = (first + k) % n;
      auto a = attempt(i, target, body, not_found_ok, what);
      if (a.answered) {
        preferred.store(i);
        return std::move(a.body);
      }
      reasons += (reasons.empty() ? "" : "; ") + endpoints[i].url + ": " + a.reason;
    }
    throw Error("etcd did not answer the " + what + " (" + reasons + ")",
                "most etcd members must run and reach each other; etcdctl endpoint status --cluster shows them");
  }
};

// ===== the calls ============================================================================================

EtcdHttp::EtcdHttp(EtcdHttpOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
EtcdHttp::~EtcdHttp() = default;

long long EtcdHttp::grant(std::chrono::seconds ttl) {
  if (ttl.count() < 1) throw Error("an etcd lease needs a ttl of at least 1 s");
  return wire::decode_grant(impl_->call("/v3/lease/grant", wire::grant_request(ttl.count()), "lease grant"));
}

long long EtcdHttp::keepalive(long long lease) {
  return wire::decode_keepalive(
      impl_->call("/v3/lease/keepalive", wire::lease_request(lease), "keepalive of lease " + std::to_string(lease)));
}

void EtcdHttp::revoke(long long lease) {
  impl_->call("/v3/lease/revoke", wire::lease_request(lease), "revoke of lease " + std::to_string(lease), true);
}

std::optional<KeyValue> EtcdHttp::get(const std::string& key) {
  auto r = wire::decode_range(impl_->call("/v3/kv/range", wire::range_request(key, "", 0), "get of " + key));
  if (r.kvs.empty()) return std::nullopt;
  return std::move(r.kvs.front());
}

Range EtcdHttp::list(const std::string& prefix, long long min_mod_revision) {
  // etcd has no empty key: "\0" up to "\0" is every key.
  const std::string from = prefix.empty() ? std::string(1, '\0') : prefix;
  return wire::decode_range(impl_->call("/v3/kv/range", wire::range_request(from, prefix_end(prefix), min_mod_revision),
                                        "list of " + prefix));
}

TxnResult EtcdHttp::txn(const std::vector<Compare>& when, const std::vector<Op>& then, const std::vector<Op>& otherwise) {
  return wire::decode_txn(impl_->call("/v3/kv/txn", wire::txn_request(when, then, otherwise), "transaction"));
}

std::unique_ptr<Etcd> make_etcd(const Config::Dcs& dcs, std::chrono::milliseconds timeout) {
  EtcdHttpOptions o;
  o.endpoints = dcs.etcd;
  o.timeout = timeout;
  o.user = dcs.user;
  o.password = dcs.password;
  o.ca_file = dcs.ca_file;
  o.cert_file = dcs.cert_file;
  o.key_file = dcs.key_file;
  return std::make_unique<EtcdHttp>(std::move(o));
}

}  // namespace sk::dcs
