// The WAL stream of [archive] wal_stream on PostgreSQL: pg_receivewal on a physical slot of its own.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/log.hpp"
#include "sql/postgres/pg_engine.hpp"
#include "sql/postgres/pg_session.hpp"
#include "sql/postgres/pg_sql.hpp"

namespace sk::sql {

namespace q = pg::q;

namespace {

const char* kMaintenanceDb = "postgres";

constexpr std::uint64_t kDefaultSegmentSize = 16ull << 20;

// A WAL segment file name: timeline, then the segment as two 8-digit hex halves; ".partial" for the
// one pg_receivewal is still writing.
struct SegmentName {
  std::uint32_t timeline = 0;
  std::uint64_t log = 0, seg = 0;
  bool partial = false;
};

std::optional<SegmentName> parse_segment(const std::string& name) {
  std::string base = name;
  SegmentName s;
  if (base.size() == 32 && base.compare(24, 8, ".partial") == 0) {
    s.partial = true;
    base.resize(24);
  }
  if (base.size() != 24 || !std::all_of(base.begin(), base.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
      }))
    return std::nullopt;
  s.timeline = static_cast<std::uint32_t>(std::stoul(base.substr(0, 8), nullptr, 16));
  s.log = std::stoull(base.substr(8, 8), nullptr, 16);
  s.seg = std::stoull(base.substr(16, 8), nullptr, 16);
  return s;
}

std::optional<std::uint64_t> parse_lsn(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == text.size()) return std::nullopt;
  try {
    std::size_t a = 0, b = 0;
    std::uint64_t hi = std::stoull(text.substr(0, slash), &a, 16);
    std::uint64_t lo = std::stoull(text.substr(slash + 1), &b, 16);
    if (a != slash || b != text.size() - slash - 1 || hi > 0xFFFFFFFFull || lo > 0xFFFFFFFFull) return std::nullopt;
    return (hi << 32) | lo;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

void PgEngine::prepare_wal_stream(const std::string& slot) {
  auto s = open(kMaintenanceDb);
  if (!pg::query_value(*s, q::slot_exists(slot), "look up slot"))
    pg::query(*s, q::create_physical_slot(slot), "create replication slot " + slot);
}

void PgEngine::stream_wal(const fs::path& dir, const std::string& slot, const CancelToken* cancel) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create the WAL folder " + show_path(dir) + ": " + ec.message());
  // --synchronous flushes each write before it is acknowledged, so the slot (and the age the daemon
  // reports) never counts WAL that a crash of this machine could still lose; --no-loop leaves restarts
  // and the move to a new active to the daemon.
  try {
    run_checked(*runner_,
                {tool("pg_receivewal"), "--directory=" + dir.string(), "--slot=" + slot, "--synchronous", "--no-loop",
                 "--status-interval=1", "--no-password", "--dbname=" + conn("postgres")},
                tool_options(cancel));
  } catch (const Cancelled&) {
    return;
  }
  // pg_receivewal --no-loop also ends with 0 when the server closes the stream (a shutdown).
  if (!cancel || !cancel->cancelled()) throw Error("pg_receivewal stopped: the server ended the stream");
}

WalStreamState PgEngine::wal_stream_state(const std::string& slot) {
  auto s = open(kMaintenanceDb);
  WalStreamState w;
  w.current = pg::query_value(*s, q::kCurrentFlushLsn, "read the flushed WAL position").value_or("");
  w.system = pg::query_value(*s, q::kSystemIdentifier, "read the system identifier").value_or("");
  auto rows = pg::query(*s, q::wal_stream_slot(slot), "read replication slot " + slot);
  if (!rows.empty()) {
    w.slot_exists = true;
    w.active = rows[0][0].value_or("false") == "true";
    w.received = rows[0][1].value_or("");
  }
  return w;
}

std::vector<fs::path> PgEngine::obsolete_wal(const fs::path& dir, const fs::path& oldest_base_backup) {
  const fs::path manifest = oldest_base_backup / "backup_manifest";
  nlohmann::json m;
  try {
    m = nlohmann::json::parse(read_file(manifest));
  } catch (const std::exception& e) {
    throw Error("cannot read the WAL range of " + show_path(manifest) + ": " + e.what(),
                "no WAL is removed while the oldest kept base backup cannot be read");
  }
  std::optional<std::uint64_t> start;
  if (m.contains("WAL-Ranges") && m["WAL-Ranges"].is_array())
    for (const auto& r : m["WAL-Ranges"])
      if (r.is_object() && r.contains("Start-LSN") && r["Start-LSN"].is_string())
        if (auto l = parse_lsn(r["Start-LSN"].get<std::string>()); l && (!start || *l < *start)) start = l;
  if (!start)
    throw Error("no WAL range in " + show_path(manifest), "no WAL is removed while the oldest kept base backup has none");

  std::error_code ec;
  std::uint64_t seg_size = kDefaultSegmentSize;
  std::vector<std::pair<fs::path, SegmentName>> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file(ec) || e.is_symlink(ec)) continue;
    auto n = parse_segment(e.path().filename().string());
    if (!n) continue;
    // A complete segment has the server's segment size (pg_receivewal pads the partial one too).
    if (!n->partial) seg_size = e.file_size(ec);
    files.emplace_back(e.path(), *n);
  }
  if (seg_size == 0 || (seg_size & (seg_size - 1)) != 0 || seg_size > (1ull << 30)) seg_size = kDefaultSegmentSize;
  const std::uint64_t per_log = 0x100000000ull / seg_size;
  const std::uint64_t start_seg = *start / seg_size;
  std::vector<fs::path> out;
  for (const auto& [path, n] : files)
    if (n.log * per_log + n.seg < start_seg) out.push_back(path);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sk::sql
