#pragma once
// A process runner that starts nothing: it records every argv and answers with a scripted exit code.
// Thread-safety: every method may be called from any thread.
#include <mutex>
#include <string>
#include <vector>

#include "core/process.hpp"

namespace sk::test {

class FakeRunner : public ProcessRunner {
 public:
  ProcessResult run(const std::vector<std::string>& argv, const ProcessOptions&) override {
    std::lock_guard lock(mu_);
    argvs_.push_back(argv);
    ProcessResult r;
    r.exit_code = exit_code_;
    r.err = err_;
    return r;
  }
  std::vector<std::vector<std::string>> argvs() {
    std::lock_guard lock(mu_);
    return argvs_;
  }
  // Every later run exits with `code` and prints `err` on stderr.
  void fail_with(int code, std::string err) {
    std::lock_guard lock(mu_);
    exit_code_ = code;
    err_ = std::move(err);
  }

 private:
  std::mutex mu_;
  std::vector<std::vector<std::string>> argvs_;
  int exit_code_ = 0;
  std::string err_;
};

}  // namespace sk::test
