#include "sql/engine.hpp"

#include "core/error.hpp"

namespace sk::sql {

namespace {
[[noreturn]] void unsupported(const Engine& e, const char* op) {
  throw Error(std::string(op) + " is not supported for " + e.dialect());
}
}  // namespace

void Engine::resync_serials(const std::string&, const std::vector<SerialValue>&) { unsupported(*this, "serial resync"); }
void Engine::promote(const std::string&) { unsupported(*this, "promote"); }
void Engine::fence(const std::string&) { unsupported(*this, "fence"); }
std::vector<std::string> Engine::apply_profile(const std::string&, const nlohmann::json&) {
  unsupported(*this, "apply profile");
}
std::string Engine::wal_position() { unsupported(*this, "WAL position"); }
std::uint64_t Engine::wal_distance(const std::string&, const std::string&) { unsupported(*this, "WAL distance"); }
void Engine::smoke_test(const std::string&) { unsupported(*this, "smoke test"); }
std::unique_ptr<ScratchServer> Engine::start_scratch(const fs::path&) { unsupported(*this, "a scratch server"); }
void Engine::undo_roles(const RoleUndo& undo) {
  if (!undo.data.empty()) unsupported(*this, "undoing a role replay");
}

}  // namespace sk::sql
