#include "app/daemon/daemon.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "app/daemon/api.hpp"
#include "app/daemon/backup_age.hpp"
#include "app/daemon/config_check.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/state/jobs.hpp"
#include "app/daemon/health.hpp"
#include "app/daemon/http.hpp"
#include "app/daemon/jobs.hpp"
#include "app/daemon/metrics.hpp"
#include "app/daemon/notify.hpp"
#include "app/daemon/page.hpp"
#include "app/daemon/report.hpp"
#include "dcs/coordinator.hpp"
#include "dcs/etcd_http.hpp"
#include "replicator/offsite.hpp"
#include "replicator/wal_stream.hpp"
#include "schedules/runner.hpp"
#include "standby/monitor.hpp"
#include "standby/site_state.hpp"

namespace sk::daemon {

namespace {

auto logger() { return log::get("daemon"); }
constexpr auto kStopGrace = std::chrono::seconds(8);  // within the 10 s a service manager allows

class Daemon {
 public:
  explicit Daemon(std::string config_file)
      : config_file_(std::move(config_file)),
        cfg_(std::make_shared<const Config>(load_checked_config(config_file_))),
        state_(std::make_unique<StateStore>(cfg_->state_path)),
        runner_(system_runner()),
        clock_(system_clock()),
        engines_(sql::engine_factory(runner_)),
        recorder_(*state_, runner_, cfg_->alerts.command, &metrics_),
        timer_(io_),
        signals_(io_, SIGTERM, SIGINT, SIGHUP) {}

  int run() {
    health_ = std::make_unique<HealthMonitor>([this] { return effective(); }, *state_, engines_, metrics_);
    if (cfg_->dcs.enabled()) {
      // Several managers: this one acts only while it leads (dcs/coordinator.hpp); until then it
      // serves the API from the shared state the leader writes.
      dcs::CoordinatorHooks hooks;
      hooks.lead = [this](const dcs::Leadership& l) { lead(l); };
      hooks.follow = [this](const dcs::Leadership& l) { follow(l); };
      const auto timeout = std::clamp<Millis>(cfg_->dcs.ttl / 5, std::chrono::milliseconds(500), std::chrono::seconds(2));
      coord_ = std::make_unique<dcs::Coordinator>(*cfg_, cfg_->http.listen, dcs::make_etcd(cfg_->dcs, timeout), *state_,
                                                  clock_, hooks);
      state_->set_mirror(coord_->mirror(), cfg_->dcs.name);
    } else {
      start_acting();
    }
    backup_watch_ = std::thread([this] { watch_backups(); });
    declare_metrics(*cfg_);
    if (!cfg_->http.listen.empty()) {
      HttpOptions opt;
      opt.max_connections = static_cast<std::size_t>(cfg_->http.max_connections);
      opt.tls_cert_pem = cfg_->http.tls_cert_pem;
      opt.tls_key_pem = cfg_->http.tls_key_pem;
      http_ = std::make_unique<HttpServer>(io_, cfg_->http.listen, [this](const HttpRequest& r) { return handle(r); },
                                           std::move(opt));
      http_->start();
      logger()->info("HTTP API listening on {}{}{}", cfg_->http.listen, http_->tls() ? " (TLS)" : "",
                     cfg_->http.token.empty() ? "" : "; a token is required except for health checks");
      if (cfg_->http.token.empty() && !http_->loopback())
        logger()->warn("HTTP API on {} without a token: whoever reaches it reads /status and /metrics; set "
                       "http.token_file",
                       cfg_->http.listen);
    }
    wait_signal();
    arm_timer();
    if (coord_) coord_->start();
    logger()->info("sitekeeper daemon started for site {} ({} schedules){}", cfg_->site.code, cfg_->schedules.size(),
                   coord_ ? " as manager " + cfg_->dcs.name + "; it acts only while it leads" : "");
    notify::notify(notify::ready());  // the API listens and the monitor runs; its decision is the STATUS=
    io_.run();
    return finish();
  }

 private:
  // --- acting: the scheduler, the HA loop and the WAL stream run only here ---
  // Without [dcs], from the start to the end; with it, while this manager leads.
  void start_acting() {
    std::lock_guard lock(acting_mu_);
    if (closed_) return;  // the daemon is stopping: a lead won now is left to the next manager
    // A monitor left running past its grace still holds the old token: it lives as long as the daemon.
    if (term_cancel_) retired_tokens_.push_back(term_cancel_);
    term_cancel_ = std::make_shared<CancelToken>();
    if (stopping_) term_cancel_->cancel();
    standby::MonitorHooks hooks;
    hooks.probe_failed = [this](const std::string& s) { metrics_.probe_failed(s); };
    hooks.lag = [this](double b, double sec) { metrics_.standby_lag(b, sec); };
    hooks.active_up = [this](bool up) { metrics_.active_up(up); };
    hooks.may_act = [this] { return acting(); };
    hooks.decision = [this, said = std::string()](const std::string& action) mutable {
      metrics_.decision(action);
      if (auto s = decision(); s != said) notify::notify(notify::status(said = s));
    };
    monitor_ = std::make_shared<standby::Monitor>([this] { return current(); }, *state_, recorder_, engines_, runner_,
                                                  clock_, term_cancel_.get(), hooks);
    monitor_->start();
    // Always made: a reload may turn [archive] wal_stream on or off, and each tick follows the config.
    replicator::WalStreamHooks wal_hooks;
    wal_hooks.alert = [this](const std::string& m) { recorder_.alert("wal-stream", m); };
    wal_ = std::make_shared<replicator::WalStream>([this] { return effective(); }, *state_, engines_, clock_, wal_hooks);
    wal_->start(std::clamp<Millis>(current()->health.interval, std::chrono::milliseconds(500), std::chrono::seconds(5)));
    auto scheduler = build_scheduler(current());
    boost::asio::post(io_, [this, scheduler] {
      scheduler_ = scheduler;
      arm_timer();
    });
  }

  // Stops what start_acting started. A promotion step that outlives the grace is left to finish on its
  // thread (a step is never cut halfway); its next journal write is refused, and the new leader
  // resumes the journal.
  void stop_acting(std::chrono::milliseconds grace) {
    std::shared_ptr<standby::Monitor> monitor;
    std::shared_ptr<replicator::WalStream> wal;
    {
      std::lock_guard lock(acting_mu_);
      if (term_cancel_) term_cancel_->cancel();
      monitor = std::move(monitor_);
      wal = std::move(wal_);
    }
    boost::asio::post(io_, [this] { scheduler_.reset(); });
    if (wal) wal->stop();
    if (monitor && !monitor->stop(grace)) {
      logger()->warn("a failover step is still running after the lead was lost; its next journal write is refused");
      new std::shared_ptr<standby::Monitor>(monitor);  // never destroyed: its thread may still run
    }
  }

  void lead(const dcs::Leadership& l) {
    if (stopping_) return;  // a lead won while stopping is left to the next manager (finish resigns it)
    // A run another manager left running was cut off with it: recorded as interrupted, and not as a
    // start, so that the schedule catches it up instead of counting it done.
    for (const auto& r : state_->running_runs()) {
      try {
        state_->end_run(r.id, "interrupted",
                        "interrupted: " + (r.manager.empty() ? std::string("its manager") : r.manager) +
                            " stopped leading while it ran; " + l.leader + " leads now");
        logger()->warn("the {} run that {} started at {} was interrupted; the schedule catches it up", r.job,
                       r.manager.empty() ? "a manager" : r.manager, r.started_at);
      } catch (const std::exception& e) {
        logger()->warn("cannot mark the {} run of {} interrupted: {}", r.job, r.manager, e.what());
      }
    }
    start_acting();
  }

  void follow(const dcs::Leadership&) {
    logger()->warn("manager {} stopped acting: no jobs, no HA actions until it leads again", current()->dcs.name);
    stop_acting(std::chrono::seconds(2));
  }

  bool acting() const { return !coord_ || coord_->may_act(); }

  std::string decision() {
    std::shared_ptr<standby::Monitor> m;
    {
      std::lock_guard lock(acting_mu_);
      m = monitor_;
    }
    if (m) return m->last_decision().sentence;
    if (coord_) return coord_->view().leadership.sentence;
    return "";
  }

  // --- scheduling ---
  std::shared_ptr<sched::Runner> build_scheduler(std::shared_ptr<const Config> cfg) {
    auto history = [this](const std::string& job) {
      sched::JobHistory h;
      Clock::time_point t;
      if (auto r = state_->last_run_except(job, "interrupted"); r && parse_iso_utc(r->started_at, t)) h.last_start = t;
      if (auto r = state_->last_run(job, "ok"); r && parse_iso_utc(r->ended_at, t)) h.last_success_end = t;
      return h;
    };
    auto runner = std::make_shared<sched::Runner>(clock_, history);
    for (const auto& sc : cfg->schedules) {
      const std::string job = sc.job;
      runner->add(sched::job_spec_from_config(sc, cfg->file, [this, cfg, job](const sched::JobContext& jc) {
        return run_job(cfg, job, jc);
      }));
    }
    runner->on_change([this] { boost::asio::post(io_, [this] { arm_timer(); }); });
    runner->start();
    return runner;
  }

  sched::JobOutcome run_job(const std::shared_ptr<const Config>& cfg, const std::string& job, const sched::JobContext& jc) {
    if (!acting()) return {false, "this manager does not lead the site"};
    std::shared_ptr<CancelToken> cancel = term_token();
    WriterScope writer(cancel.get());  // [dcs]: once the lead is lost, nothing of this run is written
    const Config eff = standby::effective_config(*cfg, *state_);  // roles in force, after a failover too
    replicator::JobContext ctx{eff, *state_, engines_, runner_, clock_, cancel.get()};
    if (job == "copy") {  // each destination is a `copy` run of its own
      std::lock_guard copy_lock(job_mutex("copy"));
      if (stopping_) return {false, "daemon stopping"};
      auto copies = replicator::copy_to_every_destination(recorder_, ctx, "");
      std::string why;
      for (const auto& l : copies.lines) why += (why.empty() ? "" : "; ") + l;
      return {copies.ok, copies.ok ? "" : why};
    }
    std::lock_guard job_lock(job_mutex(job));  // a job never overlaps itself, even across reloads
    if (stopping_) return {false, "daemon stopping"};
    auto r = recorder_.run_quietly(job, sched::to_string(jc.reason), [&] { return run_named_job(job, ctx); });
    if (job == "backup" && r.outcome == "ok") start_copies(eff);
    return {r.outcome == "ok", r.outcome == "ok" ? "" : r.message};
  }

  // The off-site copies of a new backup, on a thread of their own under the copy lock: at a slow rate a
  // copy takes hours, and neither the next backup nor the jobs chained after this one wait for it.
  void start_copies(const Config& eff) {
    if (eff.archive.copies.empty()) return;
    {
      std::lock_guard lock(jobs_mu_);
      ++running_;
    }
    std::thread([this, cfg = std::make_shared<const Config>(eff), cancel = term_token()] {
      {
        std::lock_guard copy_lock(job_mutex("copy"));
        WriterScope writer(cancel.get());
        if (!stopping_ && !cancel->cancelled()) {
          replicator::JobContext ctx{*cfg, *state_, engines_, runner_, clock_, cancel.get()};
          replicator::copy_to_every_destination(recorder_, ctx, "");
        }
      }
      std::lock_guard lock(jobs_mu_);
      --running_;
      jobs_cv_.notify_all();
    }).detach();
  }

  std::shared_ptr<CancelToken> term_token() {
    std::lock_guard lock(acting_mu_);
    return term_cancel_ ? term_cancel_ : std::make_shared<CancelToken>();
  }

  std::mutex& job_mutex(const std::string& job) {
    std::lock_guard lock(jobs_mu_);
    return job_locks_[job];
  }

  void arm_timer() {
    if (stopping_ || !scheduler_) return;
    if (acting())
      for (auto& launch : scheduler_->poll()) start(launch);
    auto next = scheduler_->next_wakeup();
    auto wait = std::chrono::milliseconds(60'000);
    if (next) {
      auto d = std::chrono::duration_cast<std::chrono::milliseconds>(*next - clock_->now());
      wait = std::clamp(d, std::chrono::milliseconds(0), wait);
    }
    timer_.expires_after(wait);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) arm_timer();
    });
  }

  void start(const sched::Launch& launch) {
    const double late = std::chrono::duration<double>(launch.lateness()).count();
    metrics_.job_started(launch.context.job, late);
    logger()->info("starting {} ({}, {:.0f} ms late)", launch.context.job, sched::to_string(launch.context.reason),
                   late * 1000);
    {
      std::lock_guard lock(jobs_mu_);
      ++running_;
    }
    auto scheduler = scheduler_;
    std::thread([this, scheduler, launch] {
      scheduler->run(launch);
      std::lock_guard lock(jobs_mu_);
      --running_;
      jobs_cv_.notify_all();
    }).detach();
  }

  // --- signals ---
  void wait_signal() {
    signals_.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload();
        wait_signal();
        return;
      }
      logger()->info("signal {}: stopping; running jobs stop at their next safe point", sig);
      notify::notify(notify::stopping());
      stopping_ = true;
      cancel_.cancel();
      {
        std::lock_guard lock(acting_mu_);
        if (term_cancel_) term_cancel_->cancel();
      }
      timer_.cancel();
      if (http_) http_->stop();
      signals_.cancel();
    });
  }

  void reload() {
    notify::notify(notify::reloading());
    try {
      auto cfg = std::make_shared<const Config>(load_checked_config(config_file_));
      if (cfg->state_path != cfg_->state_path)
        logger()->warn("state.path changed; the daemon keeps {} until it restarts", cfg_->state_path.string());
      const auto& h = cfg->http;
      const auto& was = cfg_->http;
      if (h.listen != was.listen || h.max_connections != was.max_connections || h.tls_cert_pem != was.tls_cert_pem ||
          h.tls_key_pem != was.tls_key_pem)
        logger()->warn("http.listen, max_connections, tls_cert and tls_key take effect when the daemon restarts; "
                       "a new token_file takes effect now");
      if (cfg->dcs.etcd != cfg_->dcs.etcd || cfg->dcs.name != cfg_->dcs.name || cfg->dcs.ttl != cfg_->dcs.ttl ||
          cfg->dcs.prefix != cfg_->dcs.prefix || cfg->dcs.user != cfg_->dcs.user)
        logger()->warn("[dcs] takes effect when the daemon restarts; it keeps the running one");
      auto scheduler = scheduler_ ? build_scheduler(cfg) : nullptr;
      {
        std::lock_guard lock(cfg_mu_);
        cfg_ = cfg;
      }
      scheduler_ = scheduler;
      recorder_.set_alert_command(cfg->alerts.command);
      declare_metrics(*cfg);
      arm_timer();
      logger()->info("configuration reloaded from {} ({} schedules)", cfg->file.string(), cfg->schedules.size());
    } catch (const std::exception& e) {  // whatever refused it, the daemon runs on and says READY again
      logger()->error("configuration reload refused; keeping the running configuration: {}", e.what());
    }
    notify::notify(notify::ready());
  }

  int finish() {
    const auto deadline = std::chrono::steady_clock::now() + kStopGrace;
    std::unique_lock lock(jobs_mu_);
    if (!jobs_cv_.wait_until(lock, deadline, [this] { return running_ == 0; }))
      logger()->warn("{} job(s) still running at exit", running_);
    lock.unlock();
    {
      std::lock_guard watch_lock(watch_mu_);
      watch_cv_.notify_all();
    }
    if (backup_watch_.joinable()) backup_watch_.join();
    health_->stop();
    std::shared_ptr<standby::Monitor> monitor;
    {
      std::lock_guard acting_lock(acting_mu_);
      closed_ = true;
      if (term_cancel_) term_cancel_->cancel();
      if (wal_) wal_->stop();  // pg_receivewal is killed; everything it flushed stays in the archive
      monitor = std::move(monitor_);  // moved: a follow() now finds nothing left to stop
    }
    const auto left = std::max(std::chrono::milliseconds(500), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                   deadline - std::chrono::steady_clock::now()));
    const bool stopped = !monitor || monitor->stop(left);
    // Resigned only once nothing of this manager acts: another takes over at once, not after the ttl.
    // With a job still running the lease is left to expire, so no other manager acts before then.
    bool idle = false;
    {
      std::lock_guard jobs_lock(jobs_mu_);
      idle = running_ == 0;
    }
    if (stopped && coord_) coord_->stop(idle);
    if (!stopped) {
      // A failover step outlived the grace (a step is never interrupted halfway): the journal has every
      // finished step, and the next start resumes the failover from there. Leave now, within the stop
      // time a service manager allows; nothing below may run while that thread still uses the state.
      logger()->warn("a failover step is still running; stopping anyway: the next start resumes it from its journal");
      spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
      std::fflush(nullptr);
      ::_exit(kOk);
    }
    logger()->info("sitekeeper daemon stopped");
    return kOk;
  }

  // The backup-age alert, on its own thread: the archive may sit on a slow mount, and neither the
  // HTTP API nor the scheduler may wait on it. Looked at every minute (every max_age/4 when shorter).
  void watch_backups() {
    BackupAgeWatch watch(clock_, [this]() -> std::optional<Clock::time_point> {
      const Config eff = standby::effective_config(*current(), *state_);
      replicator::JobContext ctx{eff, *state_, engines_, runner_, clock_, &cancel_};
      return newest_verified_time(ctx);
    });
    std::unique_lock lock(watch_mu_);
    while (!stopping_) {
      const Millis max_age = current()->archive.max_age;
      lock.unlock();
      // Alerts are the leader's to raise (and to record in the shared state).
      auto t = acting() ? watch.tick(max_age) : BackupAgeWatch::Tick{};
      if (!t.alert.empty()) {
        logger()->warn("backup age: {}", t.alert);
        try {
          recorder_.alert("backup-age", t.alert);
        } catch (const std::exception& e) {  // [dcs]: refused when the lead went meanwhile
          logger()->warn("backup age: the alert was not recorded: {}", e.what());
        }
      }
      if (!t.cleared.empty()) logger()->info("backup age: {}", t.cleared);
      lock.lock();
      const Millis every = std::clamp<Millis>(max_age / 4, std::chrono::seconds(1), std::chrono::minutes(1));
      watch_cv_.wait_for(lock, every, [this] { return stopping_.load(); });
    }
  }

  void declare_metrics(const Config& cfg) {
    std::vector<std::string> jobs = {"backup", "copy", "refresh", "capture", "verify", "check", "failover", "switchover",
                                     "rejoin", "standby init", "monitor", "wal-stream"};
    std::vector<std::string> servers;
    for (const auto& [name, s] : cfg.servers) servers.push_back(name);
    std::vector<std::string> copies;
    for (const auto& c : cfg.archive.copies) copies.push_back(c.path.string());
    metrics_.declare(jobs, servers, cfg.roles.replicas, copies);
  }

  std::shared_ptr<const Config> current() {
    std::lock_guard lock(cfg_mu_);
    return cfg_;
  }
  std::shared_ptr<const Config> effective() {
    return std::make_shared<const Config>(standby::effective_config(*current(), *state_));
  }

  // --- HTTP ---
  HttpResponse handle(const HttpRequest& req) {
    ApiSources src;
    src.loaded = [this] { return current(); };
    src.effective = [this] { return effective(); };
    src.health = [this] { return health_->snapshot(); };
    src.decision = [this] { return decision(); };
    if (coord_) src.manager = [this] { return manager_json(); };
    src.status = [this] {
      auto cfg = effective();
      replicator::JobContext ctx{*cfg, *state_, engines_, runner_, clock_, nullptr};
      auto j = status_report(ctx, health_->snapshot());
      if (coord_) j["manager"] = manager_json();
      return j;
    };
    src.metrics = [this] {
      auto cfg = effective();
      replicator::JobContext ctx{*cfg, *state_, engines_, runner_, clock_, nullptr};
      update_gauges(ctx);
      return metrics_.render();
    };
    src.data = [this](const std::string& what) { return page_data(what); };
    src.page = [this] {
      auto cfg = effective();
      replicator::JobContext ctx{*cfg, *state_, engines_, runner_, clock_, nullptr};
      auto j = status_report(ctx, health_->snapshot());
      if (coord_) j["manager"] = manager_json();
      return render_page({j, page_data("history"), page_data("lag"), page_data("freshness"), now_ms()});
    };
    return daemon::handle(src, req);
  }

  // Which manager leads, whether this one acts, and how old the shared state it answers from is.
  nlohmann::json manager_json() {
    const auto v = coord_->view();
    nlohmann::json j{{"name", current()->dcs.name},
                     {"leader", v.leadership.leader},
                     {"leading", v.leadership.leading},
                     {"acting", v.acting},
                     {"prefix", v.prefix},
                     {"managers", v.managers},
                     {"sentence", v.leadership.sentence}};
    if (!v.leadership.leader_value.empty()) {
      auto lv = nlohmann::json::parse(v.leadership.leader_value, nullptr, false);
      if (lv.is_object() && lv.contains("api")) j["leader_api"] = lv["api"];
    }
    // Stale: etcd has not answered for more than two of this manager's ticks.
    const double age = v.stale_seconds.value_or(-1);
    j["stale"] = !v.stale_seconds || age > 2.0;
    j["stale_seconds"] = v.stale_seconds ? nlohmann::json(std::round(age * 10) / 10) : nlohmann::json(nullptr);
    return j;
  }

  // The status page's JSON: recent job runs, the standby's lag over the last hours, and what each
  // replica served over the last two weeks.
  long long now_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_->now().time_since_epoch()).count();
  }

  nlohmann::json page_data(const std::string& what) {
    const long long now = now_ms();
    nlohmann::json out = nlohmann::json::array();
    if (what == "history") {
      for (const auto& r : state_->runs(50))
        out.push_back({{"id", r.id}, {"job", r.job}, {"target", r.target}, {"started_at", r.started_at},
                       {"ended_at", r.ended_at}, {"outcome", r.outcome}, {"duration_ms", r.duration_ms},
                       {"message", r.message}});
    } else if (what == "lag") {
      for (const auto& l : state_->lag_samples(now - kLagWindowMs))
        out.push_back({{"at_ms", l.at_ms}, {"lag_bytes", l.lag_bytes}, {"lag_seconds", l.lag_seconds}, {"state", l.state}});
    } else if (what == "freshness") {
      for (const auto& h : state_->serving_history(now - kFreshnessWindowMs))
        out.push_back({{"replica", h.replica}, {"backup_id", h.backup_id}, {"backup_time", h.backup_time},
                       {"restored_at", h.restored_at}});
    }
    return out;
  }

  void update_gauges(const replicator::JobContext& ctx) {
    if (coord_) {
      const auto v = coord_->view();
      metrics_.manager(v.acting, v.stale_seconds.value_or(-1));
    }
    metrics_.backup_age(static_cast<double>(newest_verified_age(ctx)));
    for (const auto& c : copies_report(ctx, clock_->now()))
      metrics_.copy_age(c["destination"].get<std::string>(), static_cast<double>(c["age_seconds"].get<long long>()));
    metrics_.runs_recorded(state_->run_counts());
    std::shared_ptr<replicator::WalStream> wal;
    {
      std::lock_guard lock(acting_mu_);
      wal = wal_;
    }
    if (!wal) return;
    const auto w = wal->status();
    metrics_.wal_stream(w.newest && w.state != "off" ? std::chrono::duration<double>(clock_->now() - *w.newest).count() : -1.0,
                        w.state == "streaming", w.restarts);
  }

  std::string config_file_;
  std::shared_ptr<const Config> cfg_;
  std::unique_ptr<StateStore> state_;
  std::shared_ptr<ProcessRunner> runner_;
  std::shared_ptr<Clock> clock_;
  sql::EngineFactory engines_;
  Metrics metrics_;  // before recorder_, which reports to it
  JobRecorder recorder_;
  CancelToken cancel_;
  std::atomic<bool> stopping_{false};
  boost::asio::io_context io_;
  boost::asio::steady_timer timer_;
  boost::asio::signal_set signals_;
  std::shared_ptr<sched::Runner> scheduler_;
  std::unique_ptr<HealthMonitor> health_;
  std::unique_ptr<dcs::Coordinator> coord_;
  std::mutex acting_mu_;  // guards monitor_, wal_ and term_cancel_, which change when the lead does
  std::shared_ptr<CancelToken> term_cancel_;
  std::vector<std::shared_ptr<CancelToken>> retired_tokens_;
  bool closed_ = false;  // finish() began: nothing starts acting any more
  std::shared_ptr<standby::Monitor> monitor_;
  std::shared_ptr<replicator::WalStream> wal_;
  std::mutex cfg_mu_;
  std::unique_ptr<HttpServer> http_;
  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  std::thread backup_watch_;
  std::map<std::string, std::mutex> job_locks_;
  int running_ = 0;
};

}  // namespace

int run_daemon(const std::string& config_file) {
  Daemon d(config_file);
  return d.run();
}

}  // namespace sk::daemon
