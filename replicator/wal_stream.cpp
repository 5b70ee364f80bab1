#include "replicator/wal_stream.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "replicator/archive.hpp"

namespace sk::replicator {

namespace {

auto logger() { return log::get("wal"); }

constexpr std::chrono::milliseconds kFirstBackoff{1000};
constexpr std::chrono::milliseconds kMaxBackoff{30000};
constexpr std::chrono::seconds kSteadyRun{60};      // a stream that ran this long restarts at once
constexpr std::chrono::seconds kAlertAfter{60};     // down or unreadable this long: one alert
constexpr std::size_t kMaxPending = 1000;

std::string seconds_text(std::chrono::milliseconds d) {
  const auto s = (d.count() + 999) / 1000;
  return std::to_string(s) + " s";
}

// The WAL folder belongs to one database system: a server restored logically (recover --server) or
// rebuilt with initdb is another system, whose WAL would sit beside the old one's under the same names
// and replay onto nothing. The first stream writes the system's id into the folder; a stream from
// another system is refused until the operator moves the folder aside.
void claim_folder(const fs::path& dir, const std::string& server, const std::string& system) {
  if (system.empty()) return;
  std::error_code ec;
  fs::create_directories(dir, ec);
  const fs::path mark = dir / kWalSystemFile;
  if (!fs::exists(mark, ec)) {
    write_file_durable(mark, system + "\n");
    return;
  }
  std::string held = read_file(mark);
  while (!held.empty() && (held.back() == '\n' || held.back() == '\r')) held.pop_back();
  if (held != system)
    throw SafetyError(server + " is database system " + system + ", but the WAL in " + show_path(dir) +
                          " is of system " + held,
                      "that WAL belongs to the old site; move the folder aside (keep it while its base backups are "
                      "kept) and the stream starts a new one");
}

}  // namespace

struct WalStream::Worker {
  std::string server;
  CancelToken cancel;
  std::atomic<bool> done{false};
  std::string error;  // written by the thread before `done`
  std::chrono::steady_clock::time_point started;
  std::thread thread;
};

nlohmann::json to_json(const WalStreamStatus& s, Clock::time_point now) {
  nlohmann::json j = {{"state", s.state},       {"server", s.server},     {"sentence", s.sentence},
                      {"error", s.error},       {"restarts", s.restarts}, {"since", iso_utc(s.since)},
                      {"newest_wal_at", nullptr}, {"age_seconds", nullptr}};
  if (s.newest) {
    j["newest_wal_at"] = iso_utc(*s.newest);
    j["age_seconds"] = std::max(0.0, std::chrono::duration<double>(now - *s.newest).count());
  }
  return j;
}

nlohmann::json read_wal_stream(StateStore& state, Clock::time_point now) {
  auto text = state.get(kWalStreamKey);
  if (!text) return nullptr;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) return nullptr;
  Clock::time_point t;
  if (j.contains("newest_wal_at") && j["newest_wal_at"].is_string() &&
      parse_iso_utc(j["newest_wal_at"].get<std::string>(), t))
    j["age_seconds"] = std::max(0.0, std::chrono::duration<double>(now - t).count());
  return j;
}

WalStream::WalStream(std::function<std::shared_ptr<const Config>()> cfg, StateStore& state, sql::EngineFactory engines,
                     std::shared_ptr<Clock> clock, WalStreamHooks hooks)
    : cfg_(std::move(cfg)), state_(state), engines_(std::move(engines)), clock_(std::move(clock)), hooks_(std::move(hooks)) {
  status_.since = clock_->now();
}

WalStream::~WalStream() { stop(); }

void WalStream::start(std::chrono::milliseconds every) {
  loop_ = std::thread([this, every] {
    std::unique_lock lock(loop_mu_);
    std::string said;
    while (!stopping_) {
      lock.unlock();
      try {
        if (auto s = tick(); s != said) logger()->info("{}", said = s);
      } catch (const std::exception& e) {  // the daemon goes on; the next tick tries again
        logger()->error("WAL stream: {}", e.what());
      }
      lock.lock();
      loop_cv_.wait_for(lock, every, [this] { return stopping_; });
    }
  });
}

void WalStream::stop() {
  {
    std::lock_guard lock(loop_mu_);
    stopping_ = true;
  }
  loop_cv_.notify_all();
  if (loop_.joinable()) loop_.join();
  stop_worker();
}

WalStreamStatus WalStream::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void WalStream::set_state(const std::string& state) {
  std::lock_guard lock(mu_);
  if (status_.state != state) status_.since = clock_->now();
  status_.state = state;
}

void WalStream::stop_worker() {
  if (!worker_) return;
  worker_->cancel.cancel();
  if (worker_->thread.joinable()) worker_->thread.join();
  worker_.reset();
}

void WalStream::start_worker(const Config& cfg) {
  auto w = std::make_unique<Worker>();
  w->server = cfg.roles.active;
  w->started = clock_->steady_now();
  const ServerConfig server = cfg.server(cfg.roles.active);
  const fs::path dir = wal_archive_dir(cfg);
  Worker* raw = w.get();
  w->thread = std::thread([this, raw, server, dir] {
    try {
      auto engine = engines_(server);
      engine->bound_connect(std::chrono::seconds(5));
      engine->prepare_wal_stream(kWalStreamSlot);
      claim_folder(dir, server.name, engine->wal_stream_state(kWalStreamSlot).system);
      engine->stream_wal(dir, kWalStreamSlot, &raw->cancel);
    } catch (const std::exception& e) {
      raw->error = e.what();
    }
    raw->done = true;
    if (hooks_.stream_ended) hooks_.stream_ended(server.name);
  });
  worker_ = std::move(w);
}

void WalStream::measure(const Config& cfg) {
  if (!reader_ || reader_server_ != cfg.roles.active) {
    reader_ = engines_(cfg.server(cfg.roles.active));
    reader_->bound_connect(std::chrono::seconds(2));
    reader_->keep_sessions();
    reader_server_ = cfg.roles.active;
    pending_.clear();
  }
  const auto now = clock_->now();
  const sql::WalStreamState w = reader_->wal_stream_state(kWalStreamSlot);
  if (!w.current.empty()) {
    pending_.emplace_back(w.current, now);
    if (pending_.size() > kMaxPending) pending_.pop_front();
  }
  if (w.received.empty()) return;
  // Every reading the stream has since received: the newest of them dates the archive's WAL.
  std::optional<Clock::time_point> newest;
  while (!pending_.empty() && reader_->wal_distance(pending_.front().first, w.received) == 0) {
    newest = pending_.front().second;
    pending_.pop_front();
  }
  if (newest) {
    std::lock_guard lock(mu_);
    status_.newest = newest;
  }
  if (w.active && worker_ && !worker_->done) set_state("streaming");
}

std::string WalStream::tick() {
  const auto cfg = cfg_();
  const auto steady = clock_->steady_now();
  std::string sentence;
  if (!cfg->archive.wal_stream || cfg->roles.active.empty()) {
    stop_worker();
    reader_.reset();
    trouble_since_.reset();
    set_state("off");
    sentence = "the WAL stream is off";
  } else {
    const std::string& active = cfg->roles.active;
    const std::string dir = show_path(wal_archive_dir(*cfg));
    if (worker_ && worker_->server != active) {
      stop_worker();
      backoff_ = std::chrono::milliseconds(0);
      next_start_ = steady;
      sentence = "moving the WAL stream to " + active + ", the active in force";
    }
    if (worker_ && worker_->done) {
      const bool steady_run = steady - worker_->started >= kSteadyRun;
      const std::string why = worker_->error.empty() ? "the stream ended" : worker_->error;
      stop_worker();
      backoff_ = steady_run ? kFirstBackoff : std::clamp(backoff_ * 2, kFirstBackoff, kMaxBackoff);
      next_start_ = steady + backoff_;
      {
        std::lock_guard lock(mu_);
        status_.error = why;
        ++status_.restarts;
      }
      set_state("down");
      sentence = "the WAL stream from " + active + " stopped: " + why + "; restarting it in " + seconds_text(backoff_);
    }
    if (!worker_ && steady >= next_start_) {
      start_worker(*cfg);
      set_state("starting");
      if (sentence.empty()) sentence = "starting the WAL stream from " + active + " into " + dir;
    } else if (!worker_ && sentence.empty()) {
      sentence = "the WAL stream from " + active + " is down: " + status().error + "; restarting it in " +
                 seconds_text(std::chrono::duration_cast<std::chrono::milliseconds>(next_start_ - steady));
    }
    {
      std::lock_guard lock(mu_);
      status_.server = active;
    }
    try {
      measure(*cfg);
    } catch (const std::exception& e) {
      reader_.reset();  // a new session next time
      if (sentence.empty()) sentence = "cannot read the WAL position of " + active + ": " + e.what();
    }
    const bool streaming = status().state == "streaming";
    if (sentence.empty()) sentence = streaming ? "streaming WAL from " + active + " into " + dir
                                               : "starting the WAL stream from " + active + " into " + dir;
    if (streaming && sentence.rfind("cannot read", 0) != 0) {
      trouble_since_.reset();
      alerted_ = false;
    } else if (!trouble_since_) {
      trouble_since_ = steady;
    } else if (!alerted_ && steady - *trouble_since_ >= kAlertAfter) {
      alerted_ = true;
      const std::string error = status().error;
      const std::string why = sentence.rfind("cannot read", 0) == 0 || error.empty() ? sentence : "last error: " + error;
      if (hooks_.alert) hooks_.alert("the WAL stream from " + active + " has not kept up for a minute; " + why);
    }
  }
  WalStreamStatus now;
  {
    std::lock_guard lock(mu_);
    status_.sentence = sentence;
    now = status_;
  }
  state_.put(kWalStreamKey, to_json(now, clock_->now()).dump());
  return sentence;
}

}  // namespace sk::replicator
