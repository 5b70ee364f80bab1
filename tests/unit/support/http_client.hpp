#pragma once
// A GET over TLS for tests of the daemon's HTTP API, with Boost.Beast: every step is bounded by the
// stream's expiry, so a server that never answers fails the test instead of hanging it.
#include <chrono>
#include <stdexcept>
#include <string>

#include <openssl/evp.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace sk::test {

// The value of "Authorization: Basic ..." for `user_pass` ("user:password"), as a browser sends it.
inline std::string basic_credentials(const std::string& user_pass) {
  std::string out(4 * ((user_pass.size() + 2) / 3) + 1, '\0');
  out.resize(static_cast<std::size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                                      reinterpret_cast<const unsigned char*>(user_pass.data()),
                                                      static_cast<int>(user_pass.size()))));
  return "Basic " + out;
}

struct TlsReply {
  int status = 0;
  std::string body;
};

// GET https://127.0.0.1:port<target>, trusting `ca_pem` only and checking that the certificate names
// 127.0.0.1; `authorization` is sent as the Authorization header when not empty. Throws
// std::runtime_error on any failure, TLS or HTTP.
inline TlsReply tls_get(unsigned short port, const std::string& target, const std::string& ca_pem,
                        const std::string& authorization = "",
                        std::chrono::steady_clock::duration timeout = std::chrono::seconds(30)) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  namespace ssl = asio::ssl;
  asio::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  ctx.add_certificate_authority(asio::buffer(ca_pem));
  ctx.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> s(io, ctx);
  s.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
  beast::get_lowest_layer(s).expires_after(timeout);
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!authorization.empty()) req.set(http::field::authorization, authorization);
  http::response<http::string_body> res;
  beast::flat_buffer buf;
  beast::error_code result = asio::error::would_block;
  const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
  beast::get_lowest_layer(s).async_connect(ep, [&](beast::error_code ec) {
    if (ec) return void(result = ec);
    s.async_handshake(ssl::stream_base::client, [&](beast::error_code ec) {
      if (ec) return void(result = ec);
      http::async_write(s, req, [&](beast::error_code ec, std::size_t) {
        if (ec) return void(result = ec);
        http::async_read(s, buf, res, [&](beast::error_code ec, std::size_t) { result = ec; });
      });
    });
  });
  io.run();
  if (result) throw std::runtime_error("tls_get " + target + ": " + result.message());
  return {static_cast<int>(res.result_int()), res.body()};
}

}  // namespace sk::test
