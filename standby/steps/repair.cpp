// The repair a promoted server needs: serial numbers past the old active's, the server profile, and
// the permission script (logins and grants do not travel with a database).
#include <algorithm>

#include "core/error.hpp"
#include "standby/steps/steps.hpp"

namespace sk::standby::steps {

Step serials(const StepContext& sc, const std::string& into_db) {
  const auto headroom = sc.cfg().failover.serial_headroom;
  const std::string into = into_db.empty() ? sc.db : into_db;
  return Step{"serials",
              "move every sequence past the highest value the old active may have issued (+" + std::to_string(headroom) + ")",
              {{sc.to, sql::Duty::serials}},
              [sc, headroom, into] { return sc.engine(sc.to)->describe(sql::Duty::serials, {into, sc.to, "", sc.epoch, headroom}); },
              [sc, headroom, into] {
                SiteState st(sc.ctx.state);
                auto marks = st.serial_marks();
                bool asked_old = false;
                try {  // the old active itself, when it still answers, knows best
                  if (!sc.old_active_answered()) throw Error("the old active did not answer the fence");
                  for (const auto& v : sc.bounded(sc.from)->read_serials(sc.db)) {
                    auto& m = marks[v.schema + "." + v.name];
                    m = std::max(m, v.value);
                  }
                  asked_old = true;
                } catch (const std::exception&) {
                }
                auto e = sc.engine(sc.to);
                std::vector<sql::SerialValue> targets;
                for (const auto& own : e->read_serials(into)) {
                  const auto it = marks.find(own.schema + "." + own.name);
                  const std::int64_t mark = it == marks.end() ? 0 : it->second;
                  targets.push_back({own.schema, own.name, std::max(own.value, mark) + headroom});
                }
                e->resync_serials(into, targets);
                return std::to_string(targets.size()) + " sequences moved past their high-water marks (" +
                       std::to_string(marks.size()) + " marks" + (asked_old ? ", the old active's own values included" : "") + ")";
              }};
}

Step profile(const StepContext& sc) {
  return Step{"profile",
              "re-apply the server profile captured from the active",
              {{sc.to, sql::Duty::profile}},
              [sc] { return sc.engine(sc.to)->describe(sql::Duty::profile, {sc.db, sc.to, "", sc.epoch, 0}); },
              [sc] {
                auto cap = newest_capture(sc.cfg());
                if (!cap) return std::string("no capture in the archive: nothing to re-apply (run 'sitekeeper capture' regularly)");
                auto restart = sc.engine(sc.to)->apply_profile(sc.db, cap->profile);
                std::string r = "profile from capture " + cap->id + " applied";
                if (!restart.empty()) {
                  r += "; needs a restart:";
                  for (const auto& n : restart) r += " " + n;
                }
                return r;
              }};
}

Step permissions(const StepContext& sc) {
  return Step{"permissions",
              "replay and verify the captured permission script",
              {{sc.to, sql::Duty::permissions}},
              [sc] { return sc.engine(sc.to)->describe(sql::Duty::permissions, {sc.db, sc.to, "", sc.epoch, 0}); },
              [sc] {
                auto cap = newest_capture(sc.cfg());
                if (!cap) return std::string("no capture in the archive: nothing to replay");
                auto e = sc.engine(sc.to);
                e->replay_roles({cap->permissions}, {});  // the new active: roles as captured
                e->replay_grants({cap->permissions}, sc.db);
                const int roles = verify_roles(*e, sc.db, {cap->permissions});
                return "capture " + cap->id + " replayed; " + std::to_string(roles) + " roles verified";
              }};
}

}  // namespace sk::standby::steps
