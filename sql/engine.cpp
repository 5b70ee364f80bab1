#include "sql/engine.hpp"

#include "core/error.hpp"

namespace sk::sql {

namespace {
[[noreturn]] void unsupported(const Engine& e, const char* op) {
  throw Error(std::string(op) + " is not supported for " + e.dialect());
}
}  // namespace

const char* to_string(Duty d) {
  switch (d) {
    case Duty::fence: return "fence";
    case Duty::unfence: return "unfence";
    case Duty::promote: return "promote";
    case Duty::open: return "open to clients";
    case Duty::serials: return "serial resync";
    case Duty::profile: return "apply profile";
    case Duty::permissions: return "permission replay";
    case Duty::epoch: return "epoch";
    case Duty::smoke: return "smoke test";
    case Duty::lag: return "lag";
    case Duty::prepare_standby: return "prepare a primary for a standby";
    case Duty::build_standby: return "build a standby";
    case Duty::follow: return "follow a new primary";
    case Duty::rewind: return "rewind onto a new primary";
    case Duty::stop: return "stop the server";
    case Duty::synchronous: return "synchronous replication";
    case Duty::restore: return "restore into a staging copy and rename it to the live name";
    case Duty::lift_read_only: return "lift a replica's read-only default";
    case Duty::swap_together: return "swap several databases in at once";
    case Duty::roll_forward: return "restore a physical base backup and replay the archived WAL";
  }
  return "?";
}

// Nothing by default: an engine names what it can do.
bool Engine::supports(Duty) const { return false; }
void Engine::bound_connect(std::chrono::milliseconds) {}
void Engine::keep_sessions() {}
void Engine::swap_in_all(const std::vector<SwapPair>& swaps, std::chrono::milliseconds timeout) {
  if (swaps.size() == 1) return swap_in(swaps.front().live, swaps.front().staging, timeout);
  if (!swaps.empty()) unsupported(*this, "swapping several databases at once");
}
void Engine::warm_up(const std::string&) {}

void Engine::resync_serials(const std::string&, const std::vector<SerialValue>&) { unsupported(*this, "serial resync"); }
std::string Engine::promote_closed(const std::string&) { unsupported(*this, "promote"); }
std::vector<std::string> Engine::promote_closed_each(const std::vector<std::string>& dbs) {
  std::vector<std::string> tokens;
  for (const auto& db : dbs) tokens.push_back(promote_closed(db));
  return tokens;
}
void Engine::open_to_clients(const std::string&, const std::string&) { unsupported(*this, "opening to clients"); }
std::string Engine::fence(const std::string&) { unsupported(*this, "fence"); }
void Engine::unfence(const std::string&) { unsupported(*this, "unfence"); }
std::vector<std::string> Engine::apply_profile(const std::string&, const nlohmann::json&) {
  unsupported(*this, "apply profile");
}
std::string Engine::wal_position() { unsupported(*this, "WAL position"); }
std::uint64_t Engine::wal_distance(const std::string&, const std::string&) { unsupported(*this, "WAL distance"); }
void Engine::smoke_test(const std::string&) { unsupported(*this, "smoke test"); }
long Engine::read_epoch() { unsupported(*this, "reading the epoch"); }
void Engine::write_epoch(long) { unsupported(*this, "writing the epoch"); }
void Engine::checkpoint() { unsupported(*this, "checkpoint"); }
void Engine::lift_read_only(const std::string&) { unsupported(*this, "lifting a replica's read-only default"); }
void Engine::prepare_for_standby(const std::string&) { unsupported(*this, "preparing a primary for a standby"); }
std::string Engine::kept_for_standby(const std::string&) { unsupported(*this, "reading what a primary keeps for a standby"); }
void Engine::set_synchronous_standby(const std::string&) { unsupported(*this, "synchronous replication"); }
void Engine::build_standby(const ServerConfig&, const StandbyTiming&) { unsupported(*this, "building a standby"); }
void Engine::follow(const ServerConfig&, const StandbyTiming&) { unsupported(*this, "following a new primary"); }
void Engine::rewind_onto(const ServerConfig&, const StandbyTiming&) { unsupported(*this, "rewinding onto a new primary"); }
void Engine::stop_server() { unsupported(*this, "stopping the server"); }
bool Engine::server_running() { unsupported(*this, "asking whether the server runs"); }
std::vector<std::string> Engine::describe(Duty duty, const StepText&) const {
  return {std::string("-- ") + to_string(duty) + " is not supported for " + dialect()};
}
std::unique_ptr<ScratchServer> Engine::start_scratch(const fs::path&) { unsupported(*this, "a scratch server"); }
std::vector<std::string> Engine::restore_profile_deviations() { return {}; }
void Engine::base_backup(const fs::path&, const CancelToken*) { unsupported(*this, "a physical base backup"); }
void Engine::verify_base_backup(const fs::path&, const fs::path&, const CancelToken*) {
  unsupported(*this, "verifying a physical base backup");
}
void Engine::prepare_wal_stream(const std::string&) { unsupported(*this, "a WAL stream"); }
void Engine::stream_wal(const fs::path&, const std::string&, const CancelToken*) { unsupported(*this, "a WAL stream"); }
WalStreamState Engine::wal_stream_state(const std::string&) { unsupported(*this, "a WAL stream"); }
std::vector<fs::path> Engine::obsolete_wal(const fs::path&, const fs::path&) { return {}; }
Engine::WalCoverage Engine::wal_coverage(const fs::path&, const fs::path&, const std::string&) {
  unsupported(*this, "reading archived WAL");
}
void Engine::prepare_recovery(const fs::path&, const fs::path&, const RecoveryTarget&, const fs::path&, const CancelToken*) {
  unsupported(*this, "restoring a physical base backup");
}
Engine::RecoveryEnd Engine::finish_recovery(const CancelToken*) { unsupported(*this, "recovery with archived WAL"); }
std::vector<std::string> Engine::describe_recovery(const fs::path&, const fs::path&, const RecoveryTarget&) const {
  return {"-- " + std::string(to_string(Duty::roll_forward)) + " is not supported for " + dialect()};
}
void Engine::restore_physical_copy(const fs::path&, const fs::path&, const CancelToken*) {
  unsupported(*this, "restoring a physical copy");
}
ServerConfig Engine::start_physical_copy(const fs::path&) { unsupported(*this, "starting a physical copy"); }
ValidationReport Engine::validate_physical_copy(const std::vector<std::string>&, const std::vector<std::string>&) {
  unsupported(*this, "validating a physical copy");
}
void Engine::stop_physical_copy(const fs::path&) { unsupported(*this, "stopping a physical copy"); }
void Engine::start_server() { unsupported(*this, "starting the server"); }
void Engine::undo_roles(const RoleUndo& undo) {
  if (!undo.data.empty()) unsupported(*this, "undoing a role replay");
}

}  // namespace sk::sql
