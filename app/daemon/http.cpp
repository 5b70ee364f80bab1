#include "app/daemon/http.hpp"

#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/error.hpp"
#include "core/log.hpp"

namespace sk::daemon {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<HttpHandler> handler)
      : stream_(std::move(socket)), handler_(std::move(handler)) {}

  void run() {
    stream_.expires_after(std::chrono::seconds(10));
    http::async_read(stream_, buffer_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) self->respond();
    });
  }

 private:
  void respond() {
    HttpResponse r;
    try {
      r = (*handler_)(std::string(req_.method_string()), std::string(req_.target()));
    } catch (const std::exception& e) {
      r = {500, "application/json", std::string("{\"error\":\"") + "internal error" + "\"}"};
      log::get("http")->error("handler failed for {}: {}", std::string(req_.target()), e.what());
    }
    res_.result(static_cast<http::status>(r.status));
    res_.version(req_.version());
    res_.set(http::field::server, "sitekeeper");
    res_.set(http::field::content_type, r.content_type);
    res_.keep_alive(false);
    res_.body() = std::move(r.body);
    res_.prepare_payload();
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code, std::size_t) {
      beast::error_code ec;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  std::shared_ptr<HttpHandler> handler_;
};

tcp::endpoint parse_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw ConfigError("http.listen must be host:port, got " + listen);
  std::string host = listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) throw ConfigError("http.listen: not an IP address: " + host);
  return {addr, static_cast<unsigned short>(std::stoi(listen.substr(colon + 1)))};
}

}  // namespace

HttpServer::HttpServer(boost::asio::io_context& io, const std::string& listen, HttpHandler handler)
    : io_(io), acceptor_(io), handler_(std::make_shared<HttpHandler>(std::move(handler))) {
  auto ep = parse_listen(listen);
  boost::system::error_code ec;
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) throw Error("cannot listen on " + listen + ": " + ec.message(), "is another sitekeeper running?");
}

HttpServer::~HttpServer() { stop(); }

unsigned short HttpServer::port() const { return acceptor_.local_endpoint().port(); }

void HttpServer::start() { accept(); }

void HttpServer::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

void HttpServer::accept() {
  acceptor_.async_accept(boost::asio::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;  // closed
    std::make_shared<Session>(std::move(socket), handler_)->run();
    accept();
  });
}

}  // namespace sk::daemon
