#include "app/daemon/config_check.hpp"

#include "schedules/schedule.hpp"

namespace sk::daemon {

Config load_checked_config(const std::string& file) {
  Config cfg = load_config(file);
  sched::check_schedules(cfg.schedules, cfg.file);
  return cfg;
}

}  // namespace sk::daemon
