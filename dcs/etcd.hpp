#pragma once
// The seam to etcd: the few v3 calls a manager needs, and nothing else of etcd's API. The real client
// (etcd_http.hpp) speaks the v3 JSON gateway; unit tests use a fake. Keys and values are byte strings
// (the client base64-encodes them on the wire).
//
// Every call either returns etcd's answer or throws sk::Error saying which endpoints were tried and
// why none answered (refused, timed out, no quorum, authentication refused): "etcd did not answer"
// never reads like "the key is absent". A call that throws may or may not have been applied (a put
// whose answer was lost); callers that care compare revisions afterwards.
//
// Thread-safety: an implementation may be called from several threads at once.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sk::dcs {

struct KeyValue {
  std::string key, value;
  long long create_revision = 0;  // 0: the key does not exist
  long long mod_revision = 0;
  long long lease = 0;  // 0: bound to no lease
};

struct Range {
  std::vector<KeyValue> kvs;  // in key order
  long long revision = 0;     // the store's revision when it was read
};

// One comparison of a transaction; all of a transaction's comparisons must hold (etcd ANDs them).
struct Compare {
  enum class Target { kValue, kCreateRevision, kModRevision };
  enum class Result { kEqual, kNotEqual, kGreater, kLess };
  std::string key;
  Target target = Target::kValue;
  Result result = Result::kEqual;
  std::string value;       // for kValue
  long long revision = 0;  // for the revisions (create_revision 0: the key is absent)
};

struct Op {
  enum class Kind { kPut, kDelete, kDeletePrefix };
  Kind kind = Kind::kPut;
  std::string key, value;
  long long lease = 0;  // kPut: bind the key to this lease (0: none)
};

struct TxnResult {
  bool succeeded = false;  // the comparisons held, and `then` was applied
  long long revision = 0;  // the store's revision after the transaction
};

class Etcd {
 public:
  virtual ~Etcd() = default;

  // A new lease of `ttl` (whole seconds, at least 1); returns its id.
  virtual long long grant(std::chrono::seconds ttl) = 0;
  // Renews `lease` once. Returns the TTL etcd granted, in seconds, or 0 when the lease no longer
  // exists (it expired or was revoked): then it cannot be renewed again.
  virtual long long keepalive(long long lease) = 0;
  // Revokes `lease` and deletes every key bound to it. A lease that no longer exists is not an error.
  virtual void revoke(long long lease) = 0;

  // A linearizable read of one key; nullopt when it does not exist.
  virtual std::optional<KeyValue> get(const std::string& key) = 0;
  // Every key that starts with `prefix` and whose mod_revision is at least `min_mod_revision`
  // (0: all), in key order.
  virtual Range list(const std::string& prefix, long long min_mod_revision = 0) = 0;
  // When every comparison of `when` holds, applies `then`, else `otherwise`, atomically.
  virtual TxnResult txn(const std::vector<Compare>& when, const std::vector<Op>& then,
                        const std::vector<Op>& otherwise = {}) = 0;
};

}  // namespace sk::dcs

namespace sk::dcs {
// The smallest key greater than every key that starts with `prefix` (etcd's range_end for a prefix):
// the last byte below 0xff raised by one, the bytes after it dropped. "\0" (every key) for an empty
// prefix or one of 0xff bytes only.
std::string prefix_end(const std::string& prefix);
}  // namespace sk::dcs
