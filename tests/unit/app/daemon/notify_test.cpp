// The sd_notify protocol against a datagram socket the test binds: a path and an abstract name, the
// message bytes exactly, and every address it must refuse without sending.
#include "app/daemon/notify.hpp"

#include <cstdlib>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "support/notify_socket.hpp"

namespace sk::daemon {
namespace {

using Listener = sk::test::NotifySocket;

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
