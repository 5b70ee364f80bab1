#pragma once
// The backup-age alert, raised by the daemon itself: no `check` job has to be scheduled for an
// operator to hear that backups stopped. One alert per episode (the newest verified backup grew older
// than max_age, or there is none), and one line when a fresh backup ends it.
//
// A site that has never been backed up is not alerted on until the daemon has run for max_age: the
// first nightly backup has not had its chance yet.
//
// Thread-safety: not thread-safe; one caller (the daemon's watch thread).
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/units.hpp"

namespace sk::daemon {

class BackupAgeWatch {
 public:
  // `newest` returns when the newest verified backup was taken, nullopt when there is none. It may
  // throw (an unreadable archive): that counts as none, with the error in the sentence.
  using Newest = std::function<std::optional<Clock::time_point>()>;
  BackupAgeWatch(std::shared_ptr<Clock> clock, Newest newest);

  struct Tick {
    std::string alert;    // non-empty when an episode starts: the alert's message
    std::string cleared;  // non-empty when one ends
  };
  Tick tick(Millis max_age);
  bool raised() const { return raised_; }

 private:
  std::shared_ptr<Clock> clock_;
  Newest newest_;
  Clock::time_point started_;
  bool raised_ = false;
};

}  // namespace sk::daemon
