#pragma once
// What one command reports. Without --json: text on stdout as it comes. With --json: nothing until the
// command ends, then one JSON document on stdout, printed by cli.cpp after a failure or a refusal too.
//
// The document is either the command's own established shape (check, status, history, standby status,
// schedule, the plans: set with document(), printed as it is) or {"ok", "exit_code", <facts>}. A failed
// or refused command adds "ok": false, "exit_code", "error" and "hint" to whichever of the two it had
// built (facts a command set before it failed stay in it). Logs stay on stderr.
// Thread-safety: one Output per command, used by its thread.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace sk::cli {

class Output {
 public:
  explicit Output(bool json) : json_(json) {}
  bool json() const { return json_; }

  // Text for a terminal, on stdout now (a newline is added when missing); nothing with --json.
  void say(const std::string& text) const;
  // A fact of the {"ok", "exit_code", ...} document.
  void set(const std::string& key, nlohmann::json value) { facts_[key] = std::move(value); }
  // The command's own document, printed unchanged when the command does not fail.
  void document(nlohmann::json doc) { document_ = std::move(doc); }

  // The document of a command that returned `exit_code`.
  nlohmann::json finished(int exit_code) const;
  // The document of a command that threw `e`.
  nlohmann::json failed(const Error& e) const;

 private:
  bool json_;
  nlohmann::json facts_ = nlohmann::json::object();
  std::optional<nlohmann::json> document_;
};

// {"ok": false, "exit_code", "error", "hint"} over `base` (an object; anything else is left out).
nlohmann::json error_document(const Error& e, nlohmann::json base = nlohmann::json::object());

// Prints a JSON document on stdout.
void print_json(const nlohmann::json& j);

}  // namespace sk::cli
