#pragma once
// The service manager's side of sd_notify(3) for tests: a bound AF_UNIX datagram socket whose address
// is what $NOTIFY_SOCKET would hold. Unit tests of app/daemon/notify and the integration test of the
// real daemon both read what sitekeeper sends through it.
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

namespace sk::test {

class NotifySocket {
 public:
  // `abstract`: an abstract name ("@..."), else a path in a fresh folder whose name has a space.
  // Throws std::runtime_error when the socket cannot be bound.
  explicit NotifySocket(bool abstract) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    socklen_t len;
    if (abstract) {
      address_ = "@sitekeeper-notify-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++);
      std::memcpy(sa.sun_path, address_.data(), address_.size());
      sa.sun_path[0] = '\0';
      len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());
    } else {
      std::string tmpl = (std::filesystem::temp_directory_path() / "sk notify XXXXXX").string();
      if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
      dir_ = tmpl;
      address_ = (dir_ / "notify").string();
      std::memcpy(sa.sun_path, address_.c_str(), address_.size() + 1);
      len = static_cast<socklen_t>(sizeof sa);
    }
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), len) != 0) {
      const std::string why = std::strerror(errno);
      release();
      throw std::runtime_error("bind " + address_ + ": " + why);
    }
  }
  ~NotifySocket() { release(); }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  const std::string& address() const { return address_; }

  // The next datagram, or nullopt when none came within `timeout`.
  std::optional<std::string> receive(std::chrono::milliseconds timeout = std::chrono::seconds(2)) {
    timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    ssize_t n;
    do n = ::recv(fd_, buf, sizeof buf, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  }
  // True when a datagram is waiting.
  bool pending() {
    char c;
    return ::recv(fd_, &c, 1, MSG_DONTWAIT | MSG_PEEK) >= 0;
  }

 private:
  void release() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  static int& counter() {
    static int n = 0;
    return n;
  }
  int fd_ = -1;
  std::string address_;
  std::filesystem::path dir_;
};

}  // namespace sk::test
