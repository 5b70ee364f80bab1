#include "app/daemon/notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace sk::daemon::notify {

bool send(const std::string& address, const std::string& message) {
  if (address.empty() || (address[0] != '/' && address[0] != '@')) return false;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (address.size() > sizeof sa.sun_path) return false;
  std::memcpy(sa.sun_path, address.data(), address.size());
  if (sa.sun_path[0] == '@') sa.sun_path[0] = '\0';  // abstract namespace: no trailing NUL either
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
  if (address[0] == '/' && address.size() < sizeof sa.sun_path) ++len;  // a path's terminating NUL

  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  ssize_t n;
  do {
    n = ::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&sa), len);
  } while (n < 0 && errno == EINTR);
  ::close(fd);
  return n == static_cast<ssize_t>(message.size());
}

bool notify(const std::string& message) {
  const char* address = std::getenv("NOTIFY_SOCKET");
  return address && send(address, message);
}

std::string status(const std::string& sentence) {
  std::string line = sentence;
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  return "STATUS=" + line;
}

std::string ready() { return "READY=1"; }

std::string reloading() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const long long usec = static_cast<long long>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
  return "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec);
}

std::string stopping() { return "STOPPING=1"; }

}  // namespace sk::daemon::notify
