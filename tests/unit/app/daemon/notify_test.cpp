// The sd_notify protocol against a datagram socket the test binds: a path and an abstract name, the
// message bytes exactly, and every address it must refuse without sending.
#include "app/daemon/notify.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace sk::daemon {
namespace {

namespace fs = std::filesystem;

// A bound AF_UNIX datagram socket: `address` is what $NOTIFY_SOCKET would hold.
class Listener {
 public:
  // `abstract`: an abstract name ("@..."), else a path in a fresh folder whose name has a space.
  explicit Listener(bool abstract) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    timeval tv{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    socklen_t len;
    if (abstract) {
      address_ = "@sitekeeper-notify-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++);
      std::memcpy(sa.sun_path, address_.data(), address_.size());
      sa.sun_path[0] = '\0';
      len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());
    } else {
      std::string tmpl = (fs::temp_directory_path() / "sk notify XXXXXX").string();
      if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
      dir_ = tmpl;
      address_ = (dir_ / "notify").string();
      std::memcpy(sa.sun_path, address_.c_str(), address_.size() + 1);
      len = static_cast<socklen_t>(sizeof sa);
    }
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), len) != 0)
      throw std::runtime_error("bind " + address_ + ": " + std::strerror(errno));
  }
  ~Listener() {
    ::close(fd_);
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  const std::string& address() const { return address_; }

  // The next datagram, or nullopt after 2 s.
  std::optional<std::string> receive() {
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  }
  // True when a datagram is waiting.
  bool pending() {
    char c;
    return ::recv(fd_, &c, 1, MSG_DONTWAIT | MSG_PEEK) >= 0;
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  int fd_ = -1;
  std::string address_;
  fs::path dir_;
};

// Sets $NOTIFY_SOCKET for one test and puts the old value back.
class NotifySocketVar {
 public:
  explicit NotifySocketVar(const std::optional<std::string>& value) {
    if (const char* old = std::getenv("NOTIFY_SOCKET")) old_ = old;
    if (value) ::setenv("NOTIFY_SOCKET", value->c_str(), 1);
    else ::unsetenv("NOTIFY_SOCKET");
  }
  ~NotifySocketVar() {
    if (old_) ::setenv("NOTIFY_SOCKET", old_->c_str(), 1);
    else ::unsetenv("NOTIFY_SOCKET");
  }

 private:
  std::optional<std::string> old_;
};

TEST(Notify, ReadyReachesAPathSocket) {
  Listener l(false);
  NotifySocketVar var(l.address());
  ASSERT_TRUE(notify::notify(notify::ready()));
  EXPECT_EQ(l.receive(), "READY=1");
}

TEST(Notify, ReadyReachesAnAbstractSocketWrittenWithAnAt) {
  Listener l(true);
  ASSERT_EQ(l.address()[0], '@');
  NotifySocketVar var(l.address());
  ASSERT_TRUE(notify::notify(notify::ready()));
  EXPECT_EQ(l.receive(), "READY=1");
}

TEST(Notify, EachMessageIsOneDatagramInOrder) {
  Listener l(true);
  ASSERT_TRUE(notify::send(l.address(), notify::reloading()));
  ASSERT_TRUE(notify::send(l.address(), notify::ready()));
  ASSERT_TRUE(notify::send(l.address(), notify::status("active cm1 is up\nstandby cm2 streams")));
  ASSERT_TRUE(notify::send(l.address(), notify::stopping()));
  auto reloading = l.receive();
  ASSERT_TRUE(reloading);
  EXPECT_EQ(reloading->rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << *reloading;
  const std::string usec = reloading->substr(reloading->find('=', 12) + 1);
  EXPECT_FALSE(usec.empty());
  EXPECT_EQ(usec.find_first_not_of("0123456789"), std::string::npos) << usec;
  EXPECT_EQ(l.receive(), "READY=1");
  EXPECT_EQ(l.receive(), "STATUS=active cm1 is up standby cm2 streams");  // one line
  EXPECT_EQ(l.receive(), "STOPPING=1");
}

TEST(Notify, WithoutTheVariableNothingIsSent) {
  NotifySocketVar var(std::nullopt);
  EXPECT_FALSE(notify::notify(notify::ready()));
}

TEST(Notify, AddressesItCannotUseAreRefused) {
  Listener l(false);
  EXPECT_FALSE(notify::send("", "READY=1"));
  EXPECT_FALSE(notify::send("relative/notify", "READY=1"));
  EXPECT_FALSE(notify::send("vsock:2:1234", "READY=1"));
  EXPECT_FALSE(notify::send("/" + std::string(200, 'x'), "READY=1"));  // longer than sun_path
  EXPECT_FALSE(notify::send(l.address() + ".missing", "READY=1"));     // nobody listens there
  EXPECT_FALSE(l.pending());
}

}  // namespace
}  // namespace sk::daemon
