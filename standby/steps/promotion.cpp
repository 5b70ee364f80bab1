// Promoting the standby, and opening the site database to clients once it is repaired.
#include "core/error.hpp"
#include "standby/steps/steps.hpp"

namespace sk::standby::steps {

Step promote(const StepContext& sc) {
  const bool one = sc.dbs.size() <= 1;
  return Step{"promote",
              "promote the standby " + sc.to + ", " + (one ? "the site database" : db_names(sc)) + " closed to clients",
              {{sc.to, sql::Duty::promote}},
              [sc] { return described(sc, sc.to, sql::Duty::promote, {sc.db, sc.to, "", sc.epoch, 0}); },
              [sc] {
                std::vector<std::string> tokens;
                try {
                  tokens = sc.engine(sc.to)->promote_closed_each(sc.dbs);
                } catch (const Error& e) {
                  throw Error(e.what(), sc.from + " stays fenced and nothing else changed; find why " + sc.to +
                                            " cannot be promoted (its server log), then run the same command to "
                                            "resume, or promote it by hand and resume");
                }
                // One token per database, for the open step; close_token stays the site database's, as a
                // journal written before several databases has it.
                for (size_t i = 0; i < sc.dbs.size() && i < tokens.size(); ++i) sc.journal["close_tokens"][sc.dbs[i]] = tokens[i];
                if (!tokens.empty()) sc.journal["close_token"] = tokens.front();
                return sc.to + " accepts writes; " + db_names(sc) + (sc.dbs.size() > 1 ? " are" : " is") +
                       " closed to clients until the open step";
              }};
}

Step open(const StepContext& sc) {
  return Step{"open",
              "let clients connect to " + db_names(sc) + " on " + sc.to,
              {{sc.to, sql::Duty::open}},
              [sc] { return described(sc, sc.to, sql::Duty::open, {sc.db, sc.to, "", sc.epoch, 0}); },
              [sc] {
                return each_db(sc, "open", [&sc](const std::string& db) {
                  const auto& tokens = sc.journal.value("close_tokens", nlohmann::json::object());
                  const std::string token = tokens.contains(db) ? tokens[db].get<std::string>()
                                            : db == sc.db       ? sc.journal.value("close_token", std::string())
                                                                : std::string();
                  sc.engine(sc.to)->open_to_clients(db, token);
                  return db + " on " + sc.to + " accepts clients";
                });
              }};
}

}  // namespace sk::standby::steps
