#include "dcs/shared_state.hpp"

#include "core/error.hpp"

namespace sk::dcs {

SharedState::SharedState(Etcd& etcd, std::string prefix, std::string site, std::string name)
    : etcd_(etcd), prefix_(std::move(prefix)), site_(std::move(site)), name_(std::move(name)) {}

void SharedState::set_term(long long term, std::function<bool()> may_act, std::string leader) {
  std::lock_guard lock(mu_);
  term_ = term;
  may_act_ = std::move(may_act);
  leader_ = std::move(leader);
}

long long SharedState::term() const {
  std::lock_guard lock(mu_);
  return term_;
}

Compare SharedState::leader_is(long long term) const {
  return Compare{prefix_ + "/leader", Compare::Target::kCreateRevision, Compare::Result::kEqual, "", term};
}

void SharedState::refuse(const std::string& path, const std::string& why) const {
  throw Error("manager " + name_ + " " + why + "; the write of " + path + " to site " + site_ +
                  "'s shared state was refused",
              "only the manager that leads the site acts: see `sitekeeper status` for which one, and run it there",
              kRefused);
}

void SharedState::put(const std::string& path, const std::string& value) {
  long long term = 0;
  std::function<bool()> may_act;
  std::string leader;
  {
    std::lock_guard lock(mu_);
    term = term_;
    may_act = may_act_;
    leader = leader_;
  }
  if (term == 0) refuse(path, leader.empty() ? "does not lead" : "does not lead (the leader: " + leader + ")");
  if (may_act && !may_act()) refuse(path, "may no longer act: its lease could have expired");
  const auto r = etcd_.txn({leader_is(term)}, {Op{Op::Kind::kPut, state_prefix() + path, value, 0}});
  if (!r.succeeded) refuse(path, "lost the lead (the leader key is no longer its term " + std::to_string(term) + ")");
}

bool SharedState::put_if(const std::string& path, const std::string& expected, const std::string& value) {
  long long term = 0;
  std::function<bool()> may_act;
  {
    std::lock_guard lock(mu_);
    term = term_;
    may_act = may_act_;
  }
  if (term == 0) refuse(path, "does not lead");
  if (may_act && !may_act()) refuse(path, "may no longer act: its lease could have expired");
  const std::string key = state_prefix() + path;
  auto now = etcd_.get(key);
  if (now && now->value != expected) return false;
  Compare same = now ? Compare{key, Compare::Target::kModRevision, Compare::Result::kEqual, "", now->mod_revision}
                     : Compare{key, Compare::Target::kCreateRevision, Compare::Result::kEqual, "", 0};
  const auto r = etcd_.txn({leader_is(term), same}, {Op{Op::Kind::kPut, key, value, 0}});
  if (r.succeeded) return true;
  // Which comparison failed: the lead (refuse) or the value (another write came first).
  auto leader = etcd_.get(prefix_ + "/leader");
  if (!leader || leader->create_revision != term)
    refuse(path, "lost the lead (the leader key is no longer its term " + std::to_string(term) + ")");
  // A transaction whose answer was lost may have been applied and then sent again to another
  // member, whose comparison then failed on our own write: the key holding our value is our write.
  auto after = etcd_.get(key);
  return after && after->value == value;
}

long long SharedState::pull(StateStore& store, long long since, std::string* skipped) {
  const std::string base = state_prefix();
  const Range r = etcd_.list(base, since);
  std::vector<std::pair<std::string, std::string>> facts;
  facts.reserve(r.kvs.size());
  for (const auto& kv : r.kvs)
    if (kv.key.size() > base.size()) facts.emplace_back(kv.key.substr(base.size()), kv.value);
  if (!facts.empty()) store.apply_shared_all(facts, skipped);
  return r.revision + 1;
}

}  // namespace sk::dcs
