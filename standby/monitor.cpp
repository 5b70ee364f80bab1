#include "standby/monitor.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "replicator/context.hpp"
#include "standby/failover.hpp"
#include "standby/site_state.hpp"

namespace sk::standby {

namespace {
auto logger() { return log::get("standby"); }
constexpr auto kMarksEvery = std::chrono::seconds(5);  // serial marks, WAL position, epoch, lag
// Standbys built before sitekeeper set wal_receiver_timeout ask for a reply after 30 s of silence.
constexpr double kDefaultHeardEvery = 30.0;

// Which server an engine talks to: a failover or a reload points it elsewhere.
std::string server_key(const ServerConfig& s) {
  return s.name + "@" + s.host + ":" + std::to_string(s.port) + "/" + s.transport;
}

bool acts(Action a) {
  return a == Action::kFailover || a == Action::kResume || a == Action::kRefence || a == Action::kRefuse ||
         a == Action::kAskWitness;
}
}  // namespace

Monitor::Monitor(std::function<std::shared_ptr<const Config>()> cfg, StateStore& state, JobRecorder& jobs,
                 sql::EngineFactory engines, std::shared_ptr<ProcessRunner> runner, std::shared_ptr<Clock> clock,
                 const CancelToken* cancel, MonitorHooks hooks)
    : cfg_(std::move(cfg)), state_(state), jobs_(jobs), engines_(std::move(engines)), runner_(std::move(runner)),
      clock_(std::move(clock)), cancel_(cancel), hooks_(std::move(hooks)) {}

Monitor::~Monitor() { stop(); }

void Monitor::start() { thread_ = std::thread([this] { loop(); }); }

bool Monitor::stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (!promotion_.joinable()) return true;
  std::unique_lock lock(mu_);
  const bool done = cv_.wait_for(lock, grace, [this] { return !promoting_.load(); });
  lock.unlock();
  if (!done) {
    promotion_.detach();
    return false;
  }
  promotion_.join();
  return true;
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
  s.journal_stopped = stopped_run(state_);
  s.failures_needed = cfg.failover.failures;
  s.max_lag = cfg.failover.max_lag;
  s.fence_available = !cfg.failover.fence.empty();
  s.active = cfg.roles.active;
  s.standby = cfg.roles.standby;
  if (promotion_done_.exchange(false)) failures_ = 0;  // a new active: its own count starts now

  const auto& target = cfg.server(cfg.roles.active);
  const std::string key = server_key(target);
  if (!probed_ || probed_name_ != key) {
    probed_ = engines_(target);
    probed_->bound_connect(cfg.failover.probe_timeout);
    probed_name_ = key;
    active_epoch_ = -1;  // not read from this server yet
    last_marks_ = {};
  }
  try {
    auto p = probed_->probe(cfg.failover.probe_timeout);
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
  const auto now = std::chrono::steady_clock::now();
  if (s.active_reachable && now - last_marks_ >= kMarksEvery) {
    // Every database's sequences, each under its own marks (site_state.hpp): a failover or recovery
    // moves each past what the active issued in it. One database that cannot be read (not created
    // yet, no privilege) must not cost the others their marks, nor the sighting and the epoch.
    for (const auto& db : cfg.site.databases) {
      try {
        std::map<std::string, std::int64_t> marks;
        for (const auto& v : probed_->read_serials(db)) marks[v.schema + "." + v.name] = v.value;
        site.merge_serial_marks(marks, site.marks_of(db, cfg.site.database));
      } catch (const std::exception& e) {
        logger()->warn("could not record the serial high-water marks of {}: {}", db, e.what());
      }
    }
    try {
      site.note_active_seen(target.name, iso_utc(clock_->now()), probed_->wal_position());
      active_epoch_ = probed_->read_epoch();
      last_marks_ = now;
    } catch (const std::exception& e) {
      logger()->warn("could not read the active's position and epoch: {}", e.what());
    }
  }
  const long site_epoch = site.epoch();
  s.active_epoch_stale = s.active_reachable && active_epoch_ >= 0 && active_epoch_ < site_epoch;
  if (s.active_epoch_stale)
    probe_error_ = cfg.roles.active + " carries epoch " + std::to_string(active_epoch_) + ", older than the site's " +
                   std::to_string(site_epoch);

  // The standby is asked every tick while the active is failing (it is the witness), else every few
  // seconds (its state and lag).
  if (s.has_standby && (s.failures > 0 || now - last_standby_ >= kMarksEvery)) {
    observe_standby(cfg, s, !s.active_reachable && s.failures >= s.failures_needed);
  } else if (s.has_standby) {
    s.standby_reachable = last_standby_view_.standby_reachable;
    s.standby_in_recovery = last_standby_view_.standby_in_recovery;
    s.standby_streaming = last_standby_view_.standby_streaming;
    s.lag_bytes = last_standby_view_.lag_bytes;
  }
  replicator::JobContext ctx{cfg, state_, engines_, runner_, clock_, nullptr};
  try {
    s.stale_writable = stale_writable_servers(ctx);
  } catch (const std::exception&) {
  }
  return s;
}

void Monitor::observe_standby(const Config& cfg, Snapshot& s, bool witness) {
  last_standby_ = std::chrono::steady_clock::now();
  LagSample sample;
  nlohmann::json view;
  try {
    const auto& target = cfg.server(cfg.roles.standby);
    const std::string key = server_key(target);
    if (!witness_ || witness_name_ != key) {
      witness_ = engines_(target);
      witness_->bound_connect(cfg.failover.probe_timeout);
      // Asked every tick while the active fails: the third failure's tick decides, and a new session
      // there would delay the promotion by a password exchange.
      witness_->keep_sessions();
      witness_name_ = key;
    }
    auto& standby = witness_;
    auto p = standby->probe(cfg.failover.probe_timeout);
    s.standby_reachable = true;
    s.standby_in_recovery = p.in_recovery;
    auto rs = standby->replication_state();
    s.standby_streaming = rs.state == "streaming";
    std::string position = SiteState(state_).last_active_lsn();
    if (s.active_reachable) {
      try {
        position = probed_->wal_position();
      } catch (const std::exception&) {
      }
    }
    if (p.in_recovery && !position.empty()) s.lag_bytes = standby->wal_distance(position, standby->wal_position());
    if (witness) {
      // Streaming AND heard within the window: a receiver reports "streaming" for a while after a
      // silent death. A live active is heard at least every heard_every seconds (the standby asks for
      // a reply after that much silence), so silence beyond it, plus the time the answer takes,
      // means the standby no longer hears the active either.
      const double every = rs.heard_every > 0 ? rs.heard_every : kDefaultHeardEvery;
      const double window = every + std::chrono::duration<double>(cfg.failover.probe_timeout).count() + 0.5;
      s.witness_hears_active = s.standby_streaming && rs.seconds_since_message < window;
    }
    const double seconds = s.lag_bytes == 0 ? 0.0 : rs.lag_seconds;
    if (hooks_.lag) hooks_.lag(static_cast<double>(s.lag_bytes), seconds);
    sample = LagSample{std::chrono::duration_cast<std::chrono::milliseconds>(clock_->now().time_since_epoch()).count(),
                       static_cast<long long>(s.lag_bytes), seconds, rs.state};
    view = {{"at", iso_utc(clock_->now())}, {"server", cfg.roles.standby},
            {"reachable", true}, {"in_recovery", p.in_recovery}, {"state", rs.state},
            {"lag_bytes", s.lag_bytes}, {"lag_seconds", seconds},
            {"heard_seconds_ago", rs.seconds_since_message}};
  } catch (const std::exception& e) {
    s.standby_reachable = false;
    // Unknown lag (-1): a gap in the page's plot, not a zero.
    sample = LagSample{std::chrono::duration_cast<std::chrono::milliseconds>(clock_->now().time_since_epoch()).count(),
                       -1, -1, "unreachable"};
    view = {{"at", iso_utc(clock_->now())}, {"server", cfg.roles.standby}, {"reachable", false}, {"error", e.what()}};
  }
  // Recorded after the probe and outside it: a write the state store refuses ([dcs]) must not read as
  // an unreachable standby.
  try {
    state_.add_lag_sample(sample);
    SiteState(state_).set_standby_sample(view);
  } catch (const std::exception& e) {
    logger()->warn("could not record the standby's sample: {}", e.what());
  }
  last_standby_view_ = s;
}

void Monitor::act(const Config& cfg, const Decision& d, const Snapshot& s) {
  if (hooks_.may_act && !hooks_.may_act()) return;  // [dcs]: this manager's lease could have expired
  if (d.action == Action::kRefence) {
    for (const auto& server : s.stale_writable) {
      try {
        auto e = engines_(cfg.server(server));
        e->bound_connect(cfg.failover.probe_timeout);
        // Each database on its own: one whose sessions would not end must not leave the others open.
        std::string failed;
        for (const auto& db : cfg.site.databases) {
          try {
            e->fence(db);
          } catch (const std::exception& x) {
            failed += (failed.empty() ? "" : "; ") + db + ": " + x.what();
          }
        }
        if (failed.empty()) logger()->warn("server {} fenced again", server);
        else logger()->error("could not fence every database of {} again: {}", server, failed);
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
    WriterScope writer(cancel_);  // [dcs]: nothing of this promotion is written once its term is over
    replicator::JobContext ctx{*cfg_copy, state_, engines_, runner_, clock_, cancel_};
    RunbookOptions o;
    o.automatic = true;
    jobs_.run_quietly("failover", cfg_copy->roles.standby, [&] { return run_failover(ctx, o); });
    promotion_done_ = true;
    {
      std::lock_guard lock(mu_);
      promoting_ = false;
    }
    cv_.notify_all();
  });
}

void Monitor::report(const Config& cfg, const Decision& d, const Snapshot& s) {
  if (hooks_.decision) hooks_.decision(to_string(d.action));
  if (hooks_.active_up) hooks_.active_up(s.active_reachable && !s.active_epoch_stale);
  if (d.sentence == candidate_.sentence) ++candidate_ticks_;
  else candidate_ = d, candidate_ticks_ = 1;
  // A decision that acts is said at once; one that only reports must hold for two ticks, so that a
  // link that flaps every second does not make the log (or the pager) flap with it.
  if ((!acts(d.action) && candidate_ticks_ < 2) || d.sentence == logged_) return;
  logged_ = d.sentence;
  if (d.action == Action::kNone) logger()->info("{}", d.sentence);
  else logger()->warn("{}", d.sentence);

  const bool counting = !s.active_reachable && s.failures < s.failures_needed && s.journal_stopped.empty();
  if (d.action == Action::kRefuse) {
    jobs_.run_quietly("failover", cfg.roles.standby, [&]() -> std::string { throw SafetyError(d.sentence); });
  } else if (d.action == Action::kWait && !counting && !s.action_running && !s.paused) {
    jobs_.alert("monitor", d.sentence);
  }
}

void Monitor::loop() {
  WriterScope writer(cancel_);
  for (;;) {
    const auto tick = std::chrono::steady_clock::now();
    auto cfg = cfg_();
    try {
      Config eff = effective_config(*cfg, state_);
      Snapshot s = snapshot(eff);
      Decision d = decide(s);
      {
        std::lock_guard lock(mu_);
        last_ = d;
        active_up_ = s.active_reachable && !s.active_epoch_stale;
        active_error_ = probe_error_;
      }
      report(eff, d, s);
      act(eff, d, s);
    } catch (const std::exception& e) {
      // A write the state store refused ([dcs]: this manager no longer leads) ends the tick, not the
      // loop; the daemon stops the loop when it learns it lost the lead.
      logger()->warn("HA loop: this tick stopped: {}", e.what());
    }
    // One tick per probe_interval, however long this one's probes waited on a dead server: the
    // failures count at the configured pace.
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, tick + cfg->failover.probe_interval, [this] { return stop_; });
    if (stop_) return;
  }
}

}  // namespace sk::standby
