#pragma once
// An in-memory etcd for unit tests: revisions, leases that expire on a FakeClock, and transactions,
// as etcd's v3 API defines them for the calls of dcs/etcd.hpp. `down` makes every call throw as an
// unreachable cluster does (nothing applied); `calls` counts requests.
#include <atomic>
#include <map>
#include <mutex>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "dcs/etcd.hpp"

namespace sk::test {

class FakeEtcd : public dcs::Etcd {
 public:
  explicit FakeEtcd(std::shared_ptr<Clock> clock) : clock_(std::move(clock)) {}

  std::atomic<bool> down{false};
  std::atomic<int> calls{0};

  long long grant(std::chrono::seconds ttl) override {
    std::lock_guard lock(mu_);
    enter();
    const long long id = ++next_lease_;
    leases_[id] = Lease{ttl, clock_->steady_now() + ttl};
    return id;
  }
  long long keepalive(long long lease) override {
    std::lock_guard lock(mu_);
    enter();
    auto it = leases_.find(lease);
    if (it == leases_.end()) return 0;
    it->second.expires = clock_->steady_now() + it->second.ttl;
    return it->second.ttl.count();
  }
  void revoke(long long lease) override {
    std::lock_guard lock(mu_);
    enter();
    drop_lease(lease);
  }
  std::optional<dcs::KeyValue> get(const std::string& key) override {
    std::lock_guard lock(mu_);
    enter();
    auto it = kv_.find(key);
    if (it == kv_.end()) return std::nullopt;
    return it->second;
  }
  dcs::Range list(const std::string& prefix, long long min_mod_revision) override {
    std::lock_guard lock(mu_);
    enter();
    dcs::Range r;
    r.revision = revision_;
    for (const auto& [k, v] : kv_)
      if (k.rfind(prefix, 0) == 0 && v.mod_revision >= min_mod_revision) r.kvs.push_back(v);
    return r;
  }
  dcs::TxnResult txn(const std::vector<dcs::Compare>& when, const std::vector<dcs::Op>& then,
                     const std::vector<dcs::Op>& otherwise) override {
    std::lock_guard lock(mu_);
    enter();
    bool ok = true;
    for (const auto& c : when) ok = ok && holds(c);
    const auto& ops = ok ? then : otherwise;
    if (!ops.empty()) ++revision_;
    for (const auto& op : ops) {
      if (op.kind == dcs::Op::Kind::kPut) {
        if (op.lease != 0 && !leases_.count(op.lease)) throw Error("etcdserver: requested lease not found");
        auto& v = kv_[op.key];
        if (v.create_revision == 0) v.create_revision = revision_;
        v.key = op.key;
        v.value = op.value;
        v.mod_revision = revision_;
        v.lease = op.lease;
      } else {
        for (auto it = kv_.begin(); it != kv_.end();)
          it = (op.kind == dcs::Op::Kind::kDelete ? it->first == op.key : it->first.rfind(op.key, 0) == 0)
                   ? kv_.erase(it)
                   : std::next(it);
      }
    }
    return {ok, revision_};
  }

  // For tests: what etcd holds, without the clock's expiry or `down`.
  std::optional<dcs::KeyValue> peek(const std::string& key) {
    std::lock_guard lock(mu_);
    expire();
    auto it = kv_.find(key);
    if (it == kv_.end()) return std::nullopt;
    return it->second;
  }
  long long revision() const { return revision_; }

 private:
  struct Lease {
    std::chrono::seconds ttl;
    std::chrono::steady_clock::time_point expires;
  };
  void enter() {
    ++calls;
    expire();
    if (down) throw Error("etcd did not answer: 127.0.0.1:2379: connection refused");
  }
  void expire() {
    const auto now = clock_->steady_now();
    for (auto it = leases_.begin(); it != leases_.end();) {
      if (it->second.expires <= now) {
        const long long id = it->first;
        ++it;
        drop_lease(id);
      } else {
        ++it;
      }
    }
  }
  void drop_lease(long long id) {
    if (!leases_.erase(id)) return;
    bool any = false;
    for (auto it = kv_.begin(); it != kv_.end();) {
      if (it->second.lease == id) {
        it = kv_.erase(it);
        any = true;
      } else {
        ++it;
      }
    }
    if (any) ++revision_;
  }
  bool holds(const dcs::Compare& c) const {
    auto it = kv_.find(c.key);
    const dcs::KeyValue none{};
    const dcs::KeyValue& v = it == kv_.end() ? none : it->second;
    int cmp = 0;
    if (c.target == dcs::Compare::Target::kValue) cmp = v.value.compare(c.value);
    else {
      const long long have = c.target == dcs::Compare::Target::kCreateRevision ? v.create_revision : v.mod_revision;
      cmp = have < c.revision ? -1 : have > c.revision ? 1 : 0;
    }
    switch (c.result) {
      case dcs::Compare::Result::kEqual: return cmp == 0;
      case dcs::Compare::Result::kNotEqual: return cmp != 0;
      case dcs::Compare::Result::kGreater: return cmp > 0;
      case dcs::Compare::Result::kLess: return cmp < 0;
    }
    return false;
  }

  std::shared_ptr<Clock> clock_;
  std::mutex mu_;
  std::map<std::string, dcs::KeyValue> kv_;
  std::map<long long, Lease> leases_;
  long long revision_ = 1;
  long long next_lease_ = 100;
};

}  // namespace sk::test
