// libFuzzer target: the daemon's HTTP server, as a hostile client meets it. Each input is written as
// raw bytes to a real HttpServer on loopback (one per process, with short deadlines so an incomplete
// request costs milliseconds), then the client half-closes and reads whatever comes back. The server
// must answer or close, never crash, leak or hang, and keep serving the next input. The handler checks
// the bearer token as the daemon does.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "app/daemon/http.hpp"

namespace {

struct Server {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<sk::daemon::HttpServer> http;
  std::thread thread;

  Server() {
    sk::daemon::HttpOptions o;
    o.header_timeout = std::chrono::milliseconds(50);
    o.request_timeout = std::chrono::milliseconds(100);
    o.max_connections = 8;
    http = std::make_unique<sk::daemon::HttpServer>(
        io, "127.0.0.1:0",
        [](const sk::daemon::HttpRequest& r) {
          if (r.target.rfind("/health", 0) != 0 && !sk::daemon::bearer_matches(r, "0123456789abcdef0123"))
            return sk::daemon::unauthorized();
          return sk::daemon::HttpResponse{200, "application/json", "{\"target\":" + std::to_string(r.target.size()) + "}"};
        },
        o);
    http->start();
    thread = std::thread([this] { io.run(); });
  }
};

Server& server() {
  static Server* s = new Server();  // lives for the whole fuzzing process
  return *s;
}

[[noreturn]] void give_up(const char* what) {
  std::fprintf(stderr, "fuzz_http: %s: %s\n", what, std::strerror(errno));
  std::abort();
}

// A connection to the server within 1 s; the answer then has 8 s, under libFuzzer's -timeout of 10 s.
// A connect that fails for a reason of this machine, not of the server (libFuzzer's alarm interrupting
// it, loopback ports in TIME_WAIT after thousands of connections a second), is tried again; a server
// that stays unreachable that long is a finding.
int connect_to(std::uint16_t port) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (;;) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) give_up("socket");
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    if (rc != 0 && errno == EINTR) {  // the connection goes on; wait for its outcome
      pollfd p{fd, POLLOUT, 0};
      while (::poll(&p, 1, 1000) < 0 && errno == EINTR) {
      }
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      rc = err == 0 && (p.revents & POLLOUT) ? 0 : -1;
      errno = err;
    }
    if (rc == 0) return fd;
    ::close(fd);
    if (std::chrono::steady_clock::now() > deadline) give_up("connect");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Server& s = server();
  const int fd = connect_to(s.http->port());
  size_t sent = 0;
  // libFuzzer's alarm (its -timeout check, every second) interrupts system calls: EINTR is no finding.
  while (sent < size) {
    ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the server closed early (oversized header): fine
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  char buf[4096];
  // The server's own deadline is 100 ms, so a connection kept open much longer is a hang: 8 s in all,
  // under libFuzzer's -timeout of 10 s.
  const auto answer_by = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(answer_by - std::chrono::steady_clock::now());
    if (left.count() <= 0) give_up("no answer within 8 s");
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) give_up("poll");
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
  }
  ::close(fd);
  return 0;
}
