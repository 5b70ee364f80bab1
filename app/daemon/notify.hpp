#pragma once
// The service manager's notification protocol (sd_notify(3)), without libsystemd: one datagram of
// newline-separated VAR=VALUE assignments to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or an
// abstract name written with a leading '@'). `sitekeeper run` sends READY=1 once its HTTP API listens
// and the HA monitor runs, RELOADING=1 then READY=1 around a SIGHUP reload, STOPPING=1 when it stops,
// and STATUS=<the HA decision> when that changes.
// Thread-safety: every function may be called from any thread.
#include <string>

namespace sk::daemon::notify {

// Sends `message` to the socket `address` ("/run/systemd/notify", "@name"). Returns false when the
// address is empty, not an AF_UNIX name (systemd's vsock: addresses are not supported), too long, or the
// datagram could not be sent. Never throws, never blocks on a full socket.
bool send(const std::string& address, const std::string& message);

// send() to $NOTIFY_SOCKET; false (and nothing sent) when the variable is unset, as outside systemd.
bool notify(const std::string& message);

// The messages, one place for their spelling. STATUS= takes one line: newlines become spaces.
std::string ready();
std::string reloading();  // RELOADING=1 with MONOTONIC_USEC, as systemd >= 253 wants it
std::string stopping();
std::string status(const std::string& sentence);

}  // namespace sk::daemon::notify
