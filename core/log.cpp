#include "core/log.hpp"

#include <map>
#include <mutex>
#include <regex>

#include <spdlog/sinks/stdout_sinks.h>

namespace sk::log {

namespace {
std::mutex mu;
spdlog::level::level_enum current = spdlog::level::info;
std::map<std::string, std::shared_ptr<spdlog::logger>>& loggers() {
  static std::map<std::string, std::shared_ptr<spdlog::logger>> m;
  return m;
}
std::shared_ptr<spdlog::sinks::stderr_sink_mt> sink() {
  static auto s = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  return s;
}
}  // namespace

bool set_level(const std::string& level) {
  auto l = spdlog::level::from_str(level);
  if (l == spdlog::level::off && level != "off") return false;
  std::lock_guard lock(mu);
  current = l;
  for (auto& [_, lg] : loggers()) lg->set_level(l);
  return true;
}

std::shared_ptr<spdlog::logger> get(const std::string& module) {
  std::lock_guard lock(mu);
  auto& m = loggers();
  auto it = m.find(module);
  if (it != m.end()) return it->second;
  auto lg = std::make_shared<spdlog::logger>(module, sink());
  lg->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  lg->set_level(current);
  m.emplace(module, lg);
  return lg;
}

std::string redact(const std::string& text) {
  static const std::regex kv(R"(((?:password|PWD|PGPASSWORD)\s*=\s*)(\{(?:[^}]|\}\})*\}|'(?:[^']|'')*'|[^;\s]*))",
                             std::regex::icase);
  return std::regex_replace(text, kv, "$1********");
}

}  // namespace sk::log
