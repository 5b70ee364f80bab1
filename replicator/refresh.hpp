#pragma once
// refresh: restore the newest complete backup onto read-only replicas. Per replica, in this order:
// replay roles, restore into a staging copy, replay grants, make it read-only by privilege, validate
// (smoke queries and a refused write as each reader), then swap it in atomically. The full checksum
// pass over the snapshot runs alongside the restores and must pass before any swap.
// At most [replica] parallel replicas are restored at once; the generation's checksum pass runs once
// for all of them.
// A replica always serves a complete copy, old or new: any failure (or cancellation) before the swap
// drops the staging copy and leaves the live one alone.
#include <map>
#include <string>
#include <vector>

#include "replicator/context.hpp"

namespace sk::replicator {

struct ReplicaOutcome {
  std::string replica;
  std::string outcome;  // "refreshed", "current", "skipped", "failed", "cancelled"
  std::string message;
  double seconds = 0;
};

struct RefreshResult {
  std::string id;  // the generation restored
  std::vector<ReplicaOutcome> replicas;
  bool ok = false;
  std::string summary;
};

// `only` names one replica (empty: every replica in [roles]). `force` restores even onto a replica that
// already serves this generation. Throws SafetyError when there is no complete backup, sk::Error
// when the newest one fails verification (every replica untouched, an alert recorded), and
// sk::Cancelled when the token fired (every replica not yet swapped keeps its live copy).
RefreshResult run_refresh(const JobContext& ctx, const std::string& only = {}, bool force = false);

// Drops leftover staging/retired copies on a replica (after a killed refresh). Never touches live.
void cleanup_replica(const JobContext& ctx, const std::string& replica);

// Takes `replica` out of the rotation for good (recover --from-replica makes it the active): no refresh
// swaps a copy into it any more. Every refresh of a replica holds that replica's lock (a file beside
// the state store) from its first change to its swap, and checks the mark under it; this takes the
// lock once after writing the mark, so when it returns a refresh that was running has swapped or given
// up, and none can start. Idempotent.
void withdraw_replica(const JobContext& ctx, const std::string& replica);
bool replica_withdrawn(StateStore& state, const std::string& replica);

// Which generation each database of the site serves on `replica`, by the state store ("" for one never
// restored there): a replica refreshed before databases were recorded serves the site database at its
// one record. From the state store only: a status page must not wait on a server.
std::map<std::string, std::string> replica_generations(const Config& cfg, StateStore& state, const std::string& replica);
// "" when `replica` serves one generation in every database of the site, or was never refreshed; else
// the sentence that says which database serves what ("hd1 serves a mix of generations: CM_CEN
// 20261122T020000Z, CM_REP never restored").
std::string mixed_generations(const Config& cfg, StateStore& state, const std::string& replica);
// The same sentence from generations already read with replica_generations.
std::string mixed_generations(const Config& cfg, const std::string& replica,
                              const std::map<std::string, std::string>& gens);

}  // namespace sk::replicator
