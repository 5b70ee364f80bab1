#pragma once
// What every replicator job is given: configuration, state, and the seams (engines, processes, clock)
// a test can replace.
#include <memory>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/process.hpp"
#include "core/state/store.hpp"
#include "sql/engine.hpp"

namespace sk::replicator {

struct JobContext {
  const Config& cfg;
  StateStore& state;
  sql::EngineFactory engines;
  std::shared_ptr<ProcessRunner> runner;
  std::shared_ptr<Clock> clock;
  const CancelToken* cancel = nullptr;  // null: cannot be cancelled
};

}  // namespace sk::replicator
