#pragma once
// `sitekeeper run`: one Boost.Asio io_context holds the scheduler's timer, the signal handlers and the
// HTTP API; jobs run on their own threads and report back. SIGTERM/SIGINT stop new work, cancel running
// jobs at their next safe point (a refresh before its swap drops its staging copy) and exit 0 within
// 10 s; SIGHUP reloads the config, keeping the old one when the new one is bad.
// Thread-safety: a Daemon is driven by run() on one thread; job threads talk to it through the runner
// and atomics only.
#include <memory>
#include <string>


namespace sk::daemon {

// Loads the config file (throws ConfigError), then serves until a stop signal. Returns the exit code.
int run_daemon(const std::string& config_file);

}  // namespace sk::daemon
