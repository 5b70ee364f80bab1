#include "standby_fixture.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#ifndef SK_BINARY
#error "SK_BINARY must name the sitekeeper binary"
#endif
#ifndef SK_SOURCE_DIR
#error "SK_SOURCE_DIR must name the source tree"
#endif

namespace sk::test {

StandbySite::StandbySite(StandbySiteOptions o) : opts_(std::move(o)) {
  auto listen = [&](const ServerPlace& at) {
    std::vector<std::string> l = {at.address};
    l.insert(l.end(), opts_.also_listen.begin(), opts_.also_listen.end());
    return l;
  };
  cm1_ = PgCluster::start(
      {.name = "cm1", .netns = opts_.cm1_at.netns, .listen = listen(opts_.cm1_at), .clients = opts_.clients});
  // Only an empty data directory (owned by the server user) and a port: `standby init` builds it.
  cm2_ = PgCluster::start({.name = "cm2",
                           .initdb = false,
                           .start = false,
                           .netns = opts_.cm2_at.netns,
                           .listen = listen(opts_.cm2_at),
                           .clients = opts_.clients});
  for (int i = 0; i < opts_.replicas; ++i)
    replicas_.push_back(PgCluster::start({.name = "hd" + std::to_string(i + 1)}));
  cm1_->write_password_file(dir_ / "secrets" / "pw");
  cm1_->psql("CREATE DATABASE " + qi(opts_.database));
  cm1_->psql_file(fs::path(SK_SOURCE_DIR) / "demo" / "site_schema.sql", opts_.database);
  cm1_->psql_file(fs::path(SK_SOURCE_DIR) / "demo" / "site_data.sql", opts_.database);
  for (const auto& db : opts_.more_databases) load_report_database(*cm1_, db);
  write_config();
}

StandbySite::~StandbySite() {
  // The clusters' destructors stop whatever runs in their data directories (sitekeeper may have
  // started the standby, or restarted the old active); the replicas and the standby go first, then
  // the active.
  replicas_.clear();
  cm2_.reset();
  cm1_.reset();
}

void StandbySite::write_config(const std::string& extra) {
  if (opts_.fence && opts_.fence_argv.empty()) {
    // The fence a real site would have (power off the machine), for a machine on this one: SIGKILL the
    // named server's postmaster if it runs, and always exit 0.
    std::ofstream sh(dir_ / "fence.sh");
    sh << "#!/bin/sh\necho \"$1\" >> '" << (dir_ / "fence.log").string() << "'\n";
    for (const auto& [name, c] : {std::pair<std::string, const PgCluster*>{"cm1", cm1_.get()}, {"cm2", cm2_.get()}})
      sh << "if [ \"$1\" = " << name << " ]; then pid=$(head -n 1 '" << (c->data_dir() / "postmaster.pid").string()
         << "' 2>/dev/null) && kill -9 \"$pid\" 2>/dev/null; fi\n";
    sh << "exit 0\n";
    sh.close();
    ::chmod((dir_ / "fence.sh").c_str(), 0755);
  }
  std::ofstream f(config());
  auto server = [&](const std::string& name, const PgCluster& c) {
    f << "[servers." << name << "]\nengine = \"postgresql\"\ntransport = \"native\"\nhost = " << toml_string(c.host())
      << "\nport = " << c.port() << "\nuser = \"" << c.superuser() << "\"\npassword_file = \"secrets/pw\"\n"
      << "data_dir = \"" << c.data_dir().string() << "\"\nbin_dir = \"" << c.bin_dir().string() << "\"\n\n";
  };
  f << "[site]\ncode = \"CEN\"\n" << site_databases_toml(opts_.database, opts_.more_databases)
    << "\n\n[state]\npath = \"state/sitekeeper.db\"\n\n"
    << "[archive]\npath = \"site archive\"\nkeep = 3\nmax_age = \"5d\"\n" << opts_.archive_extra << "\n";
  server("cm1", *cm1_);
  server("cm2", *cm2_);
  std::string replicas;
  for (size_t i = 0; i < replicas_.size(); ++i) {
    const std::string name = "hd" + std::to_string(i + 1);
    server(name, *replicas_[i]);
    replicas += (replicas.empty() ? "\"" : ", \"") + name + "\"";
  }
  f << "[roles]\nactive = \"cm1\"\nstandby = \"cm2\"\n" << (replicas.empty() ? "" : "replicas = [" + replicas + "]\n")
    << "\n"
    << "[replica]\nreaders = [\"helpdesk\"]\n\n"
    << "[failover]\nmode = \"" << opts_.mode << "\"\nprobe_interval = \"" << opts_.probe_interval
    << "\"\nprobe_timeout = \"" << opts_.probe_timeout << "\"\nfailures = "
    << opts_.failures << "\nmax_lag = \"" << opts_.max_lag << "\"\nserial_headroom = " << opts_.serial_headroom << "\n"
    << (!opts_.fence_argv.empty() ? "fence = " + toml_array(opts_.fence_argv) + "\n"
        : opts_.fence             ? "fence = " + toml_array({(dir_ / "fence.sh").string(), "{server}"}) + "\n"
                                  : std::string())
    << "\n"
    << opts_.extra_config << "\n" << extra << "\n";
  f.close();
  ::chmod(config().c_str(), 0600);
}

std::string StandbySite::fence_log() const {
  std::ifstream in(dir_ / "fence.log");
  std::ostringstream o;
  o << in.rdbuf();
  return o.str();
}

std::vector<std::string> StandbySite::argv(std::vector<std::string> args) const {
  std::vector<std::string> a = {SK_BINARY, "--config", config().string()};
  a.insert(a.end(), args.begin(), args.end());
  return a;
}

CommandResult StandbySite::run(std::vector<std::string> args, const Environment& env,
                               std::chrono::milliseconds timeout) const {
  return run_capture(argv(std::move(args)), env, timeout);
}

CommandResult StandbySite::run_on(const PgCluster& server, std::vector<std::string> args, const Environment& env,
                                  std::chrono::milliseconds timeout) const {
  return run_capture(in_netns(server.netns(), argv(std::move(args))), env, timeout);
}

nlohmann::json StandbySite::json(std::vector<std::string> args) const {
  args.insert(args.begin(), "--json");
  return parse_json(run(args));
}

PsqlResult StandbySite::try_sql(const PgCluster& c, const std::string& sql, const std::string& db) const {
  return c.try_psql(sql, db);
}

std::string StandbySite::sql(const PgCluster& c, const std::string& sql, const std::string& db) const {
  auto r = try_sql(c, sql, db);
  if (!r.ok())
    throw std::runtime_error("cluster '" + c.name() + "': psql failed (exit " + std::to_string(r.exit_code) + "): " +
                             r.err + "\nSQL: " + sql);
  return r.out;
}

std::map<std::string, long long> StandbySite::sequences(const PgCluster& c) const { return sequences(c, opts_.database); }

std::map<std::string, long long> StandbySite::sequences(const PgCluster& c, const std::string& db) const {
  std::map<std::string, long long> out;
  std::istringstream in(sql(c,
                            "SELECT schemaname || '.' || sequencename || '|' || COALESCE(last_value, start_value) "
                            "FROM pg_sequences WHERE schemaname !~ '^pg_' ORDER BY 1",
                            db));
  for (std::string line; std::getline(in, line);) {
    auto bar = line.rfind('|');
    if (bar == std::string::npos) continue;
    out[line.substr(0, bar)] = std::stoll(line.substr(bar + 1));
  }
  return out;
}

bool StandbySite::in_recovery(const PgCluster& c) const { return sql(c, "SELECT pg_is_in_recovery()") == "t"; }

nlohmann::json standby_status(const StandbySite& site) { return site.json({"standby", "status"}); }

bool standby_caught_up(const StandbySite& site, const std::string& standby) {
  auto j = standby_status(site);
  return j.value("standby", "") == standby && j.value("role", "") == "standby" && j.value("state", "") == "streaming" &&
         j.contains("lag_bytes") && j["lag_bytes"].is_number() && j["lag_bytes"].get<std::uint64_t>() == 0 &&
         j.value("healthy", false);
}

void init_standby(StandbySite& site) {
  auto r = site.run_on(site.standby(), {"standby", "init"});
  ASSERT_NO_FATAL_FAILURE(expect_ok(r, "standby init"));
  wait_until([&] { return standby_caught_up(site); }, std::chrono::seconds(120), "the standby to stream with no lag");
}

nlohmann::json history(const StandbySite& site) { return site.json({"history", "--limit", "1000"}); }

int count_runs(const StandbySite& site, const std::string& job, const std::string& outcome) {
  int n = 0;
  for (const auto& r : history(site))
    if (r["job"] == job && r["outcome"] == outcome) ++n;
  return n;
}

}  // namespace sk::test
