// The steps of a physical recovery: the base backup checked, the target's data directory moved aside,
// the backup restored with its recovery settings, and the archived WAL replayed.
#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "replicator/archive.hpp"
#include "standby/steps/steps.hpp"

namespace sk::standby::steps {

namespace {

std::string backup_of(const StepContext& sc) { return sc.journal.value("backup", std::string()); }
fs::path data_dir_of(const StepContext& sc) { return sc.journal.value("data_dir", std::string()); }
fs::path aside_of(const StepContext& sc) { return sc.journal.value("aside", std::string()); }
const std::string kPhysical = std::string(replicator::kPhysicalDir) + "/";

bool missing_or_empty(const fs::path& p) {
  std::error_code ec;
  return !fs::exists(p, ec) || (fs::is_directory(p, ec) && fs::is_empty(p, ec));
}

std::string target_text(const sql::Engine::RecoveryTarget& t) {
  if (t.none()) return "to the end of the archived WAL";
  return "until " + (t.time.empty() ? t.lsn : t.time);
}

}  // namespace

sql::Engine::RecoveryTarget until_of(const nlohmann::json& j) {
  const auto u = j.value("until", nlohmann::json::object());
  return {u.value("time", std::string()), u.value("lsn", std::string())};
}

Step verify_physical_backup(const StepContext& sc) {
  const std::string id = backup_of(sc);
  return Step{"verify",
              "verify the physical base backup of " + id + " and the archived WAL that rolls it forward",
              {{sc.to, sql::Duty::roll_forward}},
              [sc, id] {
                return std::vector<std::string>{
                    "-- backup " + id + " physical/: checksums against its manifest and sealed marker, then pg_verifybackup",
                    "-- " + show_path(replicator::wal_archive_dir(sc.cfg())) + ": every WAL file from the base backup's "
                    "start segment on, timelines followed through their history files"};
              },
              [sc, id] {
                const fs::path backup = verified_again(sc, kPhysical);
                auto e = sc.engine(sc.to);
                replicator::verify_physical(*e, sc.cfg(), id, backup, sc.ctx.cancel);
                const auto t = until_of(sc.journal);
                const auto cov = e->wal_coverage(backup, replicator::wal_archive_dir(sc.cfg()), t.lsn);
                if (!cov.missing.empty())
                  throw SafetyError("backup " + id + " cannot be rolled forward: " + cov.missing,
                                    "nothing was changed on " + sc.to + "; recover from a newer backup (--backup ID)");
                return "physical base backup of " + id + " verified (pg_verifybackup); archived WAL from " + cov.start_segment +
                       " to " + cov.newest + " (" + cov.newest_at + ")";
              }};
}

Step set_aside(const StepContext& sc) {
  const fs::path data = data_dir_of(sc), aside = aside_of(sc);
  return Step{"aside",
              "stop " + sc.to + " and move its data directory " + show_path(data) + " aside to " + show_path(aside),
              {{sc.to, sql::Duty::stop}},
              [sc, data, aside] {
                auto out = sc.engine(sc.to)->describe(sql::Duty::stop, {sc.db, sc.to, "", sc.epoch, 0});
                out.push_back("mv " + show_path(data) + " " + show_path(aside) +
                              "  -- nothing is deleted; nothing to do when it is missing or empty");
                return out;
              },
              [sc, data, aside] {
                if (missing_or_empty(data)) {
                  if (!missing_or_empty(aside)) return show_path(data) + " was moved aside to " + show_path(aside) + " already";
                  return show_path(data) + " is missing or empty: nothing to move aside";
                }
                std::error_code ec;
                if (fs::exists(aside, ec))
                  throw SafetyError(show_path(aside) + " exists already: the data directory of " + sc.to + " cannot go there",
                                    "move that folder away yourself, then resume with the same command");
                sc.engine(sc.to)->stop_server();
                fs::rename(data, aside, ec);
                if (ec) throw Error("cannot move " + show_path(data) + " to " + show_path(aside) + ": " + ec.message());
                return "the data directory of " + sc.to + " moved aside to " + show_path(aside) + " (nothing deleted)";
              }};
}

Step restore_physical(const StepContext& sc) {
  const fs::path data = data_dir_of(sc);
  const auto t = until_of(sc.journal);
  return Step{"restore",
              "restore the base backup of " + backup_of(sc) + " into " + show_path(data) + " on " + sc.to +
                  ", to recover " + target_text(t),
              {{sc.to, sql::Duty::roll_forward}},
              [sc, t] {
                const fs::path gen = replicator::open_archive(sc.cfg()).path(backup_of(sc));
                return sc.engine(sc.to)->describe_recovery(gen / replicator::kPhysicalDir,
                                                           replicator::wal_archive_dir(sc.cfg()), t);
              },
              [sc, data, t] {
                std::string before;
                if (!missing_or_empty(data)) {
                  // Only this run wrote there since the aside step emptied it, and the server never started
                  // on it (that is the replay step): a restore cut short. Kept, like everything else.
                  const fs::path partial = data.string() + ".partial-restore-" + sc.journal.value("stamp", std::string("x"));
                  std::error_code ec;
                  fs::rename(data, partial, ec);
                  if (ec) throw Error("cannot move the cut-short restore " + show_path(data) + " aside: " + ec.message());
                  before = "a restore cut short moved aside to " + show_path(partial) + "; ";
                }
                const fs::path backup = verified_again(sc, kPhysical);
                const fs::path aside = aside_of(sc);
                sc.engine(sc.to)->prepare_recovery(backup, replicator::wal_archive_dir(sc.cfg()), t,
                                                   missing_or_empty(aside) ? fs::path() : aside, sc.ctx.cancel);
                return before + "base backup of " + backup_of(sc) + " restored into " + show_path(data) +
                       ", recovery settings written (" + target_text(t) + ")";
              }};
}

Step replay(const StepContext& sc) {
  const auto t = until_of(sc.journal);
  return Step{"replay",
              "start " + sc.to + " and replay the archived WAL " + target_text(t) + ", until it leaves recovery",
              {{sc.to, sql::Duty::roll_forward}},
              [sc] {
                return std::vector<std::string>{"-- " + sc.to + " started on port " + std::to_string(sc.cfg().server(sc.to).port) +
                                                " with the settings above; it promotes itself when recovery ends, then "
                                                "the recovery settings are reset"};
              },
              [sc] {
                const auto end = sc.engine(sc.to)->finish_recovery(sc.ctx.cancel);
                sc.journal["recovered_to"] = {{"last_commit", end.last_commit}, {"lsn", end.lsn}};
                return sc.to + " recovered: last replayed commit at " + (end.last_commit.empty() ? "?" : end.last_commit) +
                       ", position " + (end.lsn.empty() ? "?" : end.lsn);
              }};
}

}  // namespace sk::standby::steps
