// Fencing the old active, and blocking its writes for a switchover. Invariant 4: no standby is
// promoted before the old active refuses writes.
#include <future>

#include "core/error.hpp"
#include "core/log.hpp"
#include "standby/steps/steps.hpp"

namespace sk::standby::steps {

Step fence(const StepContext& sc) {
  const auto& f = sc.cfg().failover;
  std::vector<std::string> otherwise = {
      f.fence.empty() ? "-- if " + sc.from + " does not answer: no fence command is configured, so the operator must "
                                           "confirm it is powered off (--old-active-is-down)"
                      : "-- if " + sc.from + " does not answer within probe_timeout: " + shown_argv(f.fence, sc.from)};
  return Step{
      "fence",
      "fence the old active server " + sc.from,
      {{sc.from, sql::Duty::fence}},
      [sc, otherwise] {
        auto lines = described(sc, sc.from, sql::Duty::fence, {sc.db, sc.from, "", sc.epoch, 0});
        lines.insert(lines.end(), otherwise.begin(), otherwise.end());
        return lines;
      },
      [sc] {
        const auto& f = sc.cfg().failover;
        SiteState st(sc.ctx.state);
        // While the old active is probed and fenced, the sessions to the standby that the next steps
        // use are opened: they cost more than those steps' own statements. Joined when this step ends.
        auto warm = std::async(std::launch::async, [e = sc.engine(sc.to), dbs = sc.dbs] {
          for (const auto& db : dbs) e->warm_up(db);
        });
        std::string how, why;
        bool answered = false;
        try {
          auto e = sc.bounded(sc.from);
          e->probe(f.probe_timeout);
          answered = true;
          // Every database: a client of any one of them could otherwise write after the promotion.
          for (const auto& db : sc.dbs) how += (how.empty() ? "" : "; ") + e->fence(db);
        } catch (const std::exception& err) {
          if (answered)
            throw Error("could not fence " + sc.from + ", which answers: " + err.what(),
                        "nothing was promoted; fence " + sc.from + " by hand or make it unreachable, then resume");
          why = err.what();
        }
        if (!answered) {
          if (!f.fence.empty()) {
            ProcessOptions o;
            o.cancel = sc.ctx.cancel;
            o.timeout = std::chrono::minutes(2);
            run_checked(*sc.ctx.runner, expand_argv(f.fence, {{"server", sc.from}}), o);
            how = sc.from + " does not answer (" + why + "); the fence command exited 0";
          } else if (sc.opts.old_active_is_down) {
            how = sc.from + " does not answer; the operator confirmed it is powered off (--old-active-is-down)";
            sc.journal["old_active_is_down"] = true;
          } else {
            throw SafetyError(
                sc.from + " does not answer and cannot be fenced: no [failover] fence command is configured; nothing "
                          "was promoted",
                sc.opts.automatic ? "configure [failover] fence (an argv that powers " + sc.from +
                                        " off or cuts it off); the daemon promotes within a probe interval after SIGHUP"
                                  : "configure [failover] fence, or power " + sc.from + " off and run 'sitekeeper " +
                                        sc.journal.value("kind", std::string("failover")) + " --yes --old-active-is-down'");
          }
        }
        // Powered off, cut off, or declared down: the steps after this one do not wait on it.
        sc.journal["old_active_answered"] = answered;
        st.set_fenced(sc.from, sc.epoch - 1);
        return how;
      }};
}

Step block(const StepContext& sc) {
  return Step{"block",
              "block writes on " + sc.from,
              {{sc.from, sql::Duty::fence}},
              [sc] { return described(sc, sc.from, sql::Duty::fence, {sc.db, sc.from, "", sc.epoch, 0}); },
              [sc] { return each_db(sc, "block", [&sc](const std::string& db) { return sc.bounded(sc.from)->fence(db); }); }};
}

}  // namespace sk::standby::steps
