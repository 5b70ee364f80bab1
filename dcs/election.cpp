#include "dcs/election.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace sk::dcs {

using std::chrono::milliseconds;

std::string manager_name(const std::string& value) {
  auto j = nlohmann::json::parse(value, nullptr, false);
  if (j.is_object() && j.contains("name") && j["name"].is_string()) return j["name"].get<std::string>();
  return value;
}

Election::Election(Etcd& etcd, std::shared_ptr<Clock> clock, ElectionOptions options)
    : etcd_(etcd), clock_(std::move(clock)), opt_(std::move(options)) {
  leader_key_ = opt_.prefix + "/leader";
  member_key_ = opt_.prefix + "/members/" + opt_.name;
  const milliseconds ttl = opt_.ttl;
  // Followers read the key often enough that a takeover follows the lease's expiry closely; the
  // leader renews five times per ttl, so that two renewals can fail before it must stop acting.
  poll_ = std::clamp(ttl / 40, milliseconds(100), milliseconds(250));
  renew_every_ = ttl / 5;
  // The margin covers a renewal's time to reach etcd and, above all, etcd 3.4 itself: an etcd leader
  // cut off from its majority goes on answering keepalives until it steps down (about two election
  // timeouts, measured in tests/integration/etcd_client_test.cpp), while the majority's new leader
  // extends every lease by one election timeout and the ttl from its election. A margin of at least
  // an election timeout keeps this manager's window inside the lease's real life; 2 s covers twice
  // etcd's default of 1 s. A quarter of the ttl, at least 2 s, at most half the ttl.
  window_ = ttl - std::min(ttl / 2, std::max(milliseconds(2000), ttl / 4));
  last_.sentence = "not yet in touch with etcd";
}

bool Election::may_act() const {
  const long long until = act_until_.load();
  return until != 0 && clock_->steady_now().time_since_epoch().count() < until;
}

std::string Election::holder(const KeyValue& kv) const { return manager_name(kv.value); }

void Election::keep_lease(std::chrono::steady_clock::time_point now) {
  if (lease_ != 0 && now - renewed_ < renew_every_) return;
  if (lease_ != 0) {
    if (etcd_.keepalive(lease_) > 0) {
      renewed_ = now;
      return;
    }
    lease_ = 0;  // expired while etcd did not hear from us; a new one below
    act_until_ = 0;  // etcd says the lease is gone: stop acting now, whatever the grant below does
  }
  lease_ = etcd_.grant(opt_.ttl);
  renewed_ = now;
  // Followers can list the managers of a site; the key goes with this manager's lease.
  etcd_.txn({}, {Op{Op::Kind::kPut, member_key_, opt_.value, lease_}});
}

Leadership Election::step_down(std::string sentence) {
  act_until_ = 0;
  leading_ = false;
  term_ = 0;
  Leadership l;
  l.sentence = std::move(sentence);
  return l;
}

Leadership Election::tick() {
  const auto now = clock_->steady_now();
  Leadership l;
  // The leader's own clock first: whatever etcd says or does not say, past the window it stops.
  if (leading_ && !may_act()) {
    const double ago = std::chrono::duration<double>(now - renewed_).count();
    last_ = step_down(fmt::format("stopped acting for site {}: the lease was last renewed {:.1f} s ago and "
                                  "could expire at any moment (ttl {} s); no jobs and no promotion until "
                                  "this manager leads again",
                                  opt_.site, ago, opt_.ttl.count()));
    last_.etcd_answers = false;
    return last_;
  }
  try {
    const bool had_lease = lease_ != 0;
    const long long old_lease = lease_;
    keep_lease(now);
    const bool lease_lost = had_lease && lease_ != old_lease;
    if (leading_ && lease_lost) {
      last_ = step_down(fmt::format("lost the lead of site {}: the lease expired before it was renewed", opt_.site));
      last_.etcd_answers = true;
      return last_;
    }
    if (leading_ && renewed_ != now) {  // renewed recently: nothing to ask etcd this tick
      l = last_;
      return l;
    }
    auto kv = etcd_.get(leader_key_);
    l.etcd_answers = true;
    if (kv && kv->lease == lease_ && lease_ != 0) {
      // This manager's key, on its live lease: leading (again, after a step-down while etcd was away).
      const bool resumed = !leading_;
      leading_ = true;
      term_ = kv->create_revision;
      act_until_ = (renewed_ + window_).time_since_epoch().count();
      l.leading = true;
      l.leader = opt_.name;
      l.leader_value = kv->value;
      l.term = term_;
      l.sentence = resumed ? fmt::format("resumed the lead of site {} (term {}): etcd answers and the lease held",
                                         opt_.site, term_)
                           : fmt::format("leading site {} as {} (term {})", opt_.site, opt_.name, term_);
      last_ = l;
      return l;
    }
    if (leading_) {
      last_ = step_down(fmt::format("lost the lead of site {}: the leader key is {}", opt_.site,
                                    kv ? "held by " + holder(*kv) : std::string("gone")));
      last_.etcd_answers = true;
      return last_;
    }
    if (kv) {
      l.leader = holder(*kv);
      l.leader_value = kv->value;
      l.sentence = fmt::format("following {}, which leads site {}", l.leader, opt_.site);
      last_ = l;
      return l;
    }
    // Free: take it, only if it is still free when etcd applies the write.
    const auto r = etcd_.txn({Compare{leader_key_, Compare::Target::kCreateRevision, Compare::Result::kEqual, "", 0}},
                             {Op{Op::Kind::kPut, leader_key_, opt_.value, lease_}});
    if (!r.succeeded) {
      l.sentence = fmt::format("another manager took the lead of site {} first", opt_.site);
      last_ = l;
      return l;
    }
    leading_ = true;
    term_ = r.revision;  // the key was created by this transaction
    act_until_ = (renewed_ + window_).time_since_epoch().count();
    l.leading = true;
    l.leader = opt_.name;
    l.leader_value = opt_.value;
    l.term = term_;
    l.sentence = fmt::format("took the lead of site {} (term {}): no manager held it", opt_.site, term_);
    last_ = l;
    return l;
  } catch (const std::exception& e) {
    // Leading: act on until the window closes (checked first on every tick and in may_act()).
    l = last_;
    l.etcd_answers = false;
    if (leading_) {
      l.sentence = fmt::format("cannot renew the lease of {} for site {}: {}; it stops acting {:.1f} s after the "
                               "last renewal unless one succeeds",
                               opt_.name, opt_.site, e.what(), std::chrono::duration<double>(window_).count());
    } else {
      l.sentence = fmt::format("etcd does not answer {} (site {}): {}; not leading", opt_.name, opt_.site, e.what());
    }
    last_ = l;
    return l;
  }
}

void Election::resign() {
  act_until_ = 0;
  const bool was = leading_;
  leading_ = false;
  term_ = 0;
  if (lease_ == 0) return;
  try {
    etcd_.revoke(lease_);  // the leader key and the member key go with it
  } catch (const std::exception&) {
    // The lease expires by itself within the ttl; no other manager acts before then.
  }
  lease_ = 0;
  last_ = Leadership{};
  last_.sentence = was ? fmt::format("resigned the lead of site {}", opt_.site) : "stopped";
}

}  // namespace sk::dcs
