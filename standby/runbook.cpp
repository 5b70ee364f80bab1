#include "standby/runbook.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

#include "core/error.hpp"
#include "core/log.hpp"

namespace sk::standby {

namespace {
auto logger() { return log::get("standby"); }

std::shared_ptr<sql::Engine> run_engine(const StepContext& sc, const std::string& server, bool bounded) {
  auto& e = (*sc.engines)[(bounded ? "bounded:" : "plain:") + server];
  if (!e) {
    e = sc.ctx.engines(sc.ctx.cfg.server(server));
    if (bounded) e->bound_connect(sc.ctx.cfg.failover.probe_timeout);
    e->keep_sessions();
  }
  return e;
}
}  // namespace

std::shared_ptr<sql::Engine> StepContext::engine(const std::string& server) const { return run_engine(*this, server, false); }

std::shared_ptr<sql::Engine> StepContext::bounded(const std::string& server) const { return run_engine(*this, server, true); }

bool pid_alive(long pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

void check_duties(const StepContext& sc, const std::vector<Step>& steps) {
  for (const auto& s : steps) {
    if (sc.journal["steps"].contains(s.name)) continue;
    for (const auto& [server, duty] : s.needs) {
      auto e = sc.engine(server);
      if (!e->supports(duty))
        throw Error("step " + s.name + " needs " + sql::to_string(duty) + " on " + server + ", which is not supported for " +
                        e->dialect() + "; nothing was changed",
                    "do this step by hand (see the plan), or use an engine that supports it");
    }
  }
}

nlohmann::json open_or_resume(SiteState& st, const std::string& kind, const std::string& from, const std::string& to,
                              const Clock& clock, const nlohmann::json& extra) {
  if (auto j = st.open_journal()) {
    const long owner = j->value("pid", 0L);
    if (owner != static_cast<long>(::getpid()) && pid_alive(owner))
      throw SafetyError("another sitekeeper (pid " + std::to_string(owner) + ") is running this " +
                            (*j)["kind"].get<std::string>() + " right now",
                        "wait for it; 'sitekeeper status' shows the outcome");
    if ((*j)["kind"] != kind)
      throw SafetyError("an unfinished " + (*j)["kind"].get<std::string>() + " is in the journal",
                        "finish it first with 'sitekeeper " + (*j)["kind"].get<std::string>() + " --yes'");
    (*j)["pid"] = static_cast<long>(::getpid());
    st.put_journal(*j);
    logger()->info("resuming {} {} from {} to {} ({} steps already done)", kind, (*j)["id"].get<std::string>(),
                   (*j)["from"].get<std::string>(), (*j)["to"].get<std::string>(), (*j)["steps"].size());
    return *j;
  }
  nlohmann::json j = {{"id", iso_utc(clock.now())}, {"kind", kind}, {"from", from}, {"to", to},
                      {"epoch", st.epoch() + 1}, {"started_at", iso_utc(clock.now())},
                      {"steps", nlohmann::json::object()}, {"pid", static_cast<long>(::getpid())}};
  j.update(extra);
  // Read, then written: another process may have opened a run in between. Only one of them may.
  if (!st.create_journal(j))
    throw SafetyError("another sitekeeper opened a runbook at the same moment; nothing was changed",
                      "wait for it; 'sitekeeper status' shows the outcome");
  return j;
}

void run_steps(const StepContext& sc, std::vector<Step>& steps) {
  SiteState st(sc.ctx.state);
  for (auto& s : steps) {
    if (sc.journal["steps"].contains(s.name)) {
      logger()->info("step {} already done at {}: skipping", s.name, sc.journal["steps"][s.name].value("at", ""));
      continue;
    }
    // Between steps, never inside one: a step is either done and journaled or not started.
    if (sc.ctx.cancel) sc.ctx.cancel->check();
    logger()->info("step {}: {}", s.name, s.title);
    std::string detail;
    try {
      detail = s.run();
    } catch (const Cancelled&) {
      throw;
    } catch (const Error& e) {
      throw Error("step " + s.name + " failed: " + e.what(), e.hint(), e.exit_code());
    } catch (const std::exception& e) {
      throw Error("step " + s.name + " failed: " + e.what());
    }
    sc.journal["steps"][s.name] = {{"at", iso_utc(sc.ctx.clock->now())}, {"detail", detail}};
    st.put_journal(sc.journal);
    logger()->info("step {} done: {}", s.name, detail);
    if (sc.opts.after_step) sc.opts.after_step(s.name);
  }
}

void run_to_end(const StepContext& sc, std::vector<Step>& steps) {
  SiteState st(sc.ctx.state);
  auto& j = sc.journal;
  if (sc.opts.old_active_is_down && !j.contains("operator")) {
    j["operator"] = "confirmed " + sc.from + " is powered off (--old-active-is-down) at " + iso_utc(sc.ctx.clock->now());
    st.put_journal(j);
  }
  j.erase("stopped");  // resumed by an operator, or after a crash
  try {
    run_steps(sc, steps);
  } catch (const Cancelled&) {
    throw;  // a stop request between steps: the next start resumes it
  } catch (const Error& e) {
    // Stopped by a failure or a refusal: it is not retried behind the operator's back.
    j["stopped"] = {{"at", iso_utc(sc.ctx.clock->now())}, {"why", e.what()}, {"refused", e.exit_code() == kRefused}};
    st.put_journal(j);
    throw;
  }
  j["finished_at"] = iso_utc(sc.ctx.clock->now());
  st.close_journal(j);
}

nlohmann::json plan_of(const StepContext& sc, const std::string& kind, const std::vector<Step>& steps) {
  nlohmann::json p = {{"kind", kind}, {"from", sc.from}, {"to", sc.to}, {"epoch", sc.epoch},
                      {"steps", nlohmann::json::array()}};
  int n = 1;
  for (const auto& s : steps)
    p["steps"].push_back({{"n", n++}, {"name", s.name}, {"title", s.title}, {"actions", s.actions()},
                          {"done", sc.journal["steps"].contains(s.name)}});
  return p;
}

std::string render_plan(const nlohmann::json& p) {
  std::ostringstream o;
  o << p["kind"].get<std::string>() << " plan: " << p["from"].get<std::string>() << " -> " << p["to"].get<std::string>()
    << " (epoch " << p["epoch"] << ")\n";
  for (const auto& s : p["steps"]) {
    o << "\n" << s["n"] << ". " << s["name"].get<std::string>() << ": " << s["title"].get<std::string>()
      << (s["done"].get<bool>() ? "  [done]" : "") << "\n";
    for (const auto& a : s["actions"]) o << "     " << a.get<std::string>() << "\n";
  }
  return o.str();
}

}  // namespace sk::standby
