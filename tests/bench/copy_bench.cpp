// Off-site copy benchmark: the rate a paced copy holds against its limit, and an unlimited copy
// (copy_generation: fsync per file, every file read back and hashed at the destination) against `cp -r`
// of the same generation, with and without a `sync` after it.
//
//   build/copy_bench                      a sealed generation of 96 MB of incompressible files, local disk
//   SK_BENCH_COPY_MB=32 build/copy_bench  a smaller one
//   SK_BENCH_COPY_RATE=8MB/s              the paced copy's limit (default 8MB/s; it copies a quarter of the
//                                         generation, at least 4 MB, so that it takes a few seconds)
//
// A measurement, not a test: it exits 0 whatever the ratios, and non-zero only on a real error.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "core/clock.hpp"
#include "core/hash.hpp"
#include "core/units.hpp"
#include "replicator/offsite.hpp"

namespace fs = std::filesystem;
using sk::replicator::Archive;
using sk::replicator::ArchiveKeys;
using Steady = std::chrono::steady_clock;

namespace {

double seconds_since(Steady::time_point t) { return std::chrono::duration<double>(Steady::now() - t).count(); }

// Random bytes, so that no layer below can make a copy cheaper by compressing.
std::string make_generation(const Archive& a, std::uint64_t bytes, const std::string& iso) {
  sk::Clock::time_point t;
  sk::parse_iso_utc(iso, t);
  const std::string id = a.create(t);
  const fs::path dir = a.path(id);
  fs::create_directories(dir / "snapshot");
  const std::uint64_t file = 8ull << 20;
  std::string block = sk::random_bytes(1 << 20);
  for (std::uint64_t done = 0, n = 0; done < bytes; ++n) {
    const std::uint64_t size = std::min(file, bytes - done);
    std::ofstream out(dir / "snapshot" / (std::to_string(3000 + n) + ".dat.gz"), std::ios::binary);
    for (std::uint64_t w = 0; w < size; w += block.size()) {
      block[w % 997] ^= static_cast<char>(n + 1);  // no two megabytes alike
      out.write(block.data(), static_cast<std::streamsize>(std::min<std::uint64_t>(block.size(), size - w)));
    }
    done += size;
  }
  std::ofstream(dir / "permissions.sql") << "CREATE ROLE helpdesk LOGIN;\n";
  std::ofstream(dir / "profile.json") << "{}\n";
  sk::replicator::Manifest m;
  m.kind = "backup";
  m.database = "CM_CEN";
  m.created_at = iso;
  a.seal(id, m, nullptr);
  return id;
}

double run_shell(const std::string& cmd) {
  const auto t = Steady::now();
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  return seconds_since(t);
}

std::string sh_quote(const fs::path& p) {
  std::string s = "'";
  for (char c : p.string()) s += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return s + "'";
}

}  // namespace

int main() try {
  const std::uint64_t mb = std::getenv("SK_BENCH_COPY_MB") ? std::strtoull(std::getenv("SK_BENCH_COPY_MB"), nullptr, 10) : 96;
  const std::string rate_text = std::getenv("SK_BENCH_COPY_RATE") ? std::getenv("SK_BENCH_COPY_RATE") : "8MB/s";
  const auto rate = sk::parse_rate(rate_text);
  if (!rate || *rate == 0) throw std::runtime_error("SK_BENCH_COPY_RATE: expected a rate such as 8MB/s");
  const fs::path base = fs::temp_directory_path() / ("sk copy bench " + std::to_string(::getpid()));
  fs::remove_all(base);
  fs::create_directories(base);
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } cleanup{base};

  auto keys = std::make_shared<const ArchiveKeys>(ArchiveKeys::load_or_create(base / "manager" / "archive.keys"));
  Archive archive(base / "archive", keys);
  std::printf("copy_bench: a generation of %llu MB in %s\n", static_cast<unsigned long long>(mb), base.c_str());
  const std::string big = make_generation(archive, mb << 20, "2026-12-01T02:00:00Z");
  const std::uint64_t paced_bytes = std::max<std::uint64_t>(4ull << 20, (mb << 20) / 4);
  const std::string small = make_generation(archive, paced_bytes, "2026-12-01T03:00:00Z");

  // 1. The paced copy: bytes over real elapsed time, against the limit.
  {
    const fs::path dest = base / "paced";
    fs::create_directories(dest);
    sk::replicator::TokenBucket bucket(*rate, sk::replicator::real_pace_clock());
    const auto t = Steady::now();
    auto r = sk::replicator::copy_generation(archive, small, dest, keys, 7, &bucket, nullptr);
    const double s = seconds_since(t);
    const double measured = static_cast<double>(r.bytes_copied) / s;
    std::printf("paced copy:     %s in %.2f s = %s against a limit of %s: ratio %.3f\n",
                sk::format_size(r.bytes_copied).c_str(), s, sk::format_rate(static_cast<std::uint64_t>(measured)).c_str(),
                sk::format_rate(*rate).c_str(), measured / static_cast<double>(*rate));
  }

  // 2. Unlimited against cp -r, alternating, three rounds each; the median of each. The first cp warms
  // the page cache for both.
  run_shell("cp -r " + sh_quote(archive.path(big)) + " " + sh_quote(base / "warm"));
  std::vector<double> ours, cp, cp_sync;
  for (int round = 0; round < 3; ++round) {
    const fs::path dest = base / ("unlimited-" + std::to_string(round));
    fs::create_directories(dest);
    auto t = Steady::now();
    sk::replicator::copy_generation(archive, big, dest, keys, 7, nullptr, nullptr);
    ours.push_back(seconds_since(t));
    cp.push_back(run_shell("cp -r " + sh_quote(archive.path(big)) + " " + sh_quote(base / ("cp-" + std::to_string(round)))));
    cp_sync.push_back(run_shell("cp -r " + sh_quote(archive.path(big)) + " " + sh_quote(base / ("cps-" + std::to_string(round))) +
                                " && sync"));
    fs::remove_all(dest);
    fs::remove_all(base / ("cp-" + std::to_string(round)));
    fs::remove_all(base / ("cps-" + std::to_string(round)));
  }
  const double o = sk::bench::percentile(ours, 50), c = sk::bench::percentile(cp, 50),
               cs = sk::bench::percentile(cp_sync, 50);
  std::printf("unlimited copy: %.2f s (fsync per file, every file read back and hashed) for %llu MB\n", o,
              static_cast<unsigned long long>(mb));
  std::printf("cp -r:          %.2f s; cp -r && sync: %.2f s\n", c, cs);
  std::printf("ratio unlimited copy / cp -r: %.2f; / cp -r && sync: %.2f\n", o / c, o / cs);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "copy_bench: %s\n", e.what());
  return 1;
}
