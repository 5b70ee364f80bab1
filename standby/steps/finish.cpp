// The last steps: the new epoch and roles, a smoke test, the site alias, and pointing the jobs at the
// new active.
#include "core/error.hpp"
#include "standby/steps/steps.hpp"

namespace sk::standby::steps {

Step epoch(const StepContext& sc, const std::string& new_standby) {
  return Step{"epoch",
              "raise the epoch to " + std::to_string(sc.epoch) + " and record " + sc.to + " as active",
              {{sc.to, sql::Duty::epoch}},
              [sc] { return sc.engine(sc.to)->describe(sql::Duty::epoch, {sc.db, sc.to, "", sc.epoch, 0}); },
              [sc, new_standby] {
                SiteState st(sc.ctx.state);
                auto e = sc.engine(sc.to);
                e->write_epoch(sc.epoch);
                // Read back: a server that does not carry the epoch could later pass for an old one.
                if (const long got = e->read_epoch(); got != sc.epoch)
                  throw Error(sc.to + " reads epoch " + std::to_string(got) + " back after recording " + std::to_string(sc.epoch));
                st.set_epoch(sc.epoch);
                st.set_roles(sc.to, new_standby);
                return "epoch " + std::to_string(sc.epoch) + "; active " + sc.to + "; " +
                       (new_standby.empty() ? "no standby until rejoin" : new_standby + " becomes its standby");
              }};
}

Step smoke(const StepContext& sc) {
  return Step{"smoke",
              "smoke test: one write and one read " + std::string(sc.dbs.size() > 1 ? "in each of " + db_names(sc) + " " : "") +
                  "on " + sc.to,
              {{sc.to, sql::Duty::smoke}},
              [sc] { return described(sc, sc.to, sql::Duty::smoke, {sc.db, sc.to, "", sc.epoch, 0}); },
              [sc] {
                return each_db(sc, "smoke", [&sc](const std::string& db) {
                  sc.engine(sc.to)->smoke_test(db);
                  return sc.to + " accepted a write and read it back" + (sc.dbs.size() > 1 ? " in " + db : std::string());
                });
              }};
}

Step alias(const StepContext& sc) {
  const auto argv = sc.cfg().failover.alias;
  return Step{"alias",
              "point the site alias at " + sc.to,
              {},
              [argv, sc] {
                return std::vector<std::string>{argv.empty() ? "-- no alias command configured" : shown_argv(argv, sc.to)};
              },
              [argv, sc] {
                if (argv.empty()) return std::string("no alias command configured");
                ProcessOptions o;
                o.cancel = sc.ctx.cancel;
                o.timeout = std::chrono::minutes(2);
                run_checked(*sc.ctx.runner, expand_argv(argv, {{"server", sc.to}}), o);
                return std::string("alias command ran");
              }};
}

Step repoint(const StepContext& sc) {
  return Step{"repoint",
              "point the replicas and the backup schedule at " + sc.to,
              {},
              [sc] { return std::vector<std::string>{"-- the state store names " + sc.to + " as active: backup and refresh read from it"}; },
              [sc] { return "backup and refresh now use " + sc.to; }};
}

}  // namespace sk::standby::steps
