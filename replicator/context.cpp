#include "replicator/context.hpp"

namespace sk::replicator {

EngineFactory real_engines(std::shared_ptr<ProcessRunner> runner) {
  return [runner](const ServerConfig& s) { return sql::make_engine(s, runner); };
}

}  // namespace sk::replicator
