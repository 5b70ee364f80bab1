#include "replicator/manifest.hpp"

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/fsutil.hpp"
#include "core/hash.hpp"
#include "core/json_number.hpp"

namespace sk::replicator {

std::string Manifest::to_json() const {
  nlohmann::json j;
  j["format"] = "sitekeeper-manifest-1";
  j["id"] = id;
  j["kind"] = kind;
  j["site"] = site;
  j["database"] = databases.empty() ? database : databases.front();
  j["databases"] = databases.empty() ? std::vector<std::string>{database} : databases;
  j["server"] = server;
  j["engine"] = engine;
  j["created_at"] = created_at;
  j["files"] = nlohmann::json::array();
  for (const auto& f : files) j["files"].push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  return j.dump(2) + "\n";
}

bool Manifest::holds(const std::string& db) const {
  return std::find(databases.begin(), databases.end(), db) != databases.end();
}

Manifest Manifest::from_json(const std::string& text, const std::string& source) {
  try {
    auto j = nlohmann::json::parse(text);
    if (j.value("format", "") != "sitekeeper-manifest-1") throw Error("unknown manifest format");
    Manifest m;
    m.id = j.at("id").get<std::string>();
    m.kind = j.value("kind", "backup");
    m.site = j.value("site", "");
    m.database = j.at("database").get<std::string>();
    // A generation from before [site] databases holds its one database.
    m.databases = j.contains("databases") ? j.at("databases").get<std::vector<std::string>>()
                                          : std::vector<std::string>{m.database};
    if (m.databases.empty() || m.databases.front() != m.database)
      throw Error("databases does not start with database " + m.database);
    m.server = j.value("server", "");
    m.engine = j.value("engine", "");
    m.created_at = j.at("created_at").get<std::string>();
    for (const auto& f : j.at("files")) {
      const std::string path = f.at("path").get<std::string>();
      ManifestFile mf{path, json_unsigned(f.at("size"), "the size of " + path), f.at("sha256").get<std::string>()};
      if (mf.path.empty() || mf.path[0] == '/' || mf.path.find("..") != std::string::npos)
        throw Error("unsafe path " + mf.path);
      m.files.push_back(std::move(mf));
    }
    return m;
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  } catch (const std::exception& e) {
    throw Error(source + ": not a valid manifest (" + std::string(e.what()) + ")");
  }
}

std::vector<ManifestFile> scan_files(const fs::path& dir, const std::vector<std::string>& skip,
                                     const CancelToken* cancel) {
  std::vector<ManifestFile> out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    const fs::path rel = fs::relative(it->path(), dir);
    if (it.depth() == 0 && std::find(skip.begin(), skip.end(), rel.string()) != skip.end()) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    auto st = it->symlink_status();
    if (fs::is_directory(st)) continue;
    if (!fs::is_regular_file(st)) throw Error("unexpected non-regular file " + show_path(it->path()));
    out.push_back({rel.generic_string(), fs::file_size(it->path()), sha256_file(it->path(), cancel)});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return out;
}

std::vector<std::string> check_files(const fs::path& dir, const Manifest& m, const std::vector<std::string>& skip,
                                     bool hash, const CancelToken* cancel) {
  std::vector<std::string> problems;
  std::map<std::string, const ManifestFile*> listed;
  for (const auto& f : m.files) listed[f.path] = &f;
  for (const auto& f : m.files) {
    const fs::path p = dir / f.path;
    std::error_code ec;
    auto st = fs::symlink_status(p, ec);
    if (ec || !fs::is_regular_file(st)) {
      problems.push_back(f.path + ": missing");
      continue;
    }
    auto size = fs::file_size(p, ec);
    if (size != f.size) {
      problems.push_back(f.path + ": size " + std::to_string(size) + ", manifest says " + std::to_string(f.size));
      continue;
    }
    if (hash && sha256_file(p, cancel) != f.sha256) problems.push_back(f.path + ": checksum mismatch");
  }
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    // Lexical: fs::relative would resolve a planted symlink and name its target instead.
    const std::string rel = it->path().lexically_relative(dir).generic_string();
    if (it.depth() == 0 && std::find(skip.begin(), skip.end(), rel) != skip.end()) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    // A symlink to a folder is an unlisted entry, not a folder of the generation.
    if (!fs::is_directory(it->symlink_status()) && !listed.count(rel))
      problems.push_back(rel + ": not in the manifest");
  }
  return problems;
}

}  // namespace sk::replicator
