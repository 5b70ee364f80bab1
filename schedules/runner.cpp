#include "schedules/runner.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/error.hpp"

namespace sk::sched {

namespace {
// Catching up a clock that jumped far ahead must not walk millions of fire times.
constexpr int kMaxCountedMisses = 1000;
// 2^20 times any sane retry_delay is already years; the cap keeps the arithmetic from overflowing.
constexpr int kMaxRetryShift = 20;
}  // namespace

const char* to_string(RunReason r) {
  switch (r) {
    case RunReason::scheduled: return "scheduled";
    case RunReason::catch_up: return "catch-up";
    case RunReason::after: return "after";
    case RunReason::retry: return "retry";
  }
  return "?";
}

JobSpec job_spec_from_config(const ScheduleConfig& sc, const std::filesystem::path& file, JobFn fn) {
  return JobSpec{sc.job, schedule_from_config(sc, file), sc.catch_up, sc.retries, sc.retry_delay, std::move(fn)};
}

Runner::Runner(std::shared_ptr<const Clock> clock, HistoryFn history)
    : clock_(std::move(clock)), history_(std::move(history)) {
  if (!clock_) throw std::invalid_argument("runner needs a clock");
}

void Runner::add(JobSpec spec) {
  if (spec.name.empty()) throw std::invalid_argument("job name is empty");
  if (spec.retries < 0) throw std::invalid_argument("retries must not be negative");
  if (spec.retry_delay < std::chrono::milliseconds::zero())
    throw std::invalid_argument("retry_delay must not be negative");
  std::lock_guard lock(mu_);
  if (started_) throw std::logic_error("cannot add job '" + spec.name + "' after start");
  if (jobs_.count(spec.name)) throw ConfigError("duplicate job '" + spec.name + "'");
  std::string name = spec.name;
  jobs_.emplace(std::move(name), Job(std::move(spec)));
}

void Runner::validate_locked() const {
  for (const auto& [name, job] : jobs_) {
    if (job.spec.schedule.kind() != Schedule::Kind::after) continue;
    // Each job has at most one after-target, so following the chain either ends or loops.
    std::vector<std::string> path{name};
    const Job* cur = &job;
    while (cur->spec.schedule.kind() == Schedule::Kind::after) {
      const std::string& target = cur->spec.schedule.after_job();
      auto it = jobs_.find(target);
      if (it == jobs_.end())
        throw ConfigError("job '" + path.back() + "' runs after unknown job '" + target + "'");
      if (std::find(path.begin(), path.end(), target) != path.end()) {
        std::string text = "after cycle: ";
        auto from = std::find(path.begin(), path.end(), target);
        for (auto p = from; p != path.end(); ++p) text += *p + " -> ";
        throw ConfigError(text + target);
      }
      path.push_back(target);
      cur = &it->second;
    }
  }
}

void Runner::start() { start(clock_->now()); }

void Runner::start(time_point now) {
  std::vector<std::string> wanted;
  {
    std::lock_guard lock(mu_);
    if (started_) return;
    validate_locked();
    if (history_)
      for (const auto& [name, job] : jobs_) {
        if (!job.spec.catch_up) continue;
        wanted.push_back(name);
        if (job.spec.schedule.kind() == Schedule::Kind::after) wanted.push_back(job.spec.schedule.after_job());
      }
  }
  // The history callback reads the state store: keep it outside the lock.
  std::map<std::string, JobHistory> hist;
  for (const auto& name : wanted)
    if (!hist.count(name)) hist.emplace(name, history_(name));

  std::lock_guard lock(mu_);
  if (started_) return;
  for (auto& [name, job] : jobs_) job.dependents.clear();
  for (auto& [name, job] : jobs_)
    if (job.spec.schedule.kind() == Schedule::Kind::after)
      jobs_.at(job.spec.schedule.after_job()).dependents.push_back(name);

  // A fire time exactly at `now` is due now, not skipped.
  const time_point just_before = now - time_point::duration(1);
  for (auto& [name, job] : jobs_) {
    const Schedule& s = job.spec.schedule;
    auto own = hist.find(name);
    if (s.kind() != Schedule::Kind::after) {
      job.next_fire = s.next_fire(just_before);
      if (own == hist.end() || !own->second.last_start) continue;
      auto prev = s.prev_fire(just_before);
      if (prev && *prev > *own->second.last_start) merge(job, Due{*prev, RunReason::catch_up, 0, 0});
    } else {
      auto target = hist.find(s.after_job());
      if (target == hist.end() || !target->second.last_success_end) continue;
      time_point success = *target->second.last_success_end;
      if (own != hist.end() && own->second.last_start && *own->second.last_start >= success) continue;
      time_point due = success + s.delay();
      merge(job, Due{due, due <= now ? RunReason::catch_up : RunReason::after, 0, 0});
    }
  }
  started_ = true;
}

void Runner::merge(Job& job, Due due) {
  if (!job.pending) {
    job.pending = due;
    return;
  }
  int merged = job.pending->merged + due.merged + 1;
  if (due.at < job.pending->at) job.pending = due;
  job.pending->merged = merged;
}

std::vector<Launch> Runner::poll() { return poll(clock_->now()); }

std::vector<Launch> Runner::poll(time_point now) {
  start(now);
  std::vector<Launch> out;
  std::lock_guard lock(mu_);
  for (auto& [name, job] : jobs_) {
    if (job.next_fire && *job.next_fire <= now) {
      const Schedule& s = job.spec.schedule;
      time_point first = *job.next_fire;
      int missed = 0;
      auto next = s.next_fire(first);
      while (next && *next <= now && missed < kMaxCountedMisses) {
        ++missed;
        next = s.next_fire(*next);
      }
      if (next && *next <= now) next = s.next_fire(now);
      job.next_fire = next;
      merge(job, Due{first, RunReason::scheduled, 0, missed});
    }
    if (job.running || !job.pending || job.pending->at > now) continue;
    Due d = *job.pending;
    job.pending.reset();
    job.running = true;
    job.current = JobContext{name, d.at, now, d.reason, d.attempt, d.merged};
    job.last_start = now;
    job.last_lateness = now - d.at;
    ++job.started_runs;
    out.push_back(Launch{job.current, job.spec.fn});
  }
  std::sort(out.begin(), out.end(), [](const Launch& a, const Launch& b) {
    if (a.context.due != b.context.due) return a.context.due < b.context.due;
    return a.context.job < b.context.job;
  });
  return out;
}

void Runner::finished(const std::string& name, bool ok) {
  std::function<void()> callback;
  {
    std::lock_guard lock(mu_);
    auto it = jobs_.find(name);
    if (it == jobs_.end()) throw std::logic_error("unknown job '" + name + "'");
    Job& job = it->second;
    if (!job.running) throw std::logic_error("job '" + name + "' is not running");
    const time_point now = clock_->now();
    job.running = false;
    job.last_ok = ok;
    if (ok) {
      for (const auto& dep : job.dependents) {
        Job& d = jobs_.at(dep);
        merge(d, Due{now + d.spec.schedule.delay(), RunReason::after, 0, 0});
      }
    } else if (job.current.attempt < job.spec.retries) {
      int shift = std::min(job.current.attempt, kMaxRetryShift);
      auto delay = job.spec.retry_delay * (std::int64_t{1} << shift);
      merge(job, Due{now + delay, RunReason::retry, job.current.attempt + 1, 0});
    }
    callback = on_change_;
  }
  if (callback) callback();
}

JobOutcome Runner::run(const Launch& launch) {
  JobOutcome out;
  if (!launch.fn) {
    out = {false, "job has no callable"};
  } else {
    try {
      out = launch.fn(launch.context);
    } catch (const std::exception& e) {
      out = {false, e.what()};
    } catch (...) {
      out = {false, "unknown exception"};
    }
  }
  finished(launch.context.job, out.ok);
  return out;
}

std::optional<time_point> Runner::next_wakeup() const {
  std::lock_guard lock(mu_);
  std::optional<time_point> best;
  auto consider = [&](time_point t) {
    if (!best || t < *best) best = t;
  };
  for (const auto& [name, job] : jobs_) {
    if (job.next_fire) consider(*job.next_fire);
    // A pending run of a running job waits for finished(), which calls on_change.
    if (job.pending && !job.running) consider(job.pending->at);
  }
  return best;
}

std::vector<JobStatus> Runner::status() const {
  std::lock_guard lock(mu_);
  std::vector<JobStatus> out;
  for (const auto& [name, job] : jobs_) {
    JobStatus st;
    st.job = name;
    st.schedule = job.spec.schedule.describe();
    st.running = job.running;
    st.next_due = job.next_fire;
    if (job.pending && (!st.next_due || job.pending->at < *st.next_due)) st.next_due = job.pending->at;
    st.last_start = job.last_start;
    st.last_ok = job.last_ok;
    st.last_lateness = job.last_lateness;
    st.started_runs = job.started_runs;
    out.push_back(std::move(st));
  }
  return out;
}

void Runner::on_change(std::function<void()> callback) {
  std::lock_guard lock(mu_);
  on_change_ = std::move(callback);
}

}  // namespace sk::sched
