// Steps about the standby's replication: its lag, streaming, catching up, and rejoining the old active.
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/units.hpp"
#include "standby/steps/steps.hpp"

namespace sk::standby::steps {

namespace {
auto logger() { return log::get("standby"); }
std::string lag_text(std::optional<std::uint64_t> lag) { return lag ? format_size(*lag) : std::string("unknown"); }
}  // namespace

Step lag(const StepContext& sc) {
  return Step{"lag",
              "check the standby's lag against max_lag (" + format_size(sc.cfg().failover.max_lag) + ")",
              {{sc.to, sql::Duty::lag}},
              [sc] { return sc.engine(sc.to)->describe(sql::Duty::lag, {sc.db, sc.to, sc.from, sc.epoch, 0}); },
              [sc] {
                const auto max = sc.cfg().failover.max_lag;
                auto lag = standby_lag(sc);
                if (lag && *lag <= max) return "standby lag " + lag_text(lag) + " within max_lag";
                const std::string msg = "standby lag " + lag_text(lag) + " (max_lag " + format_size(max) + ")";
                if (sc.opts.automatic)
                  throw SafetyError("automatic promotion refused: " + msg,
                                    "promote by hand with 'sitekeeper failover --yes' if losing that is acceptable");
                logger()->warn("{}: going ahead because the operator said --yes", msg);
                return msg + "; accepted by the operator";
              }};
}

Step check_streaming(const StepContext& sc) {
  return Step{"check",
              "check that " + sc.to + " streams from " + sc.from,
              {{sc.to, sql::Duty::lag}},
              [sc] { return sc.engine(sc.to)->describe(sql::Duty::lag, {sc.db, sc.to, sc.from, sc.epoch, 0}); },
              [sc] {
                if (sc.engine(sc.to)->replication_state().state != "streaming")
                  throw SafetyError("standby " + sc.to + " is not streaming", "see 'sitekeeper standby status'");
                auto lag = standby_lag(sc);
                if (!lag || *lag > sc.cfg().failover.max_lag)
                  throw SafetyError("standby lag " + lag_text(lag) + " beyond max_lag " +
                                    format_size(sc.cfg().failover.max_lag));
                return "streaming, lag " + lag_text(lag);
              }};
}

Step catchup(const StepContext& sc) {
  return Step{"catchup",
              "wait until " + sc.to + " has replayed the final position of " + sc.from,
              {{sc.to, sql::Duty::lag}},
              [sc] { return sc.engine(sc.to)->describe(sql::Duty::lag, {sc.db, sc.to, sc.from, sc.epoch, 0}); },
              [sc] {
                auto a = sc.bounded(sc.from);
                auto b = sc.engine(sc.to);
                const std::string final_pos = a->wal_position();
                wait_for([&] { return b->wal_distance(final_pos, b->wal_position()) == 0; }, std::chrono::seconds(60),
                         sc.to + " to replay " + final_pos, sc.ctx.cancel);
                return sc.to + " replayed " + final_pos;
              }};
}

Step stop_old(const StepContext& sc) {
  return Step{"stop",
              "stop " + sc.from,
              {},
              [sc] { return sc.engine(sc.from)->describe(sql::Duty::stop, {sc.db, sc.from, "", sc.epoch, 0}); },
              [sc] {
                if (sc.cfg().server(sc.from).data_dir.empty()) return sc.from + " has no data_dir here; stop it by hand";
                sc.engine(sc.from)->stop_server();
                return sc.from + " stopped";
              }};
}

Step rejoin(const StepContext& sc) {
  return Step{"rejoin",
              "make " + sc.from + " a standby of " + sc.to,
              {{sc.to, sql::Duty::prepare_standby}, {sc.from, sql::Duty::follow}, {sc.from, sql::Duty::rewind}},
              [sc] {
                auto lines = sc.engine(sc.to)->describe(sql::Duty::prepare_standby, {sc.db, sc.to, sc.from, sc.epoch, 0});
                for (auto d : {sql::Duty::follow, sql::Duty::rewind})
                  for (auto& l : sc.engine(sc.from)->describe(d, {sc.db, sc.from, sc.to, sc.epoch, 0})) lines.push_back(l);
                return lines;
              },
              [sc] {
                if (sc.cfg().server(sc.from).data_dir.empty())
                  return sc.from + " has no data_dir here: run 'sitekeeper rejoin' where it lives";
                return make_standby_of(sc.ctx, sc.from, sc.to);
              }};
}

}  // namespace sk::standby::steps
