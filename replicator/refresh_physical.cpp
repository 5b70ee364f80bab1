#include "replicator/refresh_physical.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "core/text.hpp"

namespace sk::replicator {

namespace {
auto logger() { return log::get("replicator"); }

// A test hook (tests/integration/refresh_physical_test.cpp): SITEKEEPER_TEST_KILL_AT names a point of
// the swap where this process kills itself, as a machine losing power would stop it there.
void kill_point(const char* where) {
  const char* at = std::getenv("SITEKEEPER_TEST_KILL_AT");
  if (at && std::string(at) == where) ::kill(::getpid(), SIGKILL);
}

void rename_durably(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) throw Error("cannot rename " + show_path(from) + " to " + show_path(to) + ": " + ec.message());
  fsync_path(to.parent_path());
}

void remove_folder(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
  if (ec) throw Error("cannot remove " + show_path(p) + ": " + ec.message());
}

bool holds_server(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p / "PG_VERSION", ec);
}

// Best effort on a path that is already failing: the first error is the one reported.
template <class F>
void quietly(const char* what, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    logger()->warn("{}: {}", what, e.what());
  }
}
}  // namespace

PhysicalPaths physical_paths(const fs::path& data_dir) {
  fs::path live = data_dir;
  if (!live.has_filename()) live = live.parent_path();  // "/srv/hd1/" names the same folder as "/srv/hd1"
  return {live, fs::path(live.string() + ".sk-new"), fs::path(live.string() + ".sk-old")};
}

std::string recover_physical_leftovers(sql::Engine& engine, const ServerConfig& replica) {
  const auto p = physical_paths(replica.data_dir);
  std::vector<std::string> did;
  std::error_code ec;
  if (fs::exists(p.next, ec)) engine.stop_physical_copy(p.next);  // a new copy may still run there
  if (!fs::exists(p.live, ec) && fs::exists(p.old, ec)) {
    // Killed between the two renames: the old copy is complete; the new one is not trusted.
    rename_durably(p.old, p.live);
    did.push_back("put the old copy back in " + show_path(p.live));
  }
  if (fs::exists(p.old, ec)) {
    remove_folder(p.old);
    did.push_back("removed the old copy " + show_path(p.old));
  }
  if (fs::exists(p.next, ec)) {
    remove_folder(p.next);
    did.push_back("removed the unfinished copy " + show_path(p.next));
  }
  if (!did.empty() && holds_server(p.live) && !engine.server_running()) {
    engine.start_server();
    did.push_back("started " + replica.name + " again");
  }
  if (did.empty()) return {};
  return "a physical refresh of " + replica.name + " was interrupted: " + join_list(did);
}

PhysicalResult refresh_physical(const JobContext& ctx, const ServerConfig& replica, sql::Engine& engine,
                                const PhysicalRefresh& w) {
  const auto p = physical_paths(replica.data_dir);
  PhysicalResult r;
  bool started = false;
  try {
    w.step("restoring the base backup into " + show_path(p.next));
    engine.restore_physical_copy(w.backup, p.next, ctx.cancel);
    w.step("starting the new copy as a paused hot standby on a private socket");
    const ServerConfig at = engine.start_physical_copy(p.next);
    started = true;
    w.step("validating the new copy (smoke queries, a refused write)");
    r.passed = ctx.engines(at)->validate_physical_copy(w.databases, w.validate).passed.size();
    // Stopped before the old copy is, so that the stall holds one start only.
    w.step("stopping the new copy");
    engine.stop_physical_copy(p.next);
    started = false;
    w.step("waiting for the checksums of the base backup");
    if (w.before_swap) w.before_swap();
    if (ctx.cancel) ctx.cancel->check();  // the last point where a stop request is honoured
  } catch (...) {
    if (started) quietly("could not stop the new copy", [&] { engine.stop_physical_copy(p.next); });
    quietly("could not remove the new copy", [&] { remove_folder(p.next); });
    throw;
  }

  logger()->info("swapping the new copy of {} in (stop, rename, start on port {})", replica.name, replica.port);
  const bool had_old = fs::exists(p.live);
  // Puts the old copy back and starts it: the replica must serve a complete copy when this throws.
  auto give_back = [&](const std::string& why) -> Error {
    quietly("could not put the old copy back", [&] {
      if (!fs::exists(p.live) && fs::exists(p.old)) rename_durably(p.old, p.live);
      if (holds_server(p.live)) engine.start_server();
    });
    quietly("could not remove the new copy", [&] { remove_folder(p.next); });
    return Error(why + "; the old copy serves again", "see the server log in " + show_path(p.live));
  };
  const auto t0 = std::chrono::steady_clock::now();
  try {
    engine.stop_server();
  } catch (const std::exception& e) {
    throw give_back(std::string("could not stop the old copy: ") + e.what());
  }
  kill_point("after-stop");
  if (had_old) {
    try {
      rename_durably(p.live, p.old);
    } catch (const std::exception& e) {
      throw give_back(e.what());
    }
  }
  kill_point("between-renames");
  try {
    rename_durably(p.next, p.live);
  } catch (const std::exception& e) {
    throw give_back(e.what());
  }
  kill_point("after-renames");
  try {
    engine.start_server();
  } catch (const std::exception& e) {
    // The new copy in place does not start: it goes back to .sk-new (removed), the old one comes back.
    quietly("could not stop the new copy", [&] { engine.stop_server(); });
    try {
      if (had_old) rename_durably(p.live, p.next);
    } catch (const std::exception& back) {
      throw Error(std::string("the new copy did not start (") + e.what() + ") and could not be moved aside: " +
                      back.what(),
                  "start the server in " + show_path(p.live) + " by hand; the old copy is in " + show_path(p.old));
    }
    throw give_back(std::string("the new copy did not start: ") + e.what());
  }
  r.port_closed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  logger()->info("{} serves the new copy; its port was closed for {:.3f} s", replica.name, r.port_closed);
  if (w.swapped) w.swapped();
  quietly("could not remove the old copy (the next refresh does)", [&] {
    if (fs::exists(p.old)) remove_folder(p.old);
  });
  return r;
}

}  // namespace sk::replicator
