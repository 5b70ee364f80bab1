// The repair a promoted server needs: serial numbers past the old active's, the server profile, and
// the permission script (logins and grants do not travel with a database). Each in every database.
#include <algorithm>

#include "core/error.hpp"
#include "core/log.hpp"
#include "sql/ident.hpp"
#include "standby/steps/steps.hpp"

namespace sk::standby::steps {

namespace {
auto logger() { return log::get("standby"); }

// The marks of `db` in the state store: the site database's under their old key (site_state.hpp).
std::string marks_of(const StepContext& sc, const std::string& db) {
  return SiteState(sc.ctx.state).marks_of(db, sc.cfg().site.database);
}

std::string restart_note(const std::vector<std::string>& restart) {
  std::string r;
  if (!restart.empty()) {
    r += "; needs a restart:";
    for (const auto& n : restart) r += " " + n;
  }
  return r;
}
}  // namespace

Step serials(const StepContext& sc, bool staging) {
  const auto headroom = sc.cfg().failover.serial_headroom;
  auto into = [staging](const std::string& db) { return staging ? sql::staging_name(db) : db; };
  return Step{"serials",
              "move every sequence " + std::string(sc.dbs.size() > 1 ? "of " + db_names(sc) + " " : "") +
                  "past the highest value the old active may have issued (+" + std::to_string(headroom) + ")",
              {{sc.to, sql::Duty::serials}},
              [sc, headroom, into] { return described(sc, sc.to, sql::Duty::serials, {sc.db, sc.to, "", sc.epoch, headroom}, into); },
              [sc, headroom, into] {
                return each_db(sc, "serials", [&](const std::string& db) {
                  SiteState st(sc.ctx.state);
                  auto marks = st.serial_marks(marks_of(sc, db));
                  bool asked_old = false;
                  try {  // the old active itself, when it still answers, knows best
                    if (!sc.old_active_answered()) throw Error("the old active did not answer the fence");
                    for (const auto& v : sc.bounded(sc.from)->read_serials(db)) {
                      auto& m = marks[v.schema + "." + v.name];
                      m = std::max(m, v.value);
                    }
                    asked_old = true;
                  } catch (const std::exception&) {
                  }
                  auto e = sc.engine(sc.to);
                  std::vector<sql::SerialValue> targets;
                  for (const auto& own : e->read_serials(into(db))) {
                    const auto it = marks.find(own.schema + "." + own.name);
                    const std::int64_t mark = it == marks.end() ? 0 : it->second;
                    targets.push_back({own.schema, own.name, std::max(own.value, mark) + headroom});
                  }
                  e->resync_serials(into(db), targets);
                  return std::string(sc.dbs.size() > 1 ? db + ": " : "") + std::to_string(targets.size()) +
                         " sequences moved past their high-water marks (" + std::to_string(marks.size()) + " marks" +
                         (asked_old ? ", the old active's own values included" : "") + ")";
                });
              }};
}

Step profile(const StepContext& sc) {
  return Step{"profile",
              "re-apply the server profile captured from the active",
              {{sc.to, sql::Duty::profile}},
              [sc] { return described(sc, sc.to, sql::Duty::profile, {sc.db, sc.to, "", sc.epoch, 0}); },
              [sc] {
                auto cap = newest_capture(sc.cfg(), sc.dbs);
                if (!cap) return std::string("no capture in the archive: nothing to re-apply (run 'sitekeeper capture' regularly)");
                return each_db(sc, "profile", [&](const std::string& db) {
                  const auto it = cap->profile_of.find(db);
                  if (it == cap->profile_of.end()) {
                    logger()->warn("capture {} holds no profile of {}: its extensions are not re-applied", cap->id, db);
                    return "capture " + cap->id + " holds no profile of " + db + " (run 'sitekeeper capture')";
                  }
                  auto restart = sc.engine(sc.to)->apply_profile(db, it->second);
                  return "profile " + std::string(sc.dbs.size() > 1 ? "of " + db + " " : "") + "from capture " + cap->id +
                         " applied" + restart_note(restart);
                });
              }};
}

Step permissions(const StepContext& sc) {
  return Step{"permissions",
              "replay and verify the captured permission script" + std::string(sc.dbs.size() > 1 ? "s of " + db_names(sc) : ""),
              {{sc.to, sql::Duty::permissions}},
              [sc] { return described(sc, sc.to, sql::Duty::permissions, {sc.db, sc.to, "", sc.epoch, 0}); },
              [sc] {
                auto cap = newest_capture(sc.cfg(), sc.dbs);
                if (!cap) return std::string("no capture in the archive: nothing to replay");
                auto e = sc.engine(sc.to);
                // Roles are server-wide: once, from the first script (each holds every one).
                e->replay_roles({cap->permissions}, {});  // the new active: roles as captured
                return each_db(sc, "permissions", [&](const std::string& db) {
                  const auto it = cap->permissions_of.find(db);
                  if (it == cap->permissions_of.end()) {
                    logger()->warn("capture {} holds no grants of {}: they are not replayed", cap->id, db);
                    return "capture " + cap->id + " holds no grants of " + db + " (run 'sitekeeper capture')";
                  }
                  e->replay_grants({it->second}, db);
                  const int roles = verify_roles(*e, db, {it->second});
                  return "capture " + cap->id + " replayed" + (sc.dbs.size() > 1 ? " into " + db : std::string()) + "; " +
                         std::to_string(roles) + " roles verified";
                });
              }};
}

}  // namespace sk::standby::steps
