#include "site_fixture.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>

#ifndef SK_BINARY
#error "SK_BINARY must name the sitekeeper binary"
#endif
#ifndef SK_SOURCE_DIR
#error "SK_SOURCE_DIR must name the source tree"
#endif

namespace sk::test {

std::string qi(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void load_report_database(PgCluster& c, const std::string& db) {
  c.psql("CREATE DATABASE " + qi(db));
  c.psql("CREATE TABLE reports (report_id bigserial PRIMARY KEY, title text NOT NULL);"
         "CREATE SEQUENCE report_serials;"
         "INSERT INTO reports (title) SELECT 'report ' || g FROM generate_series(1, 50) g;"
         "GRANT SELECT ON reports TO helpdesk;",
         db);
}

void advance_report_serials(PgCluster& c, const std::string& db, int n) {
  c.psql("INSERT INTO reports (title) SELECT 'more ' || g FROM generate_series(1, " + std::to_string(n) + ") g;"
         "SELECT count(nextval('report_serials')) FROM generate_series(1, " + std::to_string(n) + ");",
         db);
}

std::string site_databases_toml(const std::string& db, const std::vector<std::string>& more) {
  if (more.empty()) return "database = " + toml_string(db);
  std::vector<std::string> all = {db};
  all.insert(all.end(), more.begin(), more.end());
  return "databases = " + toml_array(all);
}

Site::Site(SiteOptions o) : opts_(std::move(o)) {
  active_ = PgCluster::start({.name = "active"});
  for (int i = 0; i < opts_.replicas; ++i)
    replicas_.push_back(PgCluster::start({.name = "hd" + std::to_string(i + 1), .settings = opts_.replica_settings}));
  active_->write_password_file(dir_ / "secrets" / "pw");
  if (opts_.load_site) {
    active_->psql("CREATE DATABASE " + qi(opts_.database));
    active_->psql_file(fs::path(SK_SOURCE_DIR) / "demo" / "site_schema.sql", opts_.database);
    active_->psql_file(fs::path(SK_SOURCE_DIR) / "demo" / "site_data.sql", opts_.database);
    for (const auto& db : opts_.more_databases) load_report_database(*active_, db);
  }
  write_config();
}

Site::~Site() = default;

void Site::write_config(const std::string& extra, int replica_port_override) {
  std::ofstream f(config());
  auto server = [&](const std::string& name, const PgCluster& c, const std::string& transport, int port,
                    const std::string& more) {
    f << "[servers." << name << "]\nengine = \"postgresql\"\ntransport = \"" << transport << "\"\nhost = \"127.0.0.1\"\n"
      << "port = " << (port ? port : c.port()) << "\nuser = \"" << c.superuser() << "\"\npassword_file = \"secrets/pw\"\n"
      << "data_dir = \"" << c.data_dir().string() << "\"\n" << more << "\n";
  };
  f << "[site]\ncode = \"CEN\"\n" << site_databases_toml(opts_.database, opts_.more_databases)
    << "\n\n[state]\npath = \"state/sitekeeper.db\"\n\n[archive]\npath = \"" << opts_.archive
    << "\"\nkeep = " << opts_.keep << "\nmax_age = \"" << opts_.max_age << "\"\n" << opts_.archive_extra << "\n";
  server("cm1", *active_, "native", 0, "");
  std::string reps;
  for (size_t i = 0; i < replicas_.size(); ++i) {
    const std::string name = "hd" + std::to_string(i + 1);
    server(name, *replicas_[i], opts_.transport, i == 0 ? replica_port_override : 0, opts_.replica_server_extra);
    reps += (reps.empty() ? "\"" : ", \"") + name + "\"";
  }
  f << "[roles]\nactive = \"cm1\"\nreplicas = [" << reps << "]\n\n"
    << "[replica]\nreaders = [\"helpdesk\"]\njobs = 2\nswap_timeout = \"10s\"\n"
    << "validate = [\"SELECT count(*) FROM sites\", \"SELECT count(*) FROM status_messages\"]\n\n"
    << opts_.extra_config << "\n" << extra << "\n";
  f.close();
  ::chmod(config().c_str(), 0600);
}

std::vector<std::string> Site::argv(std::vector<std::string> args) const {
  std::vector<std::string> a = {SK_BINARY, "--config", config().string()};
  a.insert(a.end(), args.begin(), args.end());
  return a;
}

CommandResult Site::run(std::vector<std::string> args, std::chrono::milliseconds timeout) const {
  return run_capture(argv(std::move(args)), {}, timeout);
}

nlohmann::json Site::json(std::vector<std::string> args) const {
  args.insert(args.begin(), "--json");
  return parse_json(run(args));
}

void Site::add_messages(int n, const std::string& tag) {
  active_->psql("INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, message) "
                "SELECT 'CEN', 'sitekeeper-test', 1, 'informational', 'TESTPC', '" + tag +
                    "' FROM generate_series(1, " + std::to_string(n) + ")",
                opts_.database);
}

std::string Site::count_on_replica(int i, const std::string& where) const {
  return replicas_.at(i)->psql("SELECT count(*) FROM status_messages" + (where.empty() ? "" : " WHERE " + where),
                               opts_.database);
}

}  // namespace sk::test
