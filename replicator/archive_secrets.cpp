#include "replicator/archive_secrets.hpp"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/hash.hpp"
#include "core/secrets.hpp"

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

// Why `to` cannot receive the secrets ("" when it can): it must be missing or an empty folder.
std::string target_problem(const fs::path& to) {
  std::error_code ec;
  const auto st = fs::symlink_status(to, ec);
  if (st.type() == fs::file_type::not_found) return {};
  if (ec) return show_path(to) + " cannot be checked: " + ec.message();
  if (fs::is_symlink(st)) return show_path(to) + " is a symbolic link";
  if (!fs::is_directory(st)) return show_path(to) + " is not a folder";
  if (!fs::is_empty(to, ec)) return show_path(to) + " is not empty";
  return {};
}

// `to` with the entry's absolute path below it: /etc/site/key -> <to>/etc/site/key.
// REQUIRES: secrets::path_problem(path) is "" (open() guarantees it).
fs::path below(const fs::path& to, const std::string& path) { return to / fs::path(path).relative_path(); }

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
  if (to_arg.empty()) throw ConfigError("restore-secrets needs a target folder", "pass --to DIR");
  fs::path to = fs::absolute(to_arg).lexically_normal();
  if (!to.has_filename()) to = to.parent_path();
  if (to == to.root_path())
    throw SafetyError("refusing to restore secrets into " + show_path(to), "name a new, empty folder with --to");
  if (auto why = target_problem(to); !why.empty())
    throw SafetyError("refusing to restore secrets into " + show_path(to) + ": " + why,
                      "name a folder that does not exist yet, or an empty one; nothing is ever overwritten");

  Archive archive = open_archive(cfg);
  RestoreSecretsResult r;
  if (wanted.empty()) {
    auto newest = archive.newest_complete();
    if (!newest) throw Error("the archive holds no complete backup", "see 'sitekeeper status' for the generations");
    r.id = *newest;
  } else {
    r.id = wanted;
  }
  const auto ids = archive.list();
  if (archive.path(r.id); std::find(ids.begin(), ids.end(), r.id) == ids.end())
    throw Error("no generation " + r.id + " in the archive", "see 'sitekeeper status' for the generations");
  if (auto problems = archive.check(r.id, /*hash=*/false, nullptr); !problems.empty())
    throw Error("generation " + r.id + " is not intact: " + problems.front(),
                "run 'sitekeeper verify " + r.id + "', and restore the secrets from a generation that passes");
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
  fs::create_directories(to.parent_path());
  std::string tmpl = (to.parent_path() / ("." + to.filename().string() + ".sitekeeper-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) throw Error("cannot create a folder beside " + show_path(to));
  const fs::path tmp = tmpl;
  try {
    for (const auto& e : entries) {
      const fs::path dest = below(tmp, e.path);
      fs::create_directories(dest.parent_path());
      write_file_durable(dest, e.data);
      r.files.push_back({below(to, e.path), e.mode, e.data.size()});
    }
    make_private(tmp);
    // rename(2) replaces an empty folder and refuses one that someone filled meanwhile.
    if (std::rename(tmp.c_str(), to.c_str()) != 0)
      throw Error("cannot move the restored secrets into " + show_path(to) + ": " + std::strerror(errno));
    fsync_path(to.parent_path());
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  r.dir = to;
  r.summary = "restored " + std::to_string(r.files.size()) + " secret file(s) of generation " + r.id + " into " +
              show_path(to) + " (files 0600, folders 0700)";
  return r;
}

}  // namespace sk::replicator
