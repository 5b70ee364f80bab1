#pragma once
// The WAL stream of [archive] wal_stream: the daemon keeps the active server's WAL flowing into
// <archive>/wal (wal_archive_dir), so that recover can roll a base backup forward to the last second.
//
// One supervisor per daemon. Each tick looks at the configuration in force (the roles after a failover)
// and makes one decision, returned as a sentence that is logged when it changes:
//   "the WAL stream is off"
//   "starting the WAL stream from cm1 into <dir>"
//   "streaming WAL from cm1 into <dir>"
//   "the WAL stream from cm1 stopped: <why>; restarting it in 2 s"
//   "moving the WAL stream to cm2, the active in force"
// The stream itself (Engine::stream_wal, which blocks) runs on a thread of its own; moving or stopping it
// cancels that thread's token. After a failure the next start waits 1 s, doubling up to 30 s; a stream
// that ran for a minute or more starts over at 1 s. The slot is created on whichever server is the
// active (slots do not follow a promotion), and the stream resumes after the newest WAL in the folder.
//
// How current the archive is: each tick reads the active's flushed WAL position; the newest reading
// that the stream's slot has since passed is the time of the newest WAL known to be in the archive.
// Its age is the metric and the status page's figure; it grows while the stream is down or the
// active cannot be read, and stays within about one tick while the stream keeps up.
//
// Thread-safety: tick() from one thread at a time (the supervisor's own once start()ed); status() from
// any thread.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/state/store.hpp"
#include "sql/engine.hpp"

namespace sk::replicator {

inline constexpr const char* kWalStreamSlot = "sitekeeper_wal_stream";
// The state store key under which each tick leaves its status (JSON), so that `sitekeeper status` in
// another process sees the daemon's stream.
inline constexpr const char* kWalStreamKey = "wal_stream";
// In the WAL folder: the database system its WAL belongs to (a stream from another system is refused).
inline constexpr const char* kWalSystemFile = "sitekeeper.system";

struct WalStreamStatus {
  std::string state = "off";  // off | starting | streaming | down
  std::string server;         // the active it streams (or last streamed) from
  std::string sentence;       // the last decision
  std::string error;          // why it last stopped; "" when it never did
  int restarts = 0;           // starts after a failure since the daemon began
  std::optional<Clock::time_point> newest;  // the newest WAL known received was written at or after this
  Clock::time_point since{};  // when `state` last changed
};

// The status as the API, the page and `status` show it: state, server, sentence, error, restarts,
// "newest_wal_at" (ISO) and "age_seconds" (null when nothing is known yet), "since".
nlohmann::json to_json(const WalStreamStatus& s, Clock::time_point now);
// What the daemon last wrote under kWalStreamKey, with the age recomputed for `now`; null when the
// stream never ran here. Never throws for a damaged value (null).
nlohmann::json read_wal_stream(StateStore& state, Clock::time_point now);

struct WalStreamHooks {
  // Called once when the stream has been down (or its active unreadable) for a minute, with the
  // sentence to alert with; again only after it streamed in between.
  std::function<void(const std::string&)> alert;
  // Called on the stream's own thread once a stream from `server` has ended (failed or cancelled) and
  // the next tick will see it.
  std::function<void(const std::string& server)> stream_ended;
};

class WalStream {
 public:
  // `cfg` returns the configuration in force, with the roles in force (after a failover).
  WalStream(std::function<std::shared_ptr<const Config>()> cfg, StateStore& state, sql::EngineFactory engines,
            std::shared_ptr<Clock> clock, WalStreamHooks hooks = {});
  ~WalStream();  // stop()

  // Runs tick() every `every` on a thread of its own until stop().
  void start(std::chrono::milliseconds every);
  // Ends the supervisor thread and the stream (the tool is killed; what it flushed stays). Idempotent.
  void stop();

  // One decision (see the top of this file); returns its sentence.
  std::string tick();
  WalStreamStatus status() const;

 private:
  struct Worker;
  void stop_worker();
  void start_worker(const Config& cfg);
  void measure(const Config& cfg);
  void set_state(const std::string& state);

  std::function<std::shared_ptr<const Config>()> cfg_;
  StateStore& state_;
  sql::EngineFactory engines_;
  std::shared_ptr<Clock> clock_;
  WalStreamHooks hooks_;

  mutable std::mutex mu_;  // guards status_
  WalStreamStatus status_;

  std::unique_ptr<Worker> worker_;
  std::unique_ptr<sql::Engine> reader_;  // reads the active's positions; kept between ticks
  std::string reader_server_;
  std::deque<std::pair<std::string, Clock::time_point>> pending_;  // positions read, not yet received
  std::chrono::steady_clock::time_point next_start_{};
  std::chrono::milliseconds backoff_{0};
  std::optional<std::chrono::steady_clock::time_point> trouble_since_;  // down or unreadable since
  bool alerted_ = false;

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stopping_ = false;
  std::thread loop_;
};

}  // namespace sk::replicator
