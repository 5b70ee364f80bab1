#pragma once
// verify [--deep] [ID]: checks a generation against its manifest and the restore tool's table of
// contents; --deep adds a trial restore into a throwaway database and the engine's integrity checker, and
// proves that the generation's secrets decrypt when the passphrase is available.
#include <string>
#include <vector>

#include "replicator/context.hpp"

namespace sk::replicator {

struct VerifyResult {
  std::string id;
  bool ok = false;
  std::vector<std::string> problems;  // each names the file or step that failed
  std::string summary;
  std::string secrets;  // deep only: "secrets: N file(s) decrypt", "secrets: not checked, no passphrase", ...
  bool physical = false;  // the generation's physical base backup passed the engine's own check
};

// `id` empty means the newest generation (complete or not: an unfinished newest is reported as such).
// `trial_server` names the server for the --deep trial restore (default: [roles] trial, else a
// scratch server started on this machine for this run and removed after it). A trial never runs on a
// server that serves the site: naming one is a SafetyError. Records the outcome on the generation in
// the state store. Each database the generation holds is checked (deep: restored into its own trial
// copy); a database [site] databases lists that the generation lacks is a problem naming it; a
// physical base backup is checked against its own manifest (pg_verifybackup). Throws sk::Error for usage problems (unknown id, empty archive, no server for the
// trial); a damaged generation is a result with ok = false.
VerifyResult run_verify(const JobContext& ctx, const std::string& id, bool deep, const std::string& trial_server = {});

}  // namespace sk::replicator
