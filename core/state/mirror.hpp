#pragma once
// Where a state store's shared facts go besides its own file: with [dcs], every write a manager makes
// to the site's state is first made in etcd, conditioned on this manager holding the leader key, so a
// deposed leader's write fails (dcs/shared_state.hpp). Without [dcs] there is no mirror.
//
// A shared fact is named by a path: "kv/<key>", "runs/<origin>", "alerts/<origin>",
// "generations/<id>", "serving/<replica>", "probe/lag". Values are the store's JSON (or the kv value
// as it is).
#include <optional>
#include <string>

#include "core/process.hpp"

namespace sk {

// The operation on whose behalf this thread writes (a job, an HA loop of one term): while one is set
// and cancelled, a store with a mirror refuses every shared write. A manager that lost the lead
// cancels its term's token, so a job or promotion step that is still running when the manager leads
// again (in a new term or the same one) cannot write under the new lead.
class WriterScope {
 public:
  explicit WriterScope(const CancelToken* token);
  ~WriterScope();
  WriterScope(const WriterScope&) = delete;
  WriterScope& operator=(const WriterScope&) = delete;
  static const CancelToken* current();

 private:
  const CancelToken* previous_;
};

class StateMirror {
 public:
  virtual ~StateMirror() = default;
  // Called before the local write, under the store's lock. Throws sk::Error when the shared state
  // refuses the write (this manager does not lead, or etcd did not answer): the store then leaves its
  // own file unchanged and the caller's operation fails.
  virtual void put(const std::string& path, const std::string& value) = 0;
  // Sets `path` to `value` when it is missing or holds `expected`, atomically in the shared state.
  // Returns false when it holds something else (nothing written); throws as put() does.
  virtual bool put_if(const std::string& path, const std::string& expected, const std::string& value) = 0;
};

}  // namespace sk
