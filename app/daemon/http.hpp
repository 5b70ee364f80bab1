#pragma once
// A small HTTP/1.1 server (Boost.Beast) on the daemon's io_context. Each request is answered by a
// handler that must not block (it reads in-memory snapshots), then the connection is closed.
// Thread-safety: runs entirely on the io_context's thread.
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace sk::daemon {

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// `target` is the request target, e.g. "/replica?max_age=2h".
using HttpHandler = std::function<HttpResponse(const std::string& method, const std::string& target)>;

class HttpServer {
 public:
  // Binds "host:port" now; throws sk::Error when it cannot (port in use, bad address).
  HttpServer(boost::asio::io_context& io, const std::string& listen, HttpHandler handler);
  ~HttpServer();
  void start();
  void stop();
  unsigned short port() const;

 private:
  void accept();
  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<HttpHandler> handler_;
};

}  // namespace sk::daemon
