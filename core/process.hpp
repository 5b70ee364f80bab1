#pragma once
// Runs external tools from an argv, never through a shell. The interface is the seam that unit tests
// replace ("pg_restore fails", "tool hangs").
// Thread-safety: run() may be called from several threads at once.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sk {

// Cooperative cancellation shared by a job and everything it starts.
class CancelToken {
 public:
  void cancel() { flag_.store(true); }
  bool cancelled() const { return flag_.load(); }
  // Throws sk::Cancelled when cancelled.
  void check() const;

 private:
  std::atomic<bool> flag_{false};
};

struct ProcessOptions {
  std::map<std::string, std::string> env;  // added to the inherited environment (e.g. PGPASSWORD)
  std::filesystem::path cwd;               // empty: inherit
  const CancelToken* cancel = nullptr;     // when it fires the child is killed
  std::chrono::milliseconds timeout{0};    // 0: none
};

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  bool cancelled = false;
  bool timed_out = false;
};

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  // Runs argv[0] (a path, or a name looked up in PATH) with the rest as arguments.
  // The child gets a parent-death signal, so a SIGKILLed sitekeeper never leaves a restore running.
  // Never throws for a non-zero exit: the caller reads exit_code. Throws sk::Error when argv[0] cannot
  // be started.
  virtual ProcessResult run(const std::vector<std::string>& argv, const ProcessOptions& opts = {}) = 0;
};

// The real runner (Boost.Process).
std::shared_ptr<ProcessRunner> system_runner();

// Runs and throws sk::Error("<tool> failed (exit N): <last stderr lines>") on a non-zero exit, and
// sk::Cancelled when the token fired.
ProcessResult run_checked(ProcessRunner& runner, const std::vector<std::string>& argv,
                          const ProcessOptions& opts = {});

// Replaces "{name}" placeholders in each argument (used for after_backup, fence, alias, alerts).
std::vector<std::string> expand_argv(const std::vector<std::string>& argv,
                                     const std::map<std::string, std::string>& values);

}  // namespace sk
