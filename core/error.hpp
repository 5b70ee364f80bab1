#pragma once
// Errors that reach the operator. Messages are short and lowercase; a hint says what to do next.
#include <stdexcept>
#include <string>

namespace sk {

// Exit codes of the command-line contract (DESIGN.md).
enum ExitCode : int { kOk = 0, kFailed = 1, kUsage = 2, kRefused = 3 };

class Error : public std::runtime_error {
 public:
  explicit Error(std::string message, std::string hint = {}, int exit_code = kFailed)
      : std::runtime_error(std::move(message)), hint_(std::move(hint)), exit_code_(exit_code) {}
  const std::string& hint() const { return hint_; }
  int exit_code() const { return exit_code_; }

 private:
  std::string hint_;
  int exit_code_;
};

// A configuration or usage problem: exit 2.
class ConfigError : public Error {
 public:
  explicit ConfigError(std::string message, std::string hint = {})
      : Error(std::move(message), std::move(hint), kUsage) {}
};

// Refused for safety (lag, no verified backup, not fenced): exit 3.
class SafetyError : public Error {
 public:
  explicit SafetyError(std::string message, std::string hint = {})
      : Error(std::move(message), std::move(hint), kRefused) {}
};

// Raised when a cancellation token fires (daemon shutdown); the caller has already cleaned up.
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

}  // namespace sk
