#pragma once
// Facts about the site that change at run time and outlive a process, kept in the state store: the
// epoch, who is active and standby after a promotion (the state store, not the config, is then the
// truth), fenced servers, the maintenance window, the serial high-water marks, and the failover journal.
// Thread-safety: as StateStore (every call may come from any thread).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/state/store.hpp"

namespace sk::standby {

class SiteState {
 public:
  explicit SiteState(StateStore& state) : state_(state) {}

  long epoch();
  void set_epoch(long e);

  // The roles in force: the state store's when a promotion recorded them, else the config's.
  std::string active(const Config& cfg);
  std::string standby(const Config& cfg);
  void set_roles(const std::string& active, const std::string& standby);

  // Servers fenced by a promotion, with the epoch they were fenced at. They are never treated as
  // active until `rejoin` clears them.
  std::map<std::string, long> fenced();
  void set_fenced(const std::string& server, long epoch);
  void clear_fenced(const std::string& server);

  bool paused();
  void set_paused(bool p, const std::string& reason);

  // Highest serial value observed on the active, per "schema.name" of one database; merge keeps the
  // maximum. `further` "" is the site database (the first of [site] databases), whose marks keep the
  // state key serial_marks they had before a site could list several databases; each further database
  // has its own state key, serial_marks/<name>, so that no mark of one database is ever taken for a
  // sequence of the same name in another.
  std::map<std::string, std::int64_t> serial_marks(const std::string& further = "");
  // The database whose marks the state key serial_marks holds: the site database when it was first
  // asked (kept in the state store), so that reordering [site] databases later never hands one
  // database's marks to another. `further` for `db` is "" when db is the owner, else db.
  std::string marks_owner(const std::string& site_db);
  std::string marks_of(const std::string& db, const std::string& site_db) { return db == marks_owner(site_db) ? "" : db; }
  void merge_serial_marks(const std::map<std::string, std::int64_t>& observed, const std::string& further = "");
  std::string last_active_lsn();
  void set_last_active_lsn(const std::string& lsn);
  // What the daemon saw of the active, for a recovery's data-loss window: when it last answered, and
  // when its WAL position last moved (its last write). Empty strings when never seen.
  struct Sighting {
    std::string server, seen_at, changed_at;
  };
  Sighting last_active_sighting();
  // Records that `server` answered at `at` with WAL position `lsn` (and sets last_active_lsn).
  void note_active_seen(const std::string& server, const std::string& at, const std::string& lsn);
  // What the daemon last saw of the standby: {"at", "server", "reachable", "in_recovery", "state",
  // "lag_bytes", "lag_seconds", "heard_seconds_ago"}; null when it never looked.
  nlohmann::json standby_sample();
  void set_standby_sample(const nlohmann::json& sample);

  // The failover journal: {"id","kind","from","to","started_at","steps":{name:{"at","detail"}},"finished_at"}.
  std::optional<nlohmann::json> open_journal();  // an unfinished failover/switchover
  void put_journal(const nlohmann::json& j);
  // Opens `j` as the journal unless another one is open (written by another process in the meantime):
  // false then, and nothing is written.
  bool create_journal(const nlohmann::json& j);
  void close_journal(const nlohmann::json& j);    // moves it to "last"
  std::optional<nlohmann::json> last_journal();

 private:
  StateStore& state_;
};


// The config with [roles] replaced by the roles in force (after a failover the replicas and the backup
// schedule follow the new active). The active and standby in force are never among its replicas.
Config effective_config(const Config& cfg, StateStore& state);

}  // namespace sk::standby
