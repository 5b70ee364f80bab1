#include "core/error.hpp"
#include "sql/engine.hpp"
#include "sql/postgres/pg_engine.hpp"
#include "sql/sqlite/sqlite_engine.hpp"
#include "sql/sqlserver/sqlserver_engine.hpp"

namespace sk::sql {

std::unique_ptr<Engine> make_engine(const ServerConfig& server, std::shared_ptr<ProcessRunner> runner) {
  if (server.engine == "postgresql") return std::make_unique<PgEngine>(server, std::move(runner));
  if (server.engine == "sqlite") return make_sqlite_engine(server, std::move(runner));
  if (server.engine == "sqlserver") return make_sqlserver_engine(server, std::move(runner));
  throw ConfigError("server " + server.name + ": unknown engine " + server.engine);
}

EngineFactory engine_factory(std::shared_ptr<ProcessRunner> runner) {
  return [runner](const ServerConfig& s) { return make_engine(s, runner); };
}

}  // namespace sk::sql
