#include "app/daemon/http.hpp"

#include <atomic>
#include <list>
#include <map>
#include <optional>
#include <type_traits>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "core/log.hpp"

namespace sk::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Steady = std::chrono::steady_clock;

namespace {

auto logger() { return log::get("http"); }

// Counts like events (failed accepts, shed connections) so that a flood logs one line when it starts
// and one when it is over, not one per event.
class Burst {
 public:
  bool hit() { return count_++ == 0; }  // true for the first event of a burst
  std::uint64_t end() { return std::exchange(count_, 0); }

 private:
  std::uint64_t count_ = 0;
};

struct Counters {
  std::atomic<std::uint64_t> accepted{0}, open{0}, shed{0}, refused{0}, timed_out{0}, rejected{0},
      accept_errors{0}, answered{0};
};

}  // namespace

namespace detail {

class Connection;

// What the server and its connections share. Connections hold it, so it outlives the HttpServer
// object until the last of them has finished on the io_context.
struct HttpShared : std::enable_shared_from_this<HttpShared> {
  HttpShared(asio::io_context& io, HttpHandler h, HttpOptions o)
      : io(io), acceptor(io), backoff(io), handler(std::move(h)), opt(std::move(o)) {}

  void accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  void admit(tcp::socket socket);
  bool shed_one();
  void stop();

  asio::io_context& io;
  tcp::acceptor acceptor;
  asio::steady_timer backoff;
  HttpHandler handler;
  HttpOptions opt;
  std::optional<ssl::context> tls;
  bool stopped = false;
  std::list<Connection*> connections;  // oldest first
  std::map<asio::ip::address, std::size_t> per_peer;  // open connections by client address
  Burst accept_failures, shedding;
  Counters n;
};

// One accepted connection, as the server sees it whatever its stream type.
class Connection {
 public:
  Connection(std::shared_ptr<HttpShared> shared, asio::ip::address peer)
      : shared_(std::move(shared)), peer_(std::move(peer)) {
    at_ = shared_->connections.insert(shared_->connections.end(), this);
    ++shared_->per_peer[peer_];
    shared_->n.open = shared_->connections.size();
  }
  virtual ~Connection() { unlist(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Closes the socket; pending operations finish with an error, which ends the session.
  virtual void close() = 0;
  // True while the client owes the server something (its request, or its close after the reply):
  // the connection may be shed then, as nothing the server owes the client is lost.
  bool idle() const { return idle_; }
  const asio::ip::address& peer() const { return peer_; }

  // Out of the server's count at once, so the slot is free before the session has wound down.
  void unlist() {
    if (!listed_) return;
    listed_ = false;
    shared_->connections.erase(at_);
    if (auto p = shared_->per_peer.find(peer_); --p->second == 0) shared_->per_peer.erase(p);
    shared_->n.open = shared_->connections.size();
    if (shared_->stopped) return;
    // Hysteresis: a steady flood at the limit keeps one burst rather than one per freed slot.
    if (shared_->connections.size() <= shared_->opt.max_connections / 2)
      if (auto n = shared_->shedding.end())
        logger()->info("HTTP connections well below the limit again; {} arrived at it", n);
  }

 protected:
  void set_idle(bool idle) { idle_ = idle; }
  std::shared_ptr<HttpShared> shared_;

 private:
  asio::ip::address peer_;
  std::list<Connection*>::iterator at_;
  bool listed_ = true;
  bool idle_ = true;
};

}  // namespace detail

namespace {

using detail::Connection;
using detail::HttpShared;

HttpResponse error_reply(int status, const char* what) {
  return {status, "application/json", std::string("{\"error\":\"") + what + "\"}"};
}

// The parser reports both malformed requests and transport failures; only the first deserve a reply.
bool malformed(const beast::error_code& ec) {
  static const auto& http_errors = http::make_error_code(http::error::bad_target).category();
  return ec.category() == http_errors && ec != http::error::end_of_stream && ec != http::error::partial_message;
}

template <class Stream>
class Session : public Connection, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  // After the reply, how long the client may take to close: enough for a close_notify to cross.
  static constexpr auto kLinger = std::chrono::seconds(1);

  Session(std::shared_ptr<HttpShared> shared, asio::ip::address peer, Stream stream)
      : Connection(std::move(shared), std::move(peer)), stream_(std::move(stream)), start_(Steady::now()) {}

  void run() {
    tcp_layer().expires_at(start_ + shared_->opt.header_timeout);
    if constexpr (kTls) {
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return self->dropped(ec, "TLS handshake");
        self->read();
      });
    } else {
      read();
    }
  }

  void close() override {
    beast::error_code ec;
    tcp_layer().socket().close(ec);
  }

 private:
  beast::tcp_stream& tcp_layer() { return beast::get_lowest_layer(stream_); }

  void read() {
    parser_.header_limit(shared_->opt.header_limit);
    parser_.body_limit(shared_->opt.body_limit);
    http::async_read(stream_, buffer_, parser_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::header_limit) return reject(error_reply(431, "request header too large"));
    if (ec == http::error::body_limit) return reject(error_reply(413, "no endpoint takes a request body"));
    if (malformed(ec)) return reject(error_reply(400, "malformed request"));
    if (ec) return dropped(ec, "reading the request");
    const auto& req = parser_.get();
    HttpRequest r{std::string(req.method_string()), std::string(req.target()),
                  std::string(req[http::field::authorization])};
    HttpResponse res;
    try {
      res = shared_->handler(r);
    } catch (const std::exception& e) {
      res = error_reply(500, "internal error");
      logger()->error("handler failed for {}: {}", r.target, e.what());
    }
    write(std::move(res), true);
  }

  void reject(HttpResponse res) {
    ++shared_->n.rejected;
    write(std::move(res), false);
  }

  // `whole`: the request was read to its end, so nothing unread can turn the close into a reset.
  void write(HttpResponse r, bool whole) {
    set_idle(false);
    tcp_layer().expires_at(start_ + shared_->opt.request_timeout);
    res_.result(static_cast<http::status>(r.status));
    if (!r.reason.empty()) {
      // A CR or LF would end the status line early: the rest would be read as header fields.
      for (char& c : r.reason)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
      res_.reason(r.reason);
    }
    res_.version(11);
    res_.set(http::field::server, "sitekeeper");
    res_.set(http::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers) res_.insert(name, value);
    res_.keep_alive(false);
    res_.body() = std::move(r.body);
    res_.prepare_payload();
    http::async_write(stream_, res_, [self = this->shared_from_this(), whole](beast::error_code ec, std::size_t) {
      if (ec) return self->dropped(ec, "writing the reply");
      if (whole) ++self->shared_->n.answered;
      self->finish(whole);
    });
  }

  void finish(bool whole) {
    set_idle(true);
    tcp_layer().expires_at(std::min(start_ + shared_->opt.request_timeout, Steady::now() + kLinger));
    if constexpr (kTls) {
      // close_notify, so the client can tell the end of the reply from a cut connection.
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->close(); });
    } else {
      beast::error_code ec;
      tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
      if (!whole) drain();
    }
  }

  // Reads what the client still sends until it closes or the linger ends: closing with unread input
  // would send a reset, which can destroy the reply before the client reads it.
  void drain() {
    tcp_layer().async_read_some(asio::buffer(discard_), [self = this->shared_from_this()](beast::error_code ec,
                                                                                         std::size_t) {
      if (!ec) self->drain();
    });
  }

  void dropped(const beast::error_code& ec, const char* when) {
    if (ec == beast::error::timeout) ++shared_->n.timed_out;
    // Clients that go away, time out or speak something else: routine on an exposed port.
    logger()->debug("connection dropped while {}: {}", when, ec.message());
  }

  Stream stream_;
  const Steady::time_point start_;
  beast::flat_buffer buffer_;
  http::request_parser<http::string_body> parser_;
  http::response<http::string_body> res_;
  char discard_[1024];
};

// Accept errors that mean "the acceptor was closed" rather than "try again".
bool acceptor_closed(const beast::error_code& ec) {
  return ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor;
}

tcp::endpoint parse_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw ConfigError("http.listen must be host:port, got " + listen);
  std::string host = listen.substr(0, colon), port = listen.substr(colon + 1);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) throw ConfigError("http.listen: not an IP address: " + host);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535)
    throw ConfigError("http.listen: not a port: " + port);
  return {addr, static_cast<unsigned short>(std::stoi(port))};
}

void load_tls(ssl::context& ctx, const HttpOptions& o) {
  // TLS 1.0 and 1.1 are deprecated (RFC 8996).
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  // An encrypted key must fail here, not prompt on a terminal the daemon does not have.
  ctx.set_password_callback([](std::size_t, ssl::context::password_purpose) { return std::string(); });
  boost::system::error_code ec;
  ctx.use_certificate_chain(asio::buffer(o.tls_cert_pem), ec);
  if (ec) throw Error("cannot use the TLS certificate: " + ec.message(), "check http.tls_cert: a PEM certificate");
  ctx.use_private_key(asio::buffer(o.tls_key_pem), ssl::context::pem, ec);
  if (!ec && SSL_CTX_check_private_key(ctx.native_handle()) != 1) ec = asio::error::invalid_argument;
  if (ec)
    throw Error("cannot use the TLS private key: " + ec.message(),
                "check http.tls_key: the unencrypted PEM key of http.tls_cert");
}

}  // namespace

namespace detail {

void HttpShared::accept() {
  acceptor.async_accept(io, [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    self->on_accept(ec, std::move(socket));
  });
}

void HttpShared::on_accept(beast::error_code ec, tcp::socket socket) {
  if (stopped || acceptor_closed(ec)) return;
  if (ec) {
    // Out of descriptors the queued connection stays queued and accept fails again at once: wait,
    // or the loop would spin. Closing connections (ours time out) frees descriptors.
    ++n.accept_errors;
    if (accept_failures.hit())
      logger()->warn("cannot accept HTTP connections: {}; retrying every {} ms", ec.message(),
                     opt.accept_backoff.count());
    backoff.expires_after(opt.accept_backoff);
    backoff.async_wait([self = shared_from_this()](beast::error_code e) {
      if (!e && !self->stopped) self->accept();
    });
    return;
  }
  if (auto failed = accept_failures.end())
    logger()->info("accepting HTTP connections again after {} failed attempt(s)", failed);
  ++n.accepted;
  admit(std::move(socket));
  accept();
}

void HttpShared::admit(tcp::socket socket) {
  beast::error_code ec;
  if (connections.size() >= opt.max_connections && !shed_one()) {
    ++n.refused;
    socket.close(ec);
    return;
  }
  auto peer = socket.remote_endpoint(ec).address();
  if (tls) {
    using Stream = beast::ssl_stream<beast::tcp_stream>;
    std::make_shared<Session<Stream>>(shared_from_this(), peer, Stream(beast::tcp_stream(std::move(socket)), *tls))
        ->run();
  } else {
    std::make_shared<Session<beast::tcp_stream>>(shared_from_this(), peer, beast::tcp_stream(std::move(socket)))
        ->run();
  }
}

// At the limit, the oldest idle connection goes, from the client address that holds the most
// connections: a client with a request sends it at once, so the idlest loses, and a client flooding
// from one address churns its own connections, not a health checker's.
bool HttpShared::shed_one() {
  if (shedding.hit())
    logger()->warn("{} HTTP connections open, the limit: closing the idlest to make room, or the new one when "
                   "all are busy",
                   opt.max_connections);
  auto heaviest = std::max_element(per_peer.begin(), per_peer.end(),
                                    [](const auto& a, const auto& b) { return a.second < b.second; });
  Connection* victim = nullptr;
  for (Connection* c : connections) {
    if (!c->idle()) continue;
    if (!victim) victim = c;
    if (heaviest != per_peer.end() && c->peer() == heaviest->first) {
      victim = c;
      break;
    }
  }
  if (!victim) return false;
  ++n.shed;
  victim->unlist();
  victim->close();
  return true;
}

void HttpShared::stop() {
  if (stopped) return;
  stopped = true;
  beast::error_code ec;
  acceptor.close(ec);
  backoff.cancel();
  while (!connections.empty()) {
    Connection* c = connections.front();
    c->unlist();
    c->close();
  }
}

}  // namespace detail

HttpServer::HttpServer(asio::io_context& io, const std::string& listen, HttpHandler handler, HttpOptions options)
    : shared_(std::make_shared<detail::HttpShared>(io, std::move(handler), std::move(options))) {
  auto& s = *shared_;
  if (s.opt.tls_cert_pem.empty() != s.opt.tls_key_pem.empty())
    throw Error("TLS needs a certificate and its key", "set both http.tls_cert and http.tls_key, or neither");
  if (!s.opt.tls_cert_pem.empty()) {
    s.tls.emplace(ssl::context::tls_server);
    load_tls(*s.tls, s.opt);
    // OpenSSL holds the key now; one copy of a secret fewer in memory.
    OPENSSL_cleanse(s.opt.tls_key_pem.data(), s.opt.tls_key_pem.size());
    s.opt.tls_key_pem.clear();
  }
  auto ep = parse_listen(listen);
  boost::system::error_code ec;
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw Error("cannot listen on " + listen + ": " + ec.message(), "is another sitekeeper running?");
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() { shared_->accept(); }

void HttpServer::stop() { shared_->stop(); }

unsigned short HttpServer::port() const {
  boost::system::error_code ec;
  return shared_->acceptor.local_endpoint(ec).port();
}

bool HttpServer::tls() const { return shared_->tls.has_value(); }

bool HttpServer::loopback() const {
  boost::system::error_code ec;
  return shared_->acceptor.local_endpoint(ec).address().is_loopback();
}

HttpStats HttpServer::stats() const {
  const auto& n = shared_->n;
  return {n.accepted, n.open, n.shed, n.refused, n.timed_out, n.rejected, n.accept_errors, n.answered};
}

namespace {
bool same_secret(std::string_view got, std::string_view token) {
  // Digests have one length, so neither the comparison's time nor its length reveals how much matched.
  const std::string a = sha256_hex(got), b = sha256_hex(token);
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}
}  // namespace

bool bearer_matches(const HttpRequest& req, std::string_view token) {
  if (token.empty()) return false;
  constexpr std::string_view kScheme = "bearer";
  std::string_view h = req.authorization;
  // The scheme is case-insensitive (RFC 9110, 11.1) and followed by one or more spaces.
  if (h.size() <= kScheme.size() || h[kScheme.size()] != ' ' ||
      !beast::iequals(beast::string_view(h.data(), kScheme.size()), beast::string_view(kScheme.data(), kScheme.size())))
    return false;
  std::string_view got = h.substr(kScheme.size());
  got.remove_prefix(std::min(got.find_first_not_of(' '), got.size()));
  return same_secret(got, token);
}

bool credentials_match(const HttpRequest& req, std::string_view token) {
  if (bearer_matches(req, token)) return true;
  if (token.empty()) return false;
  constexpr std::string_view kScheme = "basic";
  std::string_view h = req.authorization;
  if (h.size() <= kScheme.size() || h[kScheme.size()] != ' ' ||
      !beast::iequals(beast::string_view(h.data(), kScheme.size()), beast::string_view(kScheme.data(), kScheme.size())))
    return false;
  std::string_view b64 = h.substr(kScheme.size());
  b64.remove_prefix(std::min(b64.find_first_not_of(' '), b64.size()));
  if (b64.empty() || b64.size() % 4 != 0 || b64.size() > 4096) return false;
  std::string raw(b64.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                                reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  if (n < 0) return false;
  // EVP_DecodeBlock counts the padding as zero bytes.
  std::size_t len = static_cast<std::size_t>(n);
  for (std::size_t i = b64.size(); i > 0 && b64[i - 1] == '=' && len > 0; --i) --len;
  raw.resize(len);
  const auto colon = raw.find(':');
  if (colon == std::string::npos) return false;
  return same_secret(std::string_view(raw).substr(colon + 1), token);
}

HttpResponse unauthorized() {
  return {401, "application/json",
          R"({"error":"unauthorized","hint":"send Authorization: Bearer <token>; a browser asks for it as the password"})",
          {{"WWW-Authenticate", "Basic realm=\"sitekeeper\", charset=\"UTF-8\""}, {"WWW-Authenticate", "Bearer realm=\"sitekeeper\""}}};
}

}  // namespace sk::daemon
