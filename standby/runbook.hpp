#pragma once
// The journaled runbooks (failover, switchover) are lists of steps built by the step builders in
// steps.hpp. A run:
//   1. asks every engine a step will use whether it can do the duty (Engine::supports), so an engine
//      that cannot refuses before anything changes, never halfway through;
//   2. opens the journal, or resumes the unfinished one (never one whose process is alive);
//   3. runs the steps in order, skipping those the journal records as done, checking the cancel token
//      between steps, and journaling each finished step with its time and what it did.
// A step that fails stops the run: the error names the step, the journal holds exactly the finished
// steps, and nothing after the failed step has run. Run the same command again to resume.
// Thread-safety: one run per process at a time; everything is driven by the calling thread.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "replicator/context.hpp"
#include "sql/engine.hpp"
#include "standby/site_state.hpp"

namespace sk::standby {

struct RunbookOptions {
  bool automatic = false;  // from the daemon: lag beyond max_lag refuses instead of warning
  bool yes = false;        // the operator confirmed
  // The operator says the old active is powered off: with no fence command, the only way a failover
  // may promote a standby while the old active does not answer. Journaled.
  bool old_active_is_down = false;
  // Called after each step is journaled, with its name; tests simulate a crash here. Null: nothing.
  std::function<void(const std::string& step)> after_step;
};

// What every step of one run reads. `journal` is the run's journal: a step may read what an earlier
// step recorded in it (steps.<name>.detail, or keys it set).
struct StepContext {
  const replicator::JobContext& ctx;
  const RunbookOptions& opts;
  nlohmann::json& journal;
  std::string db;    // the site database
  std::string from;  // the server that was active
  std::string to;    // the server being promoted
  long epoch = 0;    // the epoch this run raises the site to
  // Every database of the site, `db` first: a failover's from [site] databases, a recovery's from the
  // generation it restores (which holds each of them). Every step that acts on a database acts on each.
  std::vector<std::string> dbs;

  // The engine for `server`. bounded(): every connection it opens gives up after probe_timeout, for
  // servers that may be dead (the old active): no step waits longer on them. One engine per server
  // (and per bound) serves every step of the run and keeps its sessions (Engine::keep_sessions): the
  // steps between the fault and the open step are many short operations, and a new session for each
  // would cost more than the operations themselves.
  std::shared_ptr<sql::Engine> engine(const std::string& server) const;
  std::shared_ptr<sql::Engine> bounded(const std::string& server) const;
  const Config& cfg() const { return ctx.cfg; }
  // False once the fence step found the old active silent (it was fenced by command or declared down):
  // later steps then use what the daemon recorded of it instead of waiting on it again.
  bool old_active_answered() const { return journal.value("old_active_answered", true); }

  // Shared by the copies of this context the steps hold: the run's engines, by server and bound.
  std::shared_ptr<std::map<std::string, std::shared_ptr<sql::Engine>>> engines =
      std::make_shared<std::map<std::string, std::shared_ptr<sql::Engine>>>();
};

struct Step {
  std::string name;
  std::string title;
  // The duties this step needs, and from which server: checked before the first step runs.
  std::vector<std::pair<std::string, sql::Duty>> needs;
  // The exact SQL and commands, for --plan and the runbook.
  std::function<std::vector<std::string>()> actions;
  // Does the step; returns one line for the journal and the log. Throws to stop the run.
  std::function<std::string()> run;
};

// Throws sk::Error naming the server, the step and the duty when an engine cannot do what a step
// needs; nothing has changed then.
void check_duties(const StepContext& sc, const std::vector<Step>& steps);

// The open journal of `kind` resumed (its pid taken over), or a new one from `from` to `to` with the
// fields of `extra` (written in the same put). Throws SafetyError when another live process runs it,
// or when an unfinished run of another kind is open.
nlohmann::json open_or_resume(SiteState& st, const std::string& kind, const std::string& from, const std::string& to,
                              const Clock& clock, const nlohmann::json& extra = nlohmann::json::object());

// Runs the steps not yet in the journal, in order. Throws sk::Cancelled when the token fired between
// steps, and sk::Error "step NAME failed: ..." (same exit code and hint as the step's error) when one
// fails; the journal then holds exactly the steps that finished.
void run_steps(const StepContext& sc, std::vector<Step>& steps);

// A whole run on an open journal: journals the operator's --old-active-is-down once, runs the steps
// (run_steps) and closes the journal when all are done. A failure or refusal marks the journal
// stopped (when and why), so the daemon never retries it behind an operator's back; a cancellation
// leaves it open for the next start. Rethrows what run_steps threw.
void run_to_end(const StepContext& sc, std::vector<Step>& steps);

// The plan of a run: every step with its actions and whether the journal has it done.
nlohmann::json plan_of(const StepContext& sc, const std::string& kind, const std::vector<Step>& steps);
std::string render_plan(const nlohmann::json& p);

// True when a process with this pid is alive.
bool pid_alive(long pid);

}  // namespace sk::standby
