#pragma once
// Control of a PostgreSQL cluster whose data directory is on this machine (ServerConfig::data_dir):
// start/stop through pg_ctl, build it as a standby with pg_basebackup, rewind it with pg_rewind.
// PostgreSQL refuses to run as root, so when sitekeeper runs as root the binaries run as the owner of
// the data directory's parent folder (runuser -u OWNER --).
// Thread-safety: one object per thread.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/process.hpp"
#include "sql/engine.hpp"

namespace sk::sql {

class LocalServer {
 public:
  // Throws ConfigError when the server has no data_dir.
  LocalServer(ServerConfig server, std::shared_ptr<ProcessRunner> runner);

  bool running();
  // `extra_options` go to the postmaster after the port (pg_ctl -o), e.g. settings that must win over
  // the configuration files for one start.
  void start(std::chrono::seconds timeout = std::chrono::seconds(120), const std::string& extra_options = {});
  void stop(const std::string& mode = "fast");  // no-op when not running
  bool data_dir_empty() const;

  // REQUIRES: data_dir missing or empty. pg_basebackup with WAL streaming through `slot`, then the
  // standby settings (primary_conninfo, primary_slot_name, its own port) and standby.signal.
  void basebackup_from(const ServerConfig& primary, const std::string& slot, const StandbyTiming& timing);
  // REQUIRES: stopped. Rewinds onto `primary`'s timeline (finishing crash recovery first), keeping this
  // server's own configuration files, then makes it a standby of `primary` through `slot`.
  void rewind_from(const ServerConfig& primary, const std::string& slot, const StandbyTiming& timing);
  // Writes the standby settings (primary_conninfo, slot, its own port, wal_receiver_timeout from
  // `timing`) and standby.signal. REQUIRES: stopped.
  void configure_standby(const ServerConfig& primary, const std::string& slot, const StandbyTiming& timing);

  // REQUIRES: `into` missing or empty; its parent exists. Unpacks a base backup (PgEngine::base_backup's
  // folder) into `into`, mode 0700 and owned by whoever runs this server, so that a server can start on
  // it (recovery settings are the caller's). Throws sk::Error with tar's complaint; `into` is removed
  // then.
  void restore_base_backup(const fs::path& backup, const fs::path& into, const CancelToken* cancel);

  // Gives `p` to whoever runs this server (when we are root), so that the server can read what we wrote.
  void hand_over(const fs::path& p) const;

  // argv run as the owner of the data directory's parent folder when we are root.
  std::vector<std::string> as_owner(std::vector<std::string> argv) const;
  // Who runs this server when it is not us ("" when we run it ourselves).
  const std::string& owner() const { return owner_; }

 private:
  std::string tool(const char* name) const;
  ProcessOptions env_for(const ServerConfig& primary) const;

  ServerConfig server_;
  std::shared_ptr<ProcessRunner> runner_;
  std::string owner_;  // empty: run as ourselves
};

// A throwaway cluster for trial restores (Engine::start_scratch): initdb into `dir`/data as the owner
// of `dir` (postgres when sitekeeper runs as root), no TCP listener, a socket in `dir`/sock, trust
// authentication for its one superuser (named like `like`'s user) over that socket only. Throws sk::Error when initdb or the start
// fails; whatever was made is removed then.
std::unique_ptr<ScratchServer> start_scratch_cluster(const ServerConfig& like, const fs::path& dir,
                                                     std::shared_ptr<ProcessRunner> runner);

// Unpacks a base backup as PgEngine::base_backup wrote it into the existing empty folder `into`:
// base.tar there, pg_wal.tar into its pg_wal, backup_manifest beside them (pg_verifybackup reads it).
// Runs as ourselves: the archive's files are readable by its owner only. Throws sk::Error.
void unpack_base_backup(ProcessRunner& runner, const fs::path& backup, const fs::path& into, const CancelToken* cancel);

// `v` as a string literal of postgresql.conf (quotes doubled).
std::string conf_literal(const std::string& v);

// The replication slot sitekeeper names for a standby server ("sitekeeper_" + name, sanitized).
std::string slot_name(const std::string& server);

}  // namespace sk::sql
