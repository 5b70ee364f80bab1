#pragma once
// Key material in the archive: the files of [archive.secrets] encrypted into each backup generation as
// secrets.enc (core/secrets.hpp holds the format), proven by verify --deep, and written back by
// restore-secrets. The plaintext exists only in memory until restore-secrets writes the files.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "replicator/archive.hpp"

namespace sk::replicator {

inline constexpr const char* kSecretsFile = "secrets.enc";

// Encrypts every file of [archive.secrets] files into `generation`/secrets.enc (mode 0600) and returns how
// many; 0 and nothing written when none is configured. Throws sk::Error naming a file that is missing,
// not a regular file or unreadable (a backup that silently lacked a key would fail the recovery later),
// and when there is no passphrase.
std::size_t write_secrets(const Config& cfg, const fs::path& generation);

// For verify --deep: one line for the summary ("secrets: 3 files decrypt", "secrets: not checked, no
// passphrase", "secrets: none in this generation"). A container that does not decrypt adds a problem
// naming secrets.enc. REQUIRES: the generation passed Archive::check.
std::string check_secrets(const Config& cfg, const fs::path& generation, std::vector<std::string>& problems);

struct RestoredSecret {
  fs::path path;           // where it was written, below the target folder
  std::uint32_t mode = 0;  // the original file's permission bits
  std::uint64_t bytes = 0;
};

struct RestoreSecretsResult {
  std::string id;
  fs::path dir;
  std::vector<RestoredSecret> files;
  std::string summary;
};

// Writes the secrets of generation `id` (empty: the newest complete one) below `to`, each file at its
// absolute path (/etc/site/key as <to>/etc/site/key), files 0600 and folders 0700. `to` must be missing
// or an empty folder (else SafetyError). The generation must be complete, its secrets.enc match the
// manifest, and decrypt in full before anything is written: a wrong passphrase or a changed file is an
// sk::Error and leaves the disk as it was. The files are written into a private folder beside `to` and
// renamed into place, so a failure halfway leaves no partial `to` either.
RestoreSecretsResult restore_secrets(const Config& cfg, const std::string& id, const fs::path& to);

}  // namespace sk::replicator
