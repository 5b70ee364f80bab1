// Promoting the standby, and opening the site database to clients once it is repaired.
#include "core/error.hpp"
#include "standby/steps/steps.hpp"

namespace sk::standby::steps {

Step promote(const StepContext& sc) {
  return Step{"promote",
              "promote the standby " + sc.to + ", the site database closed to clients",
              {{sc.to, sql::Duty::promote}},
              [sc] { return sc.engine(sc.to)->describe(sql::Duty::promote, {sc.db, sc.to, "", sc.epoch, 0}); },
              [sc] {
                try {
                  sc.journal["close_token"] = sc.engine(sc.to)->promote_closed(sc.db);
                } catch (const Error& e) {
                  throw Error(e.what(), sc.from + " stays fenced and nothing else changed; find why " + sc.to +
                                            " cannot be promoted (its server log), then run the same command to "
                                            "resume, or promote it by hand and resume");
                }
                return sc.to + " accepts writes; " + sc.db + " is closed to clients until the open step";
              }};
}

Step open(const StepContext& sc) {
  return Step{"open",
              "let clients connect to " + sc.db + " on " + sc.to,
              {{sc.to, sql::Duty::open}},
              [sc] { return sc.engine(sc.to)->describe(sql::Duty::open, {sc.db, sc.to, "", sc.epoch, 0}); },
              [sc] {
                sc.engine(sc.to)->open_to_clients(sc.db, sc.journal.value("close_token", std::string()));
                return sc.db + " on " + sc.to + " accepts clients";
              }};
}

}  // namespace sk::standby::steps
