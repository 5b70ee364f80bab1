#pragma once
// The site's state in etcd, under <prefix>/state/: every shared fact of the state store (mirror.hpp
// names them) as one key. The leader writes each fact here before its own file, in a transaction
// conditioned on the leader key's create_revision being its term: a deposed leader's write fails, and
// that failure is the fencing token. Every manager reads the facts back into its own file, so any of
// them serves the status, the history and the health checks, and a new leader starts from them.
//
// Thread-safety: every method may be called from any thread.
#include <functional>
#include <mutex>
#include <string>

#include "core/state/mirror.hpp"
#include "core/state/store.hpp"
#include "dcs/etcd.hpp"

namespace sk::dcs {

class SharedState : public StateMirror {
 public:
  SharedState(Etcd& etcd, std::string prefix, std::string site, std::string name);

  // From now on writes are made under `term` (the leader key's create_revision; 0 refuses every
  // write), each only while `may_act()` holds. `leader` names the holder for the refusal's message.
  void set_term(long long term, std::function<bool()> may_act, std::string leader = {});
  long long term() const;

  // StateMirror. Throw sk::Error (exit code kRefused) when this manager does not lead or lost the lead,
  // and when etcd does not answer.
  void put(const std::string& path, const std::string& value) override;
  bool put_if(const std::string& path, const std::string& expected, const std::string& value) override;

  // Applies to `store` every fact changed at or after revision `since` (0: all of them). Returns the
  // revision to pass next time. Throws sk::Error when etcd does not answer (nothing applied then); a
  // fact that is not a sitekeeper record is skipped and named in `skipped`.
  long long pull(StateStore& store, long long since, std::string* skipped = nullptr);

  std::string state_prefix() const { return prefix_ + "/state/"; }

 private:
  Compare leader_is(long long term) const;
  [[noreturn]] void refuse(const std::string& path, const std::string& why) const;

  Etcd& etcd_;
  const std::string prefix_, site_, name_;
  mutable std::mutex mu_;
  long long term_ = 0;
  std::function<bool()> may_act_;
  std::string leader_;
};

}  // namespace sk::dcs
