// Site recovery benchmark: the two ways `sitekeeper recover` brings a site back after its only active is
// lost, on the benchmark site database, against the bare tool (`pg_restore -j 2`) in the same run.
//
//   from-archive  `recover --server cm2 --yes --old-active-is-down`: the site rebuilt on an empty cluster
//                 from the newest verified backup (deep verify with a trial restore, roles, restore into
//                 a staging copy, grants, profile, serials, swap, epoch, smoke, alias, repoint)
//   from-replica  `recover --from-replica hdN --yes --old-active-is-down`: a replica that serves that
//                 backup (after `refresh`) made the active (no restore)
//   bare          CREATE DATABASE + `pg_restore -j 2` of the same snapshot into an empty database
//
// Both recoveries start from the same situation, built once: a verified backup, a replica serving it
// (one replica per round), the active killed with kill -9. Each recovery runs on its own copy of the
// state folder taken after the kill, with the archive shared, and on an empty cluster of its own.
//
//   build-bench/recover_bench                       full size (a site database of at least 500 MB)
//   SK_BENCH_ROWS=100000 build-bench/recover_bench  a small, quick version (about 60 MB)
//   SK_BENCH_ROUNDS=3                               rounds of each kind (default 1)
//   SK_SOURCE_DIR=/path/to/checkout                 where demo/*.sql live (default: from this file's path)
//
// A measurement: it exits 0 whatever the ratios, and non-zero on a real error: a server that does not
// start, a command that fails, or a recovered server that refuses the help desk's login or a write.
// As root the servers run as `postgres` (harness).
#include <functional>
#include <iomanip>
#include <iostream>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "bench_site.hpp"
#include "pg_cluster.hpp"

using namespace sk::test;
using namespace sk::bench;

namespace {

// Where the time of one recover went, from its "step X: ..." and "step X done: ..." log lines.
void print_steps(const SkRun& r, const std::string& title) {
  static const std::regex start_re(R"(\] step (\S+): )"), done_re(R"(\] step (\S+) done: )");
  std::cout << "  " << title << " (" << fmt(r.seconds) << " s wall):\n";
  auto row = [](double s, const std::string& name) {
    std::cout << "    " << std::setw(8) << fmt(s) << " s  " << name << "\n";
  };
  auto since = [](Wall::time_point a, Wall::time_point b) { return std::chrono::duration<double>(b - a).count(); };
  std::optional<Wall::time_point> first_start, last_done, open_at;
  std::string open_name;
  double in_steps = 0;
  for (const auto& l : r.log) {
    std::smatch m;
    if (std::regex_search(l.text, m, done_re)) {
      const auto from = open_at && open_name == m[1].str() ? *open_at : last_done.value_or(r.started);
      row(since(from, l.at), "step " + m[1].str());
      in_steps += since(from, l.at);
      last_done = l.at;
      open_at.reset();
    } else if (std::regex_search(l.text, m, start_re)) {
      open_name = m[1].str();
      open_at = l.at;
      if (!first_start) first_start = l.at;
    }
  }
  if (!first_start || !last_done) {
    row(r.seconds, "(no step lines in the log)");
    return;
  }
  row(since(r.started, *first_start), "(before the first step: process start, config, preflight, journal)");
  row(since(*last_done, r.ended), "(after the last step: summary, process exit)");
  row(std::max(0.0, r.seconds - in_steps - since(r.started, *first_start) - since(*last_done, r.ended)), "(between steps)");
}

struct Bench : SiteBenchOptions {
  fs::path dir;  // the setup's config, state and archive, and a folder per recovery
  // Declared before the clusters, destroyed after them: nothing of theirs lives in `dir`.
  std::unique_ptr<PgCluster> active, bare;
  std::vector<std::unique_ptr<PgCluster>> replicas;  // hd1..hdN, one per round
  std::unique_ptr<PgCluster> spare;                  // cm2, a new empty cluster every round
  fs::path snapshot;
  std::string resources_at_backup;

  fs::path archive() const { return dir / "site archive"; }
  std::string replica_name(size_t i) const { return "hd" + std::to_string(i + 1); }

  SiteConfig config_in(const fs::path& d, const PgCluster* spare_cluster) const {
    SiteConfig s;
    s.dir = d;
    s.active = "cm1";
    s.servers.push_back({"cm1", active.get()});
    for (size_t i = 0; i < replicas.size(); ++i) {
      s.servers.push_back({replica_name(i), replicas[i].get()});
      s.replicas.push_back(replica_name(i));
    }
    if (spare_cluster) s.servers.push_back({"cm2", spare_cluster});
    if (d != dir) s.archive = archive().string();  // one archive for every copy of the situation
    return s;
  }

  void setup() {
    const auto settings = bench_settings();
    auto t = Steady::now();
    active = PgCluster::start({.name = "active", .settings = settings});
    for (int i = 0; i < rounds; ++i) replicas.push_back(PgCluster::start({.name = replica_name(i), .settings = settings}));
    bare = PgCluster::start({.name = "bare", .settings = settings});
    std::cout << "clusters: active cm1 on port " << active->port() << ", " << rounds << " replica(s) hd1.. from port "
              << replicas.front()->port() << ", bare-restore cluster on port " << bare->port() << " (" << kBenchSettingsText
              << ") in " << fmt(secs(Steady::now() - t), 1) << " s\n";

    const std::uint64_t size = load_big_site(*active, src, rows, rows_from_env);
    resources_at_backup = active->psql("SELECT count(*) FROM resources", kDb);
    dir = make_bench_dir();
    const SiteConfig cfg = config_in(dir, nullptr);
    write_site_config(cfg);

    auto b = run_sitekeeper(cfg.config(), {"backup"}, "backup");
    const auto [id, snap] = newest_snapshot(archive());
    snapshot = snap;
    std::cout << "sitekeeper backup (pg_dump -Fd -j " << kJobs << " + manifest): " << fmt(b.seconds) << " s; snapshot " << id
              << " is " << mib(tree_size(snapshot)) << " (database " << mib(size) << ")\n";
    auto v = run_sitekeeper(cfg.config(), {"verify"}, "verify");
    std::cout << "sitekeeper verify: " << fmt(v.seconds) << " s\n";
    auto r = run_sitekeeper(cfg.config(), {"refresh"}, "refresh");
    std::cout << "sitekeeper refresh (" << rounds << " replica(s) now serve " << id << "): " << fmt(r.seconds) << " s\n";

    // The bare tool restores onto a cluster that has the roles the dump names (as the replicas do),
    // without their passwords: ownership and grants then restore without errors.
    const std::string roles =
        active->psql("SELECT string_agg(quote_ident(rolname), ' ') FROM pg_roles WHERE rolname !~ '^pg_' AND rolname <> current_user");
    std::istringstream in(roles);
    for (std::string role; in >> role;) bare->psql("CREATE ROLE " + role);

    active->kill9();
    std::cout << "active cm1 killed (kill -9); the situation every recovery starts from is saved\n";
    fs::copy(dir / "state", dir / "state at the kill", fs::copy_options::recursive);
  }

  // A new folder with a copy of the state at the kill and a config naming `spare_cluster` as cm2.
  SiteConfig situation(const std::string& name, const PgCluster* spare_cluster) const {
    const SiteConfig cfg = config_in(dir / name, spare_cluster);
    fs::create_directories(cfg.dir);
    fs::copy(dir / "state at the kill", cfg.dir / "state", fs::copy_options::recursive);
    write_site_config(cfg);
    return cfg;
  }

  // The recovered server serves the site: the help desk logs in with its captured password and reads
  // last night's data, and a new session writes (the read-only default of a replica is gone).
  void check_recovered(const PgCluster& c, const std::string& name) const {
    try {
      Conn h(conninfo(c, kDb, kReader, kReaderPassword, "sk_bench_helpdesk"));
      const auto n = h.exec("SELECT count(*) FROM resources");
      if (n != resources_at_backup)
        throw std::runtime_error("the help desk reads " + n + " resources, the backup holds " + resources_at_backup);
      Conn w(admin(c, kDb));
      const auto id = w.exec(
          "INSERT INTO status_messages (site_code, component, message_id, severity, machine_name, message) "
          "VALUES ('CEN', 'recover_bench', 1, 'informational', 'PC', 'after recover') RETURNING record_id");
      if (w.exec("SELECT count(*) FROM status_messages WHERE record_id = " + id) != "1")
        throw std::runtime_error("the row just written (record_id " + id + ") cannot be read back");
      std::cout << "  check " << name << ": helpdesk logs in and reads " << n << " resources; a new session wrote record_id "
                << id << "\n";
    } catch (const std::exception& e) {
      throw std::runtime_error(name + " does not serve the site after recover: " + e.what());
    }
  }

  SkRun from_archive(int round) {
    spare = PgCluster::start({.name = "cm2", .settings = bench_settings()});  // untimed
    const auto cfg = situation("round " + std::to_string(round + 1) + " from archive", spare.get());
    auto r = run_sitekeeper(cfg.config(), {"recover", "--server", "cm2", "--yes", "--old-active-is-down"},
                            "recover --server cm2");
    check_recovered(*spare, "cm2 (from archive)");
    spare.reset();  // its memory back before the next run
    return r;
  }

  SkRun from_replica(int round) {
    const auto& hd = *replicas[static_cast<size_t>(round)];
    const std::string name = replica_name(static_cast<size_t>(round));
    const auto cfg = situation("round " + std::to_string(round + 1) + " from replica", nullptr);
    checkpoint(hd);
    auto r = run_sitekeeper(cfg.config(), {"recover", "--from-replica", name, "--yes", "--old-active-is-down"},
                            "recover --from-replica " + name);
    check_recovered(hd, name + " (from replica)");
    return r;
  }

  void run() {
    setup();
    std::cout << "\n== timing: " << rounds << " round(s), order rotated every round; the 1-minute load average is shown "
              << "after each run (2 CPUs, shared)\n"
              << "  from-archive = wall time of `recover --server cm2 --yes --old-active-is-down` onto a new empty cluster\n"
              << "  from-replica = wall time of `recover --from-replica hdN --yes --old-active-is-down`\n"
              << "  bare         = CREATE DATABASE bare TEMPLATE template0 + pg_restore -j " << kJobs
              << " -d bare <snapshot> on a cluster with the roles\n"
              << "                 (the DROP before it and a CHECKPOINT are not timed)\n";
    std::vector<double> archive_s, replica_s, bare_s, bare_restore_s;
    std::vector<std::pair<std::string, SkRun>> logs;
    for (int i = 0; i < rounds; ++i) {
      const std::string tag = "  round " + std::to_string(i + 1) + " ";
      auto do_archive = [&] {
        auto r = from_archive(i);
        archive_s.push_back(r.seconds);
        std::cout << tag << "from-archive: " << std::setw(7) << fmt(r.seconds) << " s  load " << load_average() << "\n";
        logs.push_back({"round " + std::to_string(i + 1) + " from-archive", std::move(r)});
      };
      auto do_replica = [&] {
        auto r = from_replica(i);
        replica_s.push_back(r.seconds);
        std::cout << tag << "from-replica: " << std::setw(7) << fmt(r.seconds) << " s  load " << load_average() << "\n";
        logs.push_back({"round " + std::to_string(i + 1) + " from-replica", std::move(r)});
      };
      auto do_bare = [&] {
        auto b = bare_restore(*bare, snapshot);
        bare_s.push_back(b.create + b.restore);
        bare_restore_s.push_back(b.restore);
        std::cout << tag << "bare:         " << std::setw(7) << fmt(b.create + b.restore) << " s  (create "
                  << fmt(b.create, 3) << " s + pg_restore " << fmt(b.restore) << " s)  load " << load_average() << "\n";
      };
      std::vector<std::function<void()>> order = {do_archive, do_replica, do_bare};
      std::rotate(order.begin(), order.begin() + (i % 3), order.end());
      for (auto& f : order) f();
    }
    const double a = median(archive_s), r = median(replica_s), b = median(bare_s), br = median(bare_restore_s);
    std::cout << "\nmedian recover from the archive (--server)      = " << fmt(a) << " s\n"
              << "median recover from a replica (--from-replica) = " << fmt(r) << " s\n"
              << "median bare (create + pg_restore -j " << kJobs << ")        = " << fmt(b) << " s  (pg_restore alone "
              << fmt(br) << " s)\n"
              << "from-archive / from-replica ratio = " << fmt(a / r, 1) << "\n"
              << "from-archive / bare pg_restore ratio = " << fmt(a / b) << "  [/ pg_restore alone = " << fmt(a / br) << "]\n";
    std::cout << "\nwhere the time goes (from the recover's stderr log timestamps, ms resolution):\n";
    for (const auto& [title, run] : logs) print_steps(run, title);
  }

  ~Bench() {
    spare.reset();
    replicas.clear();
    bare.reset();
    active.reset();
    remove_bench_dir(dir);
  }
};

}  // namespace

int main() {
  return site_bench_main<Bench>("recover_bench", [](Bench& b) {
    b.run();
    return std::string("done");
  });
}
