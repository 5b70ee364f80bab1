#pragma once
// A small HTTP/1.1 server (Boost.Beast), plain or TLS, on the daemon's io_context. One request per
// connection: a handler that must not block (it reads in-memory snapshots) answers it, then the
// connection is closed.
//
// Whoever can reach the listen address can abuse it, so every resource a client can hold is bounded:
// open connections, the time to send the request (TLS handshake included), the time of the whole
// exchange, and the sizes of header and body. At the connection limit a new connection sheds an idle
// one (one whose client owes a request or its close), the oldest of the client address holding the
// most connections: a health checker sends its request at once, and a flood from one address churns
// its own connections. When every connection is busy being answered, the new one is closed at once.
// The accept loop outlives running out of file descriptors: it backs off, retries and logs once per
// burst.
//
// Thread-safety: the io_context must be run by one thread. Construct, start and stop the server on
// that thread, or before it runs. stats() may be called from any thread. Connections may outlive the
// server object: they finish (or are closed by stop()) on the io_context.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace sk::daemon {

struct HttpRequest {
  std::string method;
  std::string target;         // e.g. "/replica?max_age=2h"
  std::string authorization;  // the Authorization header; "" when absent. A secret: never log it.
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers = {};  // more fields, e.g. WWW-Authenticate
  // The status line's reason phrase; "" is the standard one ("OK"). HTTP clients ignore it, an HAProxy
  // agent check reads it (see api.hpp). Control characters are sent as spaces.
  std::string reason = {};
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpOptions {
  std::size_t max_connections = 64;
  // From accept to the end of the request (TLS handshake, header and any body): slow clients lose.
  std::chrono::milliseconds header_timeout{5000};
  // From accept to the last byte of the reply.
  std::chrono::milliseconds request_timeout{10000};
  std::uint32_t header_limit = 8 * 1024;  // bytes of request line and fields; more is answered 431
  std::uint64_t body_limit = 4 * 1024;    // no endpoint takes a body; more is answered 413
  // Between accepts while they fail (out of file descriptors, buffers or memory).
  std::chrono::milliseconds accept_backoff{100};
  // PEM text of the certificate chain and of its private key (a secret); both empty: plain HTTP.
  std::string tls_cert_pem = {};
  std::string tls_key_pem = {};
};

// Counts since the server started, for tests and diagnostics.
struct HttpStats {
  std::uint64_t accepted = 0;       // connections taken from the listen queue
  std::uint64_t open = 0;           // connections open now
  std::uint64_t shed = 0;           // idle ones closed to make room for a new one
  std::uint64_t refused = 0;        // closed at once: at the limit, and every connection being answered
  std::uint64_t timed_out = 0;      // closed at the header or request deadline
  std::uint64_t rejected = 0;       // answered 400, 413 or 431 without calling the handler
  std::uint64_t accept_errors = 0;  // failed accepts, e.g. out of file descriptors
  std::uint64_t answered = 0;       // replies from the handler written in full
};

namespace detail {
struct HttpShared;
}

class HttpServer {
 public:
  // Binds "IPv4:port" or "[IPv6]:port" (port 0: any free one) now. Throws sk::Error when it cannot:
  // port in use, not an IP address, a certificate or key OpenSSL refuses.
  HttpServer(boost::asio::io_context& io, const std::string& listen, HttpHandler handler, HttpOptions options = {});
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void start();
  // Closes the listening socket and every open connection; idempotent.
  void stop();
  unsigned short port() const;
  bool tls() const;
  bool loopback() const;  // listening on a loopback address only: reachable from this host alone
  HttpStats stats() const;

 private:
  std::shared_ptr<detail::HttpShared> shared_;
};

// True when `req` carries "Authorization: Bearer <token>". The comparison takes the same time
// whatever the header holds, so timing does not reveal the token. REQUIRES: token is not empty.
bool bearer_matches(const HttpRequest& req, std::string_view token);
// bearer_matches, or "Authorization: Basic" whose password is the token (any user name): what a browser
// sends after its login prompt, so a person can open the status page when a token is set. The same
// constant-time comparison. REQUIRES: token is not empty.
bool credentials_match(const HttpRequest& req, std::string_view token);

// 401 with "WWW-Authenticate: Basic realm=..." (a browser asks for the token as the password) and
// "WWW-Authenticate: Bearer".
HttpResponse unauthorized();

}  // namespace sk::daemon
