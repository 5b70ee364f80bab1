#include "integration_support.hpp"

#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <fstream>
#include <iostream>
#include <stdexcept>

namespace sk::test {

CommandResult run_capture(const std::vector<std::string>& argv, const Environment& env,
                          std::chrono::milliseconds timeout) {
  CommandResult r;
  RunOptions ro;
  ro.timeout = timeout;
  r.code = run_command(argv, env, &r.out, &r.err, ro);
  return r;
}

nlohmann::json parse_json(const CommandResult& r) {
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception&) {
    throw std::runtime_error("not JSON (exit " + std::to_string(r.code) + "): " + r.out + "\n" + r.err);
  }
}

void expect_ok(const CommandResult& r, const std::string& what) {
  ASSERT_EQ(r.code, 0) << what << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err;
}

std::string tail(const std::string& s, size_t n) { return s.size() <= n ? s : "..." + s.substr(s.size() - n); }

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

LogOnFailure::~LogOnFailure() {
  if (::testing::Test::HasFailure() || std::uncaught_exceptions() > 0)
    std::cerr << "---- daemon log ----\n" << tail(p.log()) << "\n--------------------\n";
}

void stop_daemon(BackgroundProcess& d) {
  d.signal(SIGTERM);
  auto rc = d.wait(std::chrono::seconds(60));
  EXPECT_TRUE(rc.has_value()) << "the daemon did not stop within 60 s of SIGTERM";
  if (rc) {
    EXPECT_EQ(*rc, 0) << "daemon exit code";
  }
}

// A blocking HTTP/1.1 client on a raw POSIX socket: one request, Connection: close.
HttpReply http_get(int port, const std::string& target) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  const std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                          "\r\nConnection: close\r\n\r\n";
  for (size_t sent = 0; sent < req.size();) {
    ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("send failed");
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[8192];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0) throw std::runtime_error("recv failed or timed out on " + target);
    if (n == 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  // "HTTP/1.1 200 OK\r\n...headers...\r\n\r\nbody"; the server closes after each reply, so the body is
  // everything after the blank line (Content-Length is set, but reading to EOF is simpler and safe).
  if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) throw std::runtime_error("not an HTTP reply: " + raw);
  HttpReply r;
  r.status = std::stoi(raw.substr(9, 3));
  auto sep = raw.find("\r\n\r\n");
  if (sep == std::string::npos) throw std::runtime_error("HTTP reply without a header end: " + raw);
  r.body = raw.substr(sep + 4);
  return r;
}

std::vector<std::string> run_crash_child(const std::string& test, const std::string& report_var,
                                         const std::filesystem::path& report) {
  const auto self = std::filesystem::read_symlink("/proc/self/exe").string();
  auto r = run_capture({self, "--gtest_filter=" + test}, {{report_var, report.string()}});
  if (r.code != 128 + SIGKILL)
    throw std::runtime_error(test + " exited with " + std::to_string(r.code) + ", not SIGKILL:\n" + r.out + r.err);
  std::vector<std::string> lines;
  std::ifstream in(report);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string http_section(int port) { return "[http]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n\n"; }

std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string toml_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const auto& i : items) out += (out.size() > 1 ? ", " : "") + toml_string(i);
  return out + "]";
}

std::string newest_generation(const std::filesystem::path& archive) {
  std::vector<std::string> ids;
  for (const auto& e : std::filesystem::directory_iterator(archive)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && !name.empty() && std::isdigit(static_cast<unsigned char>(name[0]))) ids.push_back(name);
  }
  std::sort(ids.begin(), ids.end());
  return ids.empty() ? "" : ids.back();
}

ServerConfig server_config(const PgCluster& c, const std::string& name) {
  ServerConfig s;
  s.name = name;
  s.host = c.host();
  s.port = c.port();
  s.user = c.superuser();
  s.password = c.password();
  return s;
}

}  // namespace sk::test
