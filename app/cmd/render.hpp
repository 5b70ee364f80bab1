#pragma once
// The status and readiness documents (app/daemon/report.hpp) rendered as text for a terminal.
#include <string>

#include <nlohmann/json.hpp>

namespace sk::cli {

std::string render_status(const nlohmann::json& status);
std::string render_check(const nlohmann::json& check);

}  // namespace sk::cli
