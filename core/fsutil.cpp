#include "core/fsutil.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.hpp"

namespace sk {

namespace {
[[noreturn]] void fail(const std::string& what, const fs::path& p) {
  throw Error(what + " " + show_path(p) + ": " + std::strerror(errno));
}
}  // namespace

void fsync_path(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open", path);
  if (::fsync(fd) != 0) {
    ::close(fd);
    fail("cannot fsync", path);
  }
  ::close(fd);
}

void write_file_durable(const fs::path& path, const std::string& data) {
  fs::path tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot create", tmp);
  // A leftover .tmp from a crash keeps its old mode through O_CREAT: set it.
  if (::fchmod(fd, 0600) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    fail("cannot chmod", tmp);
  }
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      errno = e;
      fail("cannot write", tmp);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    errno = e;
    fail("cannot fsync", tmp);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    errno = e;
    fail("cannot rename into", path);
  }
  fsync_path(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + show_path(path) + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> readable_by_others_under(const fs::path& root, std::size_t limit) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (readable_by_others(root)) out.push_back(root);
  for (fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end && out.size() < limit; it.increment(ec)) {
    if (it->is_symlink(ec)) continue;
    if (readable_by_others(it->path())) out.push_back(it->path());
  }
  return out;
}

void make_private(const fs::path& root) {
  std::error_code ec;
  auto fix = [](const fs::path& p, bool dir) {
    struct stat st{};
    if (::lstat(p.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) return;
    const mode_t want = dir ? 0700 : 0600;
    if ((st.st_mode & 07777) != want && ::chmod(p.c_str(), want) != 0) fail("cannot chmod", p);
  };
  fix(root, fs::is_directory(fs::symlink_status(root, ec)));
  if (!fs::is_directory(fs::symlink_status(root, ec))) return;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
    fix(it->path(), it->is_directory(ec) && !it->is_symlink(ec));
  if (ec) throw Error("cannot walk " + show_path(root) + ": " + ec.message());
}

bool readable_by_others(const fs::path& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return false;
  return (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
}

std::string show_path(const fs::path& p) {
  std::string s = p.string();
  if (s.find_first_of(" \t'\"") != std::string::npos) return "\"" + s + "\"";
  return s;
}

}  // namespace sk
