#include "sql/postgres/pg_local.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "sql/ident.hpp"
#include "sql/postgres/pg_session.hpp"

namespace sk::sql {

namespace {
auto logger() { return log::get("sql"); }


std::string replication_conninfo(const ServerConfig& primary, const std::string& app_name) {
  auto kv = [](const std::string& v) {
    std::string out = "'";
    for (char c : v) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    return out + "'";
  };
  std::string c = "host=" + kv(primary.host) + " port=" + std::to_string(primary.port) + " user=" + kv(primary.user) +
                  " application_name=" + kv(app_name);
  // The standby needs the password to reconnect on its own; postgresql.auto.conf is mode 0600.
  if (!primary.password.empty()) c += " password=" + kv(primary.password);
  return c;
}
}  // namespace

std::string conf_literal(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string slot_name(const std::string& server) {
  std::string s = "sitekeeper_";
  for (unsigned char c : server) s += std::isalnum(c) ? static_cast<char>(std::tolower(c)) : '_';
  return s.substr(0, kMaxIdentifier);
}

LocalServer::LocalServer(ServerConfig server, std::shared_ptr<ProcessRunner> runner)
    : server_(std::move(server)), runner_(std::move(runner)) {
  if (server_.data_dir.empty())
    throw ConfigError("server " + server_.name + " has no data_dir", "set data_dir for servers sitekeeper starts, builds or rejoins");
  if (::geteuid() == 0) {
    struct stat st{};
    fs::path parent = server_.data_dir.parent_path();
    if (::stat(parent.c_str(), &st) == 0 && st.st_uid != 0) {
      if (auto* pw = ::getpwuid(st.st_uid)) owner_ = pw->pw_name;
    }
    if (owner_.empty()) owner_ = "postgres";
  }
}

std::vector<std::string> LocalServer::as_owner(std::vector<std::string> argv) const {
  if (owner_.empty()) return argv;
  std::vector<std::string> out = {"runuser", "-u", owner_, "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::string LocalServer::tool(const char* name) const { return (server_.bin_dir / name).string(); }

ProcessOptions LocalServer::env_for(const ServerConfig& primary) const {
  ProcessOptions o;
  if (!primary.password.empty()) o.env["PGPASSWORD"] = primary.password;
  return o;
}

bool LocalServer::running() {
  if (!fs::exists(server_.data_dir / "PG_VERSION")) return false;
  auto r = runner_->run(as_owner({tool("pg_ctl"), "status", "-D", server_.data_dir.string()}));
  return r.exit_code == 0;
}

bool LocalServer::data_dir_empty() const {
  std::error_code ec;
  return !fs::exists(server_.data_dir, ec) || fs::is_empty(server_.data_dir, ec);
}

void LocalServer::start(std::chrono::seconds timeout, const std::string& extra_options) {
  if (running()) return;
  logger()->info("starting server {} ({})", server_.name, server_.data_dir.string());
  run_checked(*runner_, as_owner({tool("pg_ctl"), "start", "-w", "-t", std::to_string(timeout.count()), "-D",
                                  server_.data_dir.string(), "-l", (server_.data_dir / "sitekeeper-pg_ctl.log").string(),
                                  "-o", "-p " + std::to_string(server_.port) +
                                            (extra_options.empty() ? "" : " " + extra_options)}));
}

void LocalServer::hand_over(const fs::path& p) const {
  if (owner_.empty()) return;
  if (auto* pw = ::getpwnam(owner_.c_str())) ::chown(p.c_str(), pw->pw_uid, pw->pw_gid);
}

void LocalServer::stop(const std::string& mode) {
  if (!running()) return;
  logger()->info("stopping server {} ({} mode)", server_.name, mode);
  run_checked(*runner_, as_owner({tool("pg_ctl"), "stop", "-w", "-t", "120", "-m", mode, "-D", server_.data_dir.string()}));
}

void LocalServer::configure_standby(const ServerConfig& primary, const std::string& slot,
                                    const StandbyTiming& timing) {
  const fs::path auto_conf = server_.data_dir / "postgresql.auto.conf";
  std::string text;
  if (fs::exists(auto_conf)) text = read_file(auto_conf);
  // Drop earlier standby settings and the fence's read-only default; this server follows a new primary.
  std::string kept, line;
  std::istringstream in(text);
  for (; std::getline(in, line);) {
    auto starts = [&](const char* k) { return line.rfind(k, 0) == 0; };
    if (starts("primary_conninfo") || starts("primary_slot_name") || starts("port ") || starts("port=") ||
        starts("recovery_target_timeline") || starts("default_transaction_read_only") ||
        starts("wal_receiver_timeout") || starts("synchronous_standby_names"))
      continue;
    kept += line + "\n";
  }
  kept += "port = " + std::to_string(server_.port) + "\n";
  kept += "primary_conninfo = " + conf_literal(replication_conninfo(primary, server_.name)) + "\n";
  kept += "primary_slot_name = " + conf_literal(slot) + "\n";
  kept += "recovery_target_timeline = 'latest'\n";
  // How fast a silent primary is noticed: the standby asks for a reply after half of this.
  kept += "wal_receiver_timeout = '" + std::to_string(timing.receiver_timeout.count()) + "ms'\n";
  std::ofstream(auto_conf, std::ios::trunc) << kept;
  ::chmod(auto_conf.c_str(), 0600);
  std::ofstream(server_.data_dir / "standby.signal").close();
  if (!owner_.empty()) {
    if (auto* pw = ::getpwnam(owner_.c_str())) {
      ::chown(auto_conf.c_str(), pw->pw_uid, pw->pw_gid);
      ::chown((server_.data_dir / "standby.signal").c_str(), pw->pw_uid, pw->pw_gid);
    }
  }
}

void LocalServer::basebackup_from(const ServerConfig& primary, const std::string& slot,
                                  const StandbyTiming& timing) {
  if (!data_dir_empty())
    throw SafetyError("data directory " + show_path(server_.data_dir) + " of " + server_.name + " is not empty",
                      "standby init builds a new standby only; use 'sitekeeper rejoin' for an old active server");
  logger()->info("pg_basebackup of {} into {} (slot {})", primary.name, server_.data_dir.string(), slot);
  run_checked(*runner_,
              as_owner({tool("pg_basebackup"), "--pgdata=" + server_.data_dir.string(),
                        "--dbname=" + pg::conninfo(primary, "postgres", std::chrono::seconds(10), false),
                        "--wal-method=stream", "--slot=" + slot, "--checkpoint=fast", "--no-password"}),
              env_for(primary));
  configure_standby(primary, slot, timing);
}

void unpack_base_backup(ProcessRunner& runner, const fs::path& backup, const fs::path& into, const CancelToken* cancel) {
  ProcessOptions o;
  o.cancel = cancel;
  run_checked(runner, {"tar", "--extract", "--no-same-owner", "--file=" + (backup / "base.tar").string(),
                       "--directory=" + into.string()}, o);
  // base.tar holds pg_wal empty; the WAL that makes the copy consistent comes in pg_wal.tar.
  fs::create_directories(into / "pg_wal");
  run_checked(runner, {"tar", "--extract", "--no-same-owner", "--file=" + (backup / "pg_wal.tar").string(),
                       "--directory=" + (into / "pg_wal").string()}, o);
  fs::copy_file(backup / "backup_manifest", into / "backup_manifest", fs::copy_options::overwrite_existing);
}

void LocalServer::restore_base_backup(const fs::path& backup, const fs::path& into, const CancelToken* cancel) {
  std::error_code ec;
  if (fs::exists(into, ec) && !fs::is_empty(into, ec))
    throw SafetyError("data directory " + show_path(into) + " is not empty", "a base backup is restored into an empty folder only");
  fs::create_directories(into, ec);
  if (ec) throw Error("cannot create " + show_path(into) + ": " + ec.message());
  RemoveUnlessKept undo(into);
  fs::permissions(into, fs::perms::owner_all, fs::perm_options::replace, ec);
  logger()->info("restoring the base backup {} into {}", backup.string(), into.string());
  unpack_base_backup(*runner_, backup, into, cancel);
  // Unpacked as ourselves (the archive is private to us); the server runs as the data directory's owner.
  if (!owner_.empty()) run_checked(*runner_, {"chown", "-R", "--", owner_ + ":", into.string()});
  undo.keep();
}

namespace {
class PgScratch : public ScratchServer {
 public:
  PgScratch(ServerConfig cfg, fs::path dir, std::shared_ptr<ProcessRunner> runner)
      : cfg_(std::move(cfg)), dir_(std::move(dir)), runner_(std::move(runner)) {}
  ~PgScratch() override {
    try {
      LocalServer(cfg_, runner_).stop("immediate");
    } catch (const std::exception& e) {
      logger()->warn("could not stop the scratch server in {}: {}", dir_.string(), e.what());
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const ServerConfig& server() const override { return cfg_; }

 private:
  ServerConfig cfg_;
  fs::path dir_;
  std::shared_ptr<ProcessRunner> runner_;
};
}  // namespace

std::unique_ptr<ScratchServer> start_scratch_cluster(const ServerConfig& like, const fs::path& dir,
                                                     std::shared_ptr<ProcessRunner> runner) {
  if (!fs::exists(like.bin_dir / "initdb") || !fs::exists(like.bin_dir / "pg_ctl"))
    throw Error("no PostgreSQL server binaries in " + show_path(like.bin_dir) + " for a scratch server");
  std::error_code ec;
  fs::create_directories(dir / "sock", ec);
  if (ec) throw Error("cannot create the scratch folder " + show_path(dir) + ": " + ec.message());
  ServerConfig c;
  c.name = "scratch";
  c.engine = "postgresql";
  c.transport = "native";
  c.host = (dir / "sock").string();
  c.port = 5432;
  // The superuser is named like the user sitekeeper connects to `like` as: that user owns what it
  // dumped, and a captured permission script leaves it out on purpose.
  c.user = like.user;
  c.data_dir = dir / "data";
  c.bin_dir = like.bin_dir;
  // PostgreSQL refuses to run as root: when we are root, the cluster belongs to postgres.
  if (::geteuid() == 0) {
    struct passwd* pw = ::getpwnam("postgres");
    if (!pw) throw Error("running as root, but there is no postgres user to run a scratch server as");
    for (const auto& p : {dir, dir / "sock"}) ::chown(p.c_str(), pw->pw_uid, pw->pw_gid);
  }
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  auto scratch = std::make_unique<PgScratch>(c, dir, runner);  // from here on, removed on any failure
  LocalServer local(c, runner);
  run_checked(*runner, local.as_owner({(c.bin_dir / "initdb").string(), "--pgdata=" + c.data_dir.string(),
                                       "--username=" + c.user, "--auth=trust", "--encoding=UTF8",
                                       "--no-sync", "--no-instructions"}));
  std::ofstream(c.data_dir / "postgresql.auto.conf", std::ios::app)
      << "listen_addresses = ''\nunix_socket_directories = " << conf_literal(c.host) << "\nfsync = off\n";
  local.start(std::chrono::seconds(60));
  return scratch;
}

void LocalServer::rewind_from(const ServerConfig& primary, const std::string& slot, const StandbyTiming& timing) {
  // pg_rewind copies the source's configuration files; keep this server's own.
  std::map<std::string, std::string> saved;
  for (const char* f : {"postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf"})
    if (fs::exists(server_.data_dir / f)) saved[f] = read_file(server_.data_dir / f);
  logger()->info("pg_rewind of {} onto {}", server_.name, primary.name);
  // pg_rewind needs wal_log_hints or data checksums on the target; say so plainly.
  try {
    run_checked(*runner_,
              as_owner({tool("pg_rewind"), "--target-pgdata=" + server_.data_dir.string(),
                        "--source-server=" + pg::conninfo(primary, "postgres", std::chrono::seconds(10), false)}),
              env_for(primary));
  } catch (const Error& e) {
    throw Error(e.what(), "set wal_log_hints = on (or initdb --data-checksums) on every server so rejoin can rewind");
  }
  for (const auto& [name, text] : saved) std::ofstream(server_.data_dir / name, std::ios::trunc) << text;
  configure_standby(primary, slot, timing);
}

}  // namespace sk::sql
