#pragma once
// The embedded state store (SQLite through SOCI): job runs, archive generations, which backup each
// replica serves, alerts, and small facts (epoch, roles). The schema is versioned (PRAGMA user_version)
// and migrated forward when the store opens.
// Thread-safety: every method may be called from any thread; calls are serialized internally.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <map>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "core/state/mirror.hpp"

namespace soci {
class session;
}

namespace sk {

struct JobRun {
  std::int64_t id = 0;
  std::string job;
  std::string target;
  std::string started_at;  // ISO 8601 UTC
  long long started_ms = 0;  // the same instant, epoch milliseconds
  std::string manager;       // with [dcs]: the manager that ran it ("" for one manager)
  std::string origin;        // with [dcs]: "<manager>.<started_ms>.<id>", the run's name in etcd
  std::string ended_at;    // empty while running
  std::string outcome;     // running | ok | failed | refused | cancelled
  std::string message;
  std::int64_t duration_ms = 0;
};

struct GenerationRecord {
  std::string id;
  std::string created_at;
  std::string status;  // complete | verified | failed | deleted
  std::string verified_at;
  std::string deep_verified_at;
  std::int64_t size_bytes = 0;
  std::string message;
};

struct ReplicaServing {
  std::string replica;
  std::string backup_id;
  std::string backup_time;
  std::string restored_at;
};

struct LagSample {
  long long at_ms = 0;  // epoch milliseconds
  long long lag_bytes = 0;
  double lag_seconds = 0;
  std::string state;
};

struct Alert {
  std::int64_t id = 0;
  std::string at;
  std::string job;
  std::string message;
};

class StateStore {
 public:
  static constexpr int kSchemaVersion = 4;

  // Opens (creating the file and its folder) and migrates. Throws sk::Error when the file is not a
  // state store or comes from a newer sitekeeper.
  explicit StateStore(const std::filesystem::path& file);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  int schema_version();

  // With [dcs]: from now on every write of a shared fact goes to `mirror` first (see mirror.hpp), and
  // runs and alerts are recorded as this manager's (`manager`). REQUIRES: no other thread uses the
  // store yet.
  void set_mirror(std::shared_ptr<StateMirror> mirror, std::string manager);
  // The kv keys that are this manager's own and never shared: its health verdicts and heartbeat.
  static bool local_key(const std::string& key);
  // Applies a shared fact read from the shared state (a path and value as mirror.hpp names them) to
  // this store's file only, as the leader wrote it. A run or alert is matched by its origin, so
  // applying one twice changes nothing. Unknown paths are ignored (a newer leader's facts).
  // Throws sk::Error on a value that is not what the path needs.
  void apply_shared(const std::string& path, const std::string& value);
  // Every fact of `facts` in one transaction of this file (a whole read of the shared state at once:
  // one commit, not one per fact). A fact that is not a sitekeeper record is skipped and named in
  // `skipped`; any other failure applies none of them and throws.
  void apply_shared_all(const std::vector<std::pair<std::string, std::string>>& facts, std::string* skipped);

  std::int64_t begin_run(const std::string& job, const std::string& target);
  void end_run(std::int64_t id, const std::string& outcome, const std::string& message);
  std::vector<JobRun> runs(int limit, const std::string& job = {});
  std::optional<JobRun> last_run(const std::string& job, const std::string& outcome = {});
  // The most recent run of `job` whose outcome is not `outcome`.
  std::optional<JobRun> last_run_except(const std::string& job, const std::string& outcome);
  // Runs still `running`, newest first (with [dcs], at a takeover: the runs a lost leader left).
  std::vector<JobRun> running_runs();
  // How many finished runs of each (job, outcome) the store holds.
  std::map<std::pair<std::string, std::string>, long long> run_counts();

  void put_generation(const GenerationRecord& g);  // insert or replace
  std::optional<GenerationRecord> generation(const std::string& id);
  std::vector<GenerationRecord> generations();  // newest first

  // `databases`: the databases the swap brought to s.backup_id (a site of several databases); each is
  // recorded with it, in the same transaction.
  void set_serving(const ReplicaServing& s, const std::vector<std::string>& databases = {});
  std::optional<ReplicaServing> serving(const std::string& replica);
  // Database -> the generation set_serving last recorded for it on `replica`; empty when none was
  // (a replica last refreshed before sitekeeper recorded databases: it serves the site database at
  // serving(replica)->backup_id).
  std::map<std::string, std::string> serving_databases(const std::string& replica);
  // Every set_serving since `since_ms` (epoch milliseconds), oldest first.
  std::vector<ReplicaServing> serving_history(long long since_ms);

  // The standby's lag over time; samples older than two days are dropped as new ones come.
  void add_lag_sample(const LagSample& sample);
  std::vector<LagSample> lag_samples(long long since_ms);

  void add_alert(const std::string& job, const std::string& message);
  std::vector<Alert> alerts(int limit);

  void put(const std::string& key, const std::string& value);
  // Sets `key` to `value` only when it is missing or holds `expected`, in one statement, so that of
  // two processes racing for the same key exactly one wins. Returns whether this call set it.
  bool put_if(const std::string& key, const std::string& expected, const std::string& value);
  std::optional<std::string> get(const std::string& key);

 private:
  void migrate();
  void mirror_put(const std::string& path, const std::string& value);
  // The local writes, without the mirror. REQUIRES: mu_ held.
  void put_locked(const std::string& key, const std::string& value);
  void put_generation_locked(const GenerationRecord& g);
  void set_serving_locked(const ReplicaServing& s, const std::vector<std::string>& databases);
  void add_lag_sample_locked(const LagSample& l);
  void apply_shared_locked(const std::string& path, const std::string& value);
  bool in_batch_ = false;  // inside apply_shared_all's transaction: the writes open none of their own
  std::mutex mu_;
  std::shared_ptr<StateMirror> mirror_;
  std::string manager_;
  std::unique_ptr<soci::session> db_;
};

}  // namespace sk
