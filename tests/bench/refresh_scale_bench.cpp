// How the cost of a logical refresh grows: `sitekeeper refresh --force` wall time for 1, 2 and 4 replicas
// (at [replica] parallel = 2, the default) and for site databases of 0.5, 1 and 2 GB, each against one
// bare `pg_restore -j 2` of the same snapshot onto one replica, measured in the same run.
//
//   build/refresh_scale_bench                         sizes 512,1024,2048 MB; 1, 2, 4 replicas at each size
//   SK_BENCH_SIZES_MB=60,120 build/refresh_scale_bench  quick
//   SK_BENCH_REPLICAS=1,2,4                           replica counts (default 1,2,4)
//   SK_BENCH_ROWS                                     rows of the first load (default: as the other benches)
//   SK_SOURCE_DIR=/path/to/checkout                   where demo/*.sql live
//
// The database grows from one size to the next (more rows of demo/make_big_site.sql), with a backup at
// each size. A measurement, not a test: exit 0 whatever the figures; non-zero on a real error.
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench_site.hpp"
#include "pg_cluster.hpp"

using namespace sk::test;
using namespace sk::bench;

namespace {

std::vector<long> env_list(const char* name, std::vector<long> fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  std::vector<long> out;
  std::stringstream in(v);
  for (std::string item; std::getline(in, item, ',');) {
    std::size_t used = 0;
    const long n = std::stol(item, &used);
    if (used != item.size() || n <= 0) throw std::runtime_error(std::string(name) + ": expected positive integers, got " + v);
    out.push_back(n);
  }
  return out;
}

struct Row {
  long size_mb = 0;
  std::uint64_t bytes = 0;
  int replicas = 0;
  double seconds = 0;
  double bare = 0;
};

struct Bench : SiteBenchOptions {
  fs::path dir;
  std::unique_ptr<PgCluster> active;
  std::vector<std::unique_ptr<PgCluster>> replicas;

  void write_config(int n) {
    SiteConfig s{.dir = dir, .servers = {{"cm1", active.get()}}, .active = "cm1", .replicas = {}};
    for (int i = 0; i < n; ++i) {
      const std::string name = "hd" + std::to_string(i + 1);
      s.servers.push_back({name, replicas[static_cast<size_t>(i)].get()});
      s.replicas.push_back(name);
    }
    write_site_config(s);
  }

  // Adds rows until the site database is at least `target` bytes (at most four rounds).
  std::uint64_t grow_to(std::uint64_t target, long& loaded) {
    std::uint64_t size = site_size(*active);
    for (int i = 0; size < target && i < 4; ++i) {
      const double per_row = static_cast<double>(size) / static_cast<double>(std::max(1L, loaded));
      const long more = std::max(10000L, static_cast<long>((static_cast<double>(target - size) / per_row) * 1.03));
      active->psql_file(src / "demo" / "make_big_site.sql", kDb, {{"rows", std::to_string(more)}});
      loaded += more;
      size = site_size(*active);
    }
    checkpoint(*active);
    return size;
  }

  std::string run() {
    const auto sizes = env_list("SK_BENCH_SIZES_MB", {512, 1024, 2048});
    const auto counts = env_list("SK_BENCH_REPLICAS", {1, 2, 4});
    const long most = *std::max_element(counts.begin(), counts.end());
    const auto settings = bench_settings();
    active = PgCluster::start({.name = "active", .settings = settings});
    for (long i = 0; i < most; ++i)
      replicas.push_back(PgCluster::start({.name = "hd" + std::to_string(i + 1), .settings = settings}));
    std::cout << "clusters: active and " << most << " replicas (" << kBenchSettingsText << "), [replica] parallel = 2, jobs = "
              << kJobs << "\n";
    dir = make_bench_dir();
    const long first_rows = rows_from_env ? rows : 100000;
    active->psql("CREATE DATABASE " + qi(kDb));
    active->psql_file(src / "demo" / "site_schema.sql", kDb);
    active->psql_file(src / "demo" / "make_big_site.sql", kDb, {{"rows", std::to_string(first_rows)}});
    long loaded = first_rows;

    std::vector<Row> table;
    for (long mb : sizes) {
      const std::uint64_t bytes = grow_to(static_cast<std::uint64_t>(mb) << 20, loaded);
      write_config(static_cast<int>(most));
      auto b = run_sitekeeper(dir / "sitekeeper.toml", {"backup"}, "backup");
      const auto [id, snapshot] = newest_snapshot(dir / "site archive");
      std::cout << "\n== " << mb << " MB target: pg_database_size " << mib(bytes) << ", " << loaded << " rows; backup "
                << id << " in " << fmt(b.seconds, 1) << " s (" << mib(tree_size(snapshot)) << ")\n";
      double bare = -1;
      for (long n : counts) {
        write_config(static_cast<int>(n));
        for (long i = 0; i < n; ++i) checkpoint(*replicas[static_cast<size_t>(i)]);
        auto r = run_sitekeeper(dir / "sitekeeper.toml", {"refresh", "--force"}, "refresh of " + std::to_string(n));
        // The peer once per size, after the first refresh made the roles the dump names.
        if (bare < 0) bare = bare_restore(*replicas[0], snapshot).restore;
        std::cout << "  refresh of " << n << " replica(s): " << fmt(r.seconds, 1) << " s (" << fmt(r.seconds / n, 1)
                  << " s per replica); bare pg_restore of one: " << fmt(bare, 1) << " s; ratio "
                  << fmt(r.seconds / bare, 2) << "\n";
        table.push_back({mb, bytes, static_cast<int>(n), r.seconds, bare});
      }
    }
    std::cout << "\nrefresh wall time (s), [replica] parallel = 2, against one bare pg_restore -j " << kJobs
              << " of the same snapshot:\n";
    std::cout << "  database     replicas   refresh   per replica   bare (1)   refresh/bare   vs 1 replica\n";
    for (const auto& r : table) {
      double one = 0;
      for (const auto& o : table)
        if (o.size_mb == r.size_mb && o.replicas == 1) one = o.seconds;
      char line[200];
      std::snprintf(line, sizeof line, "  %8s   %8d   %7.1f   %11.1f   %8.1f   %12.2f   %12s\n", mib(r.bytes).c_str(),
                    r.replicas, r.seconds, r.seconds / r.replicas, r.bare, r.seconds / r.bare,
                    one > 0 ? fmt(r.seconds / one, 2).c_str() : "-");
      std::cout << line;
    }
    return "done";
  }

  ~Bench() {
    replicas.clear();
    active.reset();
    remove_bench_dir(dir);
  }
};

}  // namespace

int main() { return site_bench_main<Bench>("refresh_scale_bench", [](Bench& b) { return b.run(); }); }
