#include "core/log.hpp"

#include <algorithm>
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

bool is_control(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7F;
}

// Escapes at the logger rather than in a sink's formatter, so that whatever sink a logger is given
// still gets one line per entry: a value holding a newline can neither split nor forge one.
class EscapingLogger final : public spdlog::logger {
 public:
  using spdlog::logger::logger;

  std::shared_ptr<spdlog::logger> clone(std::string name) override {
    auto c = std::make_shared<EscapingLogger>(*this);
    c->name_ = std::move(name);
    return c;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string_view text(msg.payload.data(), msg.payload.size());
    // The sink ends every entry with a newline; one more at the end of a message is not content.
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    if (text.size() == msg.payload.size() && std::none_of(text.begin(), text.end(), is_control))
      return spdlog::logger::sink_it_(msg);
    std::string escaped = escape_control(text);
    spdlog::details::log_msg copy(msg);
    copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
    spdlog::logger::sink_it_(copy);
  }
};

}  // namespace

std::string escape_control(std::string_view text) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (is_control(c)) {
      auto u = static_cast<unsigned char>(c);
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

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
  auto lg = std::make_shared<EscapingLogger>(module, sink());
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
