#include "dcs/coordinator.hpp"

#include <nlohmann/json.hpp>

#include "core/log.hpp"

namespace sk::dcs {

namespace {
auto logger() { return log::get("dcs"); }
constexpr auto kPullEvery = std::chrono::seconds(1);
}  // namespace

std::string site_prefix(const Config& cfg) {
  return cfg.dcs.prefix.empty() ? "/sitekeeper/" + cfg.site.code : cfg.dcs.prefix;
}

Coordinator::Coordinator(const Config& cfg, std::string api, std::unique_ptr<Etcd> etcd, StateStore& state,
                         std::shared_ptr<Clock> clock, CoordinatorHooks hooks)
    : etcd_(std::move(etcd)),
      state_(state),
      clock_(clock),
      hooks_(std::move(hooks)),
      prefix_(site_prefix(cfg)),
      election_(*etcd_, clock,
                ElectionOptions{cfg.site.code, prefix_, cfg.dcs.name,
                                nlohmann::json{{"name", cfg.dcs.name}, {"api", api}}.dump(),
                                std::chrono::duration_cast<std::chrono::seconds>(cfg.dcs.ttl)}),
      shared_(std::make_shared<SharedState>(*etcd_, prefix_, cfg.site.code, cfg.dcs.name)) {}

Coordinator::~Coordinator() { stop(false); }

void Coordinator::start() {
  thread_ = std::thread([this] { loop(); });
  watchdog_ = std::thread([this] { watch(); });
}

void Coordinator::watch() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(50), [this] { return stop_; });
    if (stop_ || !acting_ || election_.may_act()) continue;
    const Leadership l = last_;
    lock.unlock();
    {
      std::lock_guard hooks(hook_mu_);
      if (acting_ && !election_.may_act()) {
        logger()->warn("the lease window of {} closed before a renewal: it stops acting now", l.leader);
        Leadership none = l;
        none.leader.clear();  // this manager's own name was the leader's; who leads now is unknown
        stop_acting(none);
      }
    }
    lock.lock();
  }
}

void Coordinator::stop_acting(const Leadership& l) {
  if (!acting_.exchange(false)) return;
  shared_->set_term(0, nullptr, l.leader);
  if (hooks_.follow) hooks_.follow(l);
}

void Coordinator::stop(bool resign) {
  {
    std::lock_guard lock(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (watchdog_.joinable()) watchdog_.join();
  acting_ = false;
  shared_->set_term(0, nullptr);
  if (resign) {
    election_.resign();
    logger()->info("left the managers of {}{}", prefix_, last_.leading ? ": resigned the lead" : "");
  }
}

bool Coordinator::may_act() const { return acting_.load() && election_.may_act(); }

CoordinatorView Coordinator::view() const {
  std::lock_guard lock(mu_);
  CoordinatorView v;
  v.leadership = last_;
  v.acting = acting_.load() && election_.may_act();
  v.prefix = prefix_;
  v.managers = members_;
  if (heard_) v.stale_seconds = std::chrono::duration<double>(clock_->steady_now() - *heard_).count();
  return v;
}

void Coordinator::loop() {
  // The whole shared state first, before this manager may take the lead: a takeover then reads only
  // what changed since, and never holds the key while it reads months of history.
  std::unique_lock lock(mu_);
  while (!stop_ && revision_ == 0) {
    lock.unlock();
    try {
      const auto t0 = clock_->steady_now();
      std::string skipped;
      revision_ = shared_->pull(state_, 0, &skipped);
      last_pull_ = clock_->steady_now();
      logger()->info("read the shared state of {} at revision {} in {:.2f} s", prefix_, revision_ - 1,
                     std::chrono::duration<double>(last_pull_ - t0).count());
      if (!skipped.empty()) logger()->warn("shared state: skipped {}", skipped);
    } catch (const std::exception& e) {
      logger()->warn("cannot read the shared state of {} yet: {}; not taking part in the election", prefix_, e.what());
    }
    lock.lock();
    if (revision_ == 0) cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; });
  }
  while (!stop_) {
    lock.unlock();
    tick();
    lock.lock();
    cv_.wait_for(lock, election_.tick_interval(), [this] { return stop_; });
  }
}

void Coordinator::tick() {
  Leadership l = election_.tick();
  const auto now = clock_->steady_now();
  if (l.sentence != logged_) {
    if (l.etcd_answers) logger()->info("{}", l.sentence);
    else logger()->warn("{}", l.sentence);
    logged_ = l.sentence;
  }
  std::unique_lock hooks(hook_mu_);
  if (l.leading && !acting_ && election_.may_act()) {
    // Act only from the whole shared state: the roles, the journal and the last runs a lost leader
    // wrote are what this one must start from.
    try {
      // What changed since this manager's last read as a follower (all of it at its first lead).
      revision_ = shared_->pull(state_, revision_);
      last_pull_ = now;
      shared_->set_term(l.term, [this] { return election_.may_act(); }, l.leader);
      acting_ = true;
      logger()->info("manager {} acts for the site now (term {}), from the shared state at revision {}", l.leader,
                     l.term, revision_ - 1);
      if (hooks_.lead) hooks_.lead(l);
    } catch (const std::exception& e) {
      logger()->warn("leads but cannot read the shared state yet: {}; not acting", e.what());
    }
  } else if (!l.leading && acting_) {
    stop_acting(l);
  } else if (!l.leading) {
    shared_->set_term(0, nullptr, l.leader);
  }
  hooks.unlock();
  if (!l.leading && l.etcd_answers && now - last_pull_ >= kPullEvery) {
    try {
      std::string skipped;
      revision_ = shared_->pull(state_, revision_, &skipped);
      last_pull_ = now;
      if (!skipped.empty() && skipped != skipped_logged_) logger()->warn("shared state: skipped {}", skipped);
      skipped_logged_ = skipped;
    } catch (const std::exception& e) {
      l.etcd_answers = false;
    }
  }
  // Which managers are there, for `status` (each keeps a member key on its own lease).
  std::optional<std::vector<std::string>> members;
  if (l.etcd_answers && now - last_members_ >= std::chrono::seconds(5)) {
    try {
      members = member_names(*etcd_, prefix_);
      last_members_ = now;
    } catch (const std::exception&) {
    }
  }
  std::lock_guard lock(mu_);
  last_ = l;
  if (l.etcd_answers) heard_ = now;
  if (members) members_ = std::move(*members);
}

std::vector<std::string> member_names(Etcd& etcd, const std::string& prefix) {
  std::vector<std::string> out;
  const std::string base = prefix + "/members/";
  for (const auto& kv : etcd.list(base).kvs) out.push_back(kv.key.substr(base.size()));
  return out;
}

}  // namespace sk::dcs
