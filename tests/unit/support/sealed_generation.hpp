#pragma once
// A sealed backup generation for the replicator tests: the next id of the config's archive, a
// permission script, whatever `fill` writes, then the manifest and marker, so it is complete.
#include <chrono>
#include <functional>
#include <string>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "replicator/archive.hpp"
#include "support/files.hpp"

namespace sk::test {

// REQUIRES: `n` counts the generations this test made (ids are one second apart from the epoch).
inline std::string sealed_generation(const Config& cfg, int& n, const std::function<void(const fs::path&)>& fill) {
  replicator::Archive a = replicator::open_archive(cfg, false, true);
  const std::string id = a.create(Clock::time_point{} + std::chrono::seconds(++n));
  write(a.path(id) / "permissions.sql", "-- nothing\n");
  fill(a.path(id));
  replicator::Manifest m;
  m.kind = "backup";
  a.seal(id, m, nullptr);
  return id;
}

}  // namespace sk::test
