#include "replicator/archive_secrets.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/hash.hpp"
#include "core/secrets.hpp"
#include "replicator/restore_target.hpp"

namespace sk::replicator {

namespace {

const char* kPassphraseHint = "set SITEKEEPER_SECRETS_PASSPHRASE, or name a passphrase_file in [archive.secrets]";

std::string passphrase_or_throw(const Config& cfg, const std::string& what) {
  const auto& s = cfg.archive.secrets;
  if (s.passphrase.empty()) throw Error("cannot " + what + ": no passphrase for the secrets", kPassphraseHint);
  return s.passphrase;
}

std::string where_passphrase_came_from(const Config& cfg) {
  const auto& s = cfg.archive.secrets;
  return s.passphrase_source == "file" ? "the passphrase in " + show_path(s.passphrase_file)
                                       : "the passphrase in SITEKEEPER_SECRETS_PASSPHRASE";
}

secrets::Entry read_secret(const fs::path& file) {
  struct stat st{};
  if (::stat(file.c_str(), &st) != 0)
    throw Error("cannot read secret " + show_path(file) + ": it is missing or not reachable",
                "fix or remove it in [archive.secrets] files; a backup never leaves a listed secret out");
  if (!S_ISREG(st.st_mode))
    throw Error("cannot read secret " + show_path(file) + ": not a regular file",
                "list each file of a folder in [archive.secrets] files");
  return {file.string(), static_cast<std::uint32_t>(st.st_mode & 07777), read_file(file)};
}

// The bytes of `generation`/secrets.enc, checked against the manifest in memory, so that what is
// decrypted is what was hashed. Empty when the generation holds none.
std::string read_container(const Archive& archive, const std::string& id) {
  const Manifest m = archive.manifest(id);
  auto it = std::find_if(m.files.begin(), m.files.end(), [](const ManifestFile& f) { return f.path == kSecretsFile; });
  if (it == m.files.end()) return {};
  std::string bytes = read_file(archive.path(id) / kSecretsFile);
  if (sha256_hex(bytes) != it->sha256)
    throw Error(std::string(kSecretsFile) + " of generation " + id + " does not match its manifest",
                "the generation was changed; restore the secrets from another one");
  return bytes;
}

}  // namespace

std::size_t write_secrets(const Config& cfg, const fs::path& generation) {
  const auto& files = cfg.archive.secrets.files;
  if (files.empty()) return 0;
  const std::string pass = passphrase_or_throw(cfg, "encrypt the secrets");
  std::vector<secrets::Entry> entries;
  for (const auto& f : files) entries.push_back(read_secret(f));
  write_file_durable(generation / kSecretsFile, secrets::seal(entries, pass));
  return entries.size();
}

std::string check_secrets(const Config& cfg, const fs::path& generation, std::vector<std::string>& problems) {
  const fs::path file = generation / kSecretsFile;
  if (!fs::exists(file)) return "secrets: none in this generation";
  const auto& pass = cfg.archive.secrets.passphrase;
  if (pass.empty()) return "secrets: not checked, no passphrase";
  try {
    const auto entries = secrets::open(read_file(file), pass);
    return "secrets: " + std::to_string(entries.size()) + " file(s) decrypt";
  } catch (const Error& e) {
    problems.push_back(std::string(kSecretsFile) + ": does not decrypt with " + where_passphrase_came_from(cfg) +
                       ": " + e.what());
    return {};
  }
}

RestoreSecretsResult restore_secrets(const Config& cfg, const std::string& wanted, const fs::path& to_arg) {
  const fs::path to = restore_target(to_arg, "restore-secrets", "secrets");
  Archive archive = open_archive(cfg);
  RestoreSecretsResult r;
  r.id = restore_generation(archive, wanted, "secrets");
  const std::string container = read_container(archive, r.id);
  if (container.empty())
    throw Error("generation " + r.id + " holds no secrets",
                "list the key files in [archive.secrets] files; backups after that carry them");

  std::vector<secrets::Entry> entries;
  try {
    entries = secrets::open(container, passphrase_or_throw(cfg, "decrypt the secrets of generation " + r.id));
  } catch (const secrets::SecretsError& e) {
    throw Error("cannot decrypt the secrets of generation " + r.id + ": " + e.what() + "; nothing was written",
                "check " + where_passphrase_came_from(cfg) + ": it must be the one the backup was made with");
  }

  // Everything decrypted: now the files, into a private folder beside `to`, renamed into place at the end.
  fill_then_rename(to, "secrets", [&](const fs::path& tmp) {
    for (const auto& e : entries) {
      const fs::path dest = below(tmp, e.path);
      fs::create_directories(dest.parent_path());
      write_file_durable(dest, e.data);
      r.files.push_back({below(to, e.path), e.mode, e.data.size()});
    }
    make_private(tmp);
  });
  r.dir = to;
  r.summary = "restored " + std::to_string(r.files.size()) + " secret file(s) of generation " + r.id + " into " +
              show_path(to) + " (files 0600, folders 0700)";
  return r;
}

}  // namespace sk::replicator
