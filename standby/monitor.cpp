#include "standby/monitor.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "replicator/context.hpp"
#include "standby/failover.hpp"
#include "standby/site_state.hpp"

namespace sk::standby {

namespace {
auto logger() { return log::get("standby"); }
constexpr auto kMarksEvery = std::chrono::seconds(5);  // "at least every 10 s"
// A WAL receiver reports "streaming" until wal_receiver_timeout after a silent machine death; a walsender
// sends a keepalive at least every wal_sender_timeout / 2 (30 s by default), so silence beyond that means
// the standby no longer hears the active.
constexpr double kWitnessSilence = 35.0;
}  // namespace

Monitor::Monitor(std::function<std::shared_ptr<const Config>()> cfg, StateStore& state, JobRecorder& jobs,
                 sql::EngineFactory engines, std::shared_ptr<ProcessRunner> runner, std::shared_ptr<Clock> clock,
                 const CancelToken* cancel, MonitorHooks hooks)
    : cfg_(std::move(cfg)), state_(state), jobs_(jobs), engines_(std::move(engines)), runner_(std::move(runner)),
      clock_(std::move(clock)), cancel_(cancel), hooks_(std::move(hooks)) {}

Monitor::~Monitor() { stop(); }

void Monitor::start() { thread_ = std::thread([this] { loop(); }); }

void Monitor::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (promotion_.joinable()) promotion_.join();
}

std::string Monitor::active_error() const {
  std::lock_guard lock(mu_);
  return active_error_;
}

std::optional<bool> Monitor::active_up() const {
  std::lock_guard lock(mu_);
  return active_up_;
}

Decision Monitor::last_decision() const {
  std::lock_guard lock(mu_);
  return last_;
}

Snapshot Monitor::snapshot(const Config& cfg) {
  SiteState site(state_);
  Snapshot s;
  s.automatic = cfg.failover.mode == "automatic";
  s.paused = site.paused();
  s.has_standby = !cfg.roles.standby.empty();
  s.action_running = promoting_.load();
  s.journal_open = interrupted_failover(state_);
  s.failures_needed = cfg.failover.failures;
  s.max_lag = cfg.failover.max_lag;
  const std::string db = cfg.site.database;
  const auto& target = cfg.server(cfg.roles.active);
  const std::string key = target.name + "@" + target.host + ":" + std::to_string(target.port) + "/" + target.transport;
  if (!probed_ || probed_name_ != key) {  // a failover or a reload points the probe elsewhere
    probed_ = engines_(target);
    probed_name_ = key;
  }
  sql::Engine* active = probed_.get();
  try {
    auto p = active->probe(cfg.failover.probe_timeout);
    s.active_reachable = !p.in_recovery;
    probe_error_ = p.in_recovery ? "the active server is in recovery" : "";
    failures_ = 0;
  } catch (const std::exception& e) {
    probe_error_ = e.what();
    s.active_reachable = false;
    ++failures_;
    if (hooks_.probe_failed) hooks_.probe_failed(cfg.roles.active);
  }
  s.failures = failures_;
  if (s.active_reachable && std::chrono::steady_clock::now() - last_marks_ >= kMarksEvery) {
    try {
      std::map<std::string, std::int64_t> marks;
      for (const auto& v : active->read_serials(db)) marks[v.schema + "." + v.name] = v.value;
      site.merge_serial_marks(marks);
      site.set_last_active_lsn(active->wal_position());
      last_marks_ = std::chrono::steady_clock::now();
    } catch (const std::exception& e) {
      logger()->warn("could not record serial high-water marks: {}", e.what());
    }
  }
  // The standby is asked every tick only while the active is failing; otherwise every 5 s (lag report).
  const bool ask_standby = s.failures > 0 || std::chrono::steady_clock::now() - last_standby_ >= kMarksEvery;
  if (s.has_standby && !ask_standby) {
    s.standby_reachable = last_standby_reachable_;
    s.standby_in_recovery = last_standby_in_recovery_;
    s.lag_bytes = last_lag_;
  }
  if (s.has_standby && ask_standby) {
    last_standby_ = std::chrono::steady_clock::now();
    try {
      auto standby = engines_(cfg.server(cfg.roles.standby));
      auto p = standby->probe(cfg.failover.probe_timeout);
      s.standby_reachable = true;
      s.standby_in_recovery = p.in_recovery;
      const std::string last = site.last_active_lsn();
      if (p.in_recovery && !last.empty()) s.lag_bytes = standby->wal_distance(last, standby->wal_position());
      if (!s.active_reachable && s.failures >= s.failures_needed) {
        auto rs = standby->replication_state();
        // Witness: streaming AND heard from recently; either alone can lie (see DESIGN pitfalls).
        s.witness_hears_active = rs.state == "streaming" && rs.seconds_since_message < kWitnessSilence;
      }
      if (hooks_.lag) hooks_.lag(static_cast<double>(s.lag_bytes), 0);
    } catch (const std::exception&) {
      s.standby_reachable = false;
    }
    last_standby_reachable_ = s.standby_reachable;
    last_standby_in_recovery_ = s.standby_in_recovery;
    last_lag_ = s.lag_bytes;
  }
  replicator::JobContext ctx{cfg, state_, engines_, runner_, clock_, nullptr};
  try {
    s.stale_writable = stale_writable_servers(ctx);
  } catch (const std::exception&) {
  }
  return s;
}

void Monitor::act(const Config& cfg, const Decision& d, const Snapshot& s) {
  if (d.action == Action::kRefence) {
    for (const auto& server : s.stale_writable) {
      try {
        engines_(cfg.server(server))->fence(cfg.site.database);
        logger()->warn("server {} fenced again", server);
      } catch (const std::exception& e) {
        logger()->error("could not fence {} again: {}", server, e.what());
      }
    }
    return;
  }
  if (d.action != Action::kFailover && d.action != Action::kResume) return;
  if (promoting_.exchange(true)) return;
  if (promotion_.joinable()) promotion_.join();
  auto cfg_copy = std::make_shared<const Config>(cfg);
  promotion_ = std::thread([this, cfg_copy] {
    replicator::JobContext ctx{*cfg_copy, state_, engines_, runner_, clock_, cancel_};
    RunbookOptions o;
    o.automatic = true;
    jobs_.run_quietly("failover", cfg_copy->roles.standby, [&] { return run_failover(ctx, o); });
    failures_ = 0;
    promoting_ = false;
  });
}

void Monitor::loop() {
  for (;;) {
    auto cfg = cfg_();
    Config eff = effective_config(*cfg, state_);
    Snapshot s = snapshot(eff);
    Decision d = decide(s);
    {
      std::lock_guard lock(mu_);
      if (d.sentence != last_.sentence) {
        if (d.action == Action::kNone) logger()->info("{}", d.sentence);
        else logger()->warn("{}", d.sentence);
      }
      last_ = d;
      active_up_ = s.active_reachable;
      active_error_ = probe_error_;
    }
    act(eff, d, s);
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, cfg->failover.probe_interval, [this] { return stop_; });
    if (stop_) return;
  }
}

}  // namespace sk::standby
