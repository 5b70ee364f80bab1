#include "app/daemon/backup_age.hpp"

#include <exception>

namespace sk::daemon {

BackupAgeWatch::BackupAgeWatch(std::shared_ptr<Clock> clock, Newest newest)
    : clock_(std::move(clock)), newest_(std::move(newest)), started_(clock_->now()) {}

BackupAgeWatch::Tick BackupAgeWatch::tick(Millis max_age) {
  const auto now = clock_->now();
  std::optional<Clock::time_point> newest;
  std::string unreadable;
  try {
    newest = newest_();
  } catch (const std::exception& e) {
    unreadable = e.what();
  }
  std::string problem;
  if (!unreadable.empty()) {
    problem = "cannot read the archive to judge the backups' age: " + unreadable;
  } else if (!newest) {
    if (now - started_ >= max_age) problem = "no verified backup in the archive, max_age " + format_duration(max_age);
  } else if (now - *newest > max_age) {
    problem = "the newest verified backup is " +
              format_duration(std::chrono::duration_cast<Millis>(now - *newest)) + " old, older than max_age " +
              format_duration(max_age);
  }
  Tick t;
  if (!problem.empty() && !raised_) t.alert = problem;
  if (problem.empty() && raised_)
    t.cleared = newest ? "backups are fresh again: the newest verified one is " +
                             format_duration(std::chrono::duration_cast<Millis>(now - *newest)) + " old"
                       : "the archive is readable again";
  raised_ = !problem.empty();
  return t;
}

}  // namespace sk::daemon
