#include "app/cmd/output.hpp"

#include <iostream>

#include "core/log.hpp"

namespace sk::cli {

void Output::say(const std::string& text) const {
  if (json_) return;
  std::cout << text;
  if (text.empty() || text.back() != '\n') std::cout << '\n';
  std::cout.flush();
}

nlohmann::json Output::finished(int exit_code) const {
  if (document_) return *document_;
  nlohmann::json j = {{"ok", exit_code == kOk}, {"exit_code", exit_code}};
  j.update(facts_);
  return j;
}

nlohmann::json Output::failed(const Error& e) const {
  return error_document(e, document_ ? *document_ : facts_);
}

nlohmann::json error_document(const Error& e, nlohmann::json base) {
  nlohmann::json j = {{"ok", false}, {"exit_code", e.exit_code()}, {"error", log::redact(e.what())},
                      {"hint", e.hint()}};
  if (base.is_object())
    for (auto it = base.begin(); it != base.end(); ++it)
      if (!j.contains(it.key())) j[it.key()] = it.value();
  return j;
}

void print_json(const nlohmann::json& j) { std::cout << j.dump(2) << std::endl; }

}  // namespace sk::cli
