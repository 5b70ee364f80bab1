#pragma once
// What every replicator job is given: configuration, state, and the seams (engines, processes, clock)
// a test can replace.
#include <functional>
#include <memory>

#include "app/core/clock.hpp"
#include "app/core/config.hpp"
#include "app/core/process.hpp"
#include "app/core/state.hpp"
#include "sql/engine.hpp"

namespace sk::replicator {

using EngineFactory = std::function<std::unique_ptr<sql::Engine>(const ServerConfig&)>;

struct JobContext {
  const Config& cfg;
  StateStore& state;
  EngineFactory engines;
  std::shared_ptr<ProcessRunner> runner;
  std::shared_ptr<Clock> clock;
  const CancelToken* cancel = nullptr;  // null: cannot be cancelled
};

// The real factory: sql::make_engine over the given runner.
EngineFactory real_engines(std::shared_ptr<ProcessRunner> runner);

}  // namespace sk::replicator
