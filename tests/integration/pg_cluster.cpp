// Implementation notes
// - Children are started with fork/execve. Everything the child needs (argv, envp, paths) is prepared
//   before fork, because between fork and exec only async-signal-safe calls are allowed in a process
//   that may have threads.
// - Every descriptor we create is O_CLOEXEC, so no child (above all no postmaster) inherits a pipe
//   that someone waits on.
#include "pg_cluster.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace sk::test {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// ----- small utilities -------------------------------------------------------------------------------

std::string join_argv(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += (a.find_first_of(" \t'\"") == std::string::npos) ? a : "'" + a + "'";
  }
  return s;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out.flush()) throw std::runtime_error("cannot write " + p.string());
}

std::string chomp(std::string s) {
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

std::string tail(const std::string& s, size_t n = 4000) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

struct ServerUser {
  uid_t uid;
  gid_t gid;
};

ServerUser postgres_user() {
  const passwd* pw = getpwnam("postgres");
  if (!pw) throw std::runtime_error("running as root but there is no `postgres` user to run PostgreSQL");
  return {pw->pw_uid, pw->pw_gid};
}

void chown_to_server_user(const fs::path& p) {
  if (!running_as_root()) return;
  auto u = postgres_user();
  if (::chown(p.c_str(), u.uid, u.gid) != 0)
    throw std::runtime_error("chown postgres " + p.string() + ": " + std::strerror(errno));
}

// ----- process plumbing --------------------------------------------------------------------------------

// argv/envp as the char* arrays execve wants; owns the strings.
struct ExecImage {
  std::string path;
  std::vector<std::string> args, envs;
  std::vector<char*> argv, envp;

  void seal() {
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : envs) envp.push_back(e.data());
    envp.push_back(nullptr);
  }
};

std::vector<std::string> merged_environment(const Environment& changes) {
  std::map<std::string, std::string> vars;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : changes) {
    if (v) vars[k] = *v;
    else vars.erase(k);
  }
  std::vector<std::string> out;
  for (const auto& [k, v] : vars) out.push_back(k + "=" + v);
  return out;
}

std::string find_executable(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  for (const auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  std::stringstream ss(path);
  for (std::string dir; std::getline(ss, dir, ':');) {
    fs::path cand = fs::path(dir.empty() ? "." : dir) / name;
    if (::access(cand.c_str(), X_OK) == 0) return cand.string();
  }
  return name;  // execve fails and the child reports 127
}

ExecImage make_image(const std::vector<std::string>& argv, const Environment& env) {
  if (argv.empty()) throw std::invalid_argument("run_command: empty argv");
  ExecImage img;
  img.args = argv;
  img.envs = merged_environment(env);
  img.path = find_executable(argv[0], img.envs);
  img.seal();
  return img;
}

// Child side after fork: async-signal-safe calls only.
[[noreturn]] void exec_child(const ExecImage& img, int in_fd, int out_fd, int err_fd, const char* cwd,
                             int death_signal, pid_t parent) {
  ::setpgid(0, 0);  // own group, so a timeout kills the whole tree the command started
  ::prctl(PR_SET_PDEATHSIG, death_signal);
  if (::getppid() != parent) ::_exit(127);  // parent died before prctl took effect
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (in_fd >= 0) ::dup2(in_fd, 0);
  if (out_fd >= 0) ::dup2(out_fd, 1);
  if (err_fd >= 0) ::dup2(err_fd, 2);
  if (cwd && *cwd && ::chdir(cwd) != 0) {
    const char msg[] = "run_command: cannot chdir\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::execve(img.path.c_str(), img.argv.data(), img.envp.data());
  const char msg[] = "run_command: cannot execute ";
  (void)!::write(2, msg, sizeof msg - 1);
  (void)!::write(2, img.path.c_str(), img.path.size());
  (void)!::write(2, "\n", 1);
  ::_exit(127);
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 127;
}

void make_pipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
}

int open_dev_null(int flags) {
  int fd = ::open("/dev/null", flags | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(std::string("open /dev/null: ") + std::strerror(errno));
  return fd;
}

// Pumps the child's stdin/stdout/stderr until it exits and the pipes drain, or the deadline passes.
class Pump {
 public:
  Pump(int in, int out, int err, std::string input) : input_(std::move(input)) {
    fds_[0] = in;
    fds_[1] = out;
    fds_[2] = err;
    for (int fd : fds_)
      if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (input_.empty()) close_fd(0);
  }
  ~Pump() {
    for (int i = 0; i < 3; ++i) close_fd(i);
  }
  bool done() const { return fds_[1] < 0 && fds_[2] < 0; }
  void step(std::chrono::milliseconds wait) {
    pollfd p[3];
    int n = 0;
    int which[3];
    for (int i = 0; i < 3; ++i) {
      if (fds_[i] < 0) continue;
      p[n] = {fds_[i], static_cast<short>(i == 0 ? POLLOUT : POLLIN), 0};
      which[n++] = i;
    }
    if (n == 0) {
      std::this_thread::sleep_for(wait);
      return;
    }
    if (::poll(p, n, static_cast<int>(wait.count())) <= 0) return;
    for (int k = 0; k < n; ++k)
      if (p[k].revents) which[k] == 0 ? write_input() : read_output(which[k]);
  }
  std::string out, err;

 private:
  void close_fd(int i) {
    if (fds_[i] >= 0) ::close(fds_[i]);
    fds_[i] = -1;
  }
  void write_input() {
    // stdin is a socket so that a child that exits early gives EPIPE, not a SIGPIPE that kills us.
    ssize_t w = ::send(fds_[0], input_.data() + written_, input_.size() - written_, MSG_NOSIGNAL);
    if (w > 0) written_ += static_cast<size_t>(w);
    if ((w < 0 && errno != EAGAIN && errno != EINTR) || written_ == input_.size()) close_fd(0);
  }
  void read_output(int i) {
    char buf[65536];
    ssize_t r = ::read(fds_[i], buf, sizeof buf);
    if (r > 0) (i == 1 ? out : err).append(buf, static_cast<size_t>(r));
    else if (r == 0 || (errno != EAGAIN && errno != EINTR)) close_fd(i);
  }
  int fds_[3];
  std::string input_;
  size_t written_ = 0;
};

enum class ProcState { gone, zombie, alive };

ProcState process_state(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!stat || !std::getline(stat, line)) return ProcState::gone;
  auto rp = line.rfind(')');
  if (rp == std::string::npos || rp + 2 >= line.size()) return ProcState::gone;
  return line[rp + 2] == 'Z' ? ProcState::zombie : ProcState::alive;
}

// A zombie (killed, not yet reaped by whoever inherited it) has stopped running.
bool process_gone(pid_t pid) { return process_state(pid) != ProcState::alive; }
bool process_reaped(pid_t pid) { return process_state(pid) == ProcState::gone; }

std::string process_comm(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string s;
  std::getline(in, s);
  return s;
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> kids;
  for (const auto& e : fs::directory_iterator("/proc", fs::directory_options::skip_permission_denied)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    auto rp = line.rfind(')');
    if (rp == std::string::npos) continue;
    std::istringstream rest(line.substr(rp + 2));
    char state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) kids.push_back(std::stoi(name));
  }
  return kids;
}

// Environment for PostgreSQL binaries: nothing inherited may point them at another server.
Environment pg_clean_env() {
  Environment env;
  for (const char* v : {"PGDATA", "PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGOPTIONS",
                        "PGSERVICE", "PGSERVICEFILE", "PGPASSWORD", "PGSSLMODE", "PGTARGETSESSIONATTRS"})
    env[v] = std::nullopt;
  env["LC_ALL"] = "C.UTF-8";  // English messages, so "Address already in use" can be recognised
  return env;
}

std::string runuser_path() {
  for (const char* p : {"/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"})
    if (::access(p, X_OK) == 0) return p;
  return "runuser";
}

// ----- temp folders ------------------------------------------------------------------------------------

bool traversable_by_others(const fs::path& dir) {
  for (fs::path p = dir; !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0 || !(st.st_mode & S_IXOTH)) return false;
    if (p == p.root_path()) break;
  }
  return true;
}

// $TMPDIR when usable, else /tmp. As root, `postgres` must be able to reach the folder, and the socket
// path (<base>/<folder>/sock/.s.PGSQL.NNNNN) must fit the 107-byte sun_path limit.
fs::path temp_base() {
  const char* t = std::getenv("TMPDIR");
  if (!t || !*t) return "/tmp";
  fs::path base(t);
  std::error_code ec;
  const std::string s = base.string();
  bool ok = base.is_absolute() && fs::is_directory(base, ec) && s.size() < 50 &&
            s.find_first_of("'\"\\\n") == std::string::npos &&
            (!running_as_root() || traversable_by_others(base));
  return ok ? base : fs::path("/tmp");
}

void remove_tree(const fs::path& root) {
  std::error_code ec;
  fs::remove_all(root, ec);
  if (!ec || !fs::exists(root)) return;
  // Something (a test, the product) left a read-only folder: make folders writable and retry.
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_directory(ec)) fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
  fs::permissions(root, fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(root, ec);
}

// ----- the atexit sweep ---------------------------------------------------------------------------------

struct ExitSweep {
  std::mutex mu;
  int next_id = 0;
  std::map<int, std::function<void()>> pending;  // by id: the order of registration
};

ExitSweep& exit_sweep() {
  static auto* s = new ExitSweep;  // never destroyed: the sweep may run after static destructors
  return *s;
}

void run_exit_sweep() {
  std::map<int, std::function<void()>> pending;
  {
    std::lock_guard lock(exit_sweep().mu);
    pending.swap(exit_sweep().pending);
  }
  for (auto it = pending.rbegin(); it != pending.rend(); ++it) it->second();
}

// Runs in a process of its own (setsid, so terminal signals do not reach it). It blocks on the pipe;
// end-of-file means the test process is gone without cleaning up, so shut the server down hard and
// remove the folder. $1 = data dir, $2 = temp folder. Paths travel as arguments, never as script text.
constexpr const char* kGuardianScript = R"SH(
cat >/dev/null 2>&1
pidfile="$1/postmaster.pid"
if [ -f "$pidfile" ]; then
  pid=$(head -n 1 "$pidfile")
  case "$pid" in
    ''|*[!0-9]*) ;;
    *)
      if [ "$(cat /proc/$pid/comm 2>/dev/null)" = postgres ]; then
        kill -QUIT "$pid" 2>/dev/null
        i=0
        while [ $i -lt 300 ] && [ -e "/proc/$pid" ] && [ "$(cut -d' ' -f3 /proc/$pid/stat 2>/dev/null)" != Z ]; do
          sleep 0.1; i=$((i+1))
        done
        kill -KILL "$pid" 2>/dev/null
      fi ;;
  esac
fi
rm -rf -- "$2"
)SH";

}  // namespace

// ===== free functions =======================================================================================

bool running_as_root() { return ::geteuid() == 0; }

std::vector<std::string> as_server_user(std::vector<std::string> argv) {
  if (!running_as_root()) return argv;
  std::vector<std::string> wrapped{runuser_path(), "-u", "postgres", "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

std::string ip_path() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"})
    if (::access(p, X_OK) == 0) return p;
  return "";
}

std::vector<std::string> in_netns(const std::string& netns, std::vector<std::string> argv) {
  if (netns.empty()) return argv;
  const std::string ip = ip_path();
  std::vector<std::string> wrapped{ip.empty() ? "ip" : ip, "netns", "exec", netns};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

Guardian start_guardian(const char* script, const char* label, const std::vector<std::string>& args) {
  // Built before fork: between fork and exec only async-signal-safe calls are allowed.
  std::vector<std::string> strings{"sh", "-c", script, label};
  strings.insert(strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  make_pipe(fds);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::setsid();  // Ctrl-C on the test run must kill the test, not the one who cleans up after it
    ::dup2(fds[0], 0);
    int null_fd = ::open("/dev/null", O_WRONLY);
    ::dup2(null_fd, 1);  // never hold ctest's output pipes open
    ::dup2(null_fd, 2);
    ::close_range(3, ~0U, 0);  // above all: no write end of another guardian's pipe
    ::execve("/bin/sh", argv.data(), environ);
    ::_exit(127);
  }
  ::close(fds[0]);
  return {pid, fds[1]};
}

void dismiss_guardian(Guardian& g) {
  if (g.pid > 0) {
    ::kill(-g.pid, SIGKILL);  // its group: the shell and what it runs (`cat`, `sleep`)
    ::kill(g.pid, SIGKILL);
    ::waitpid(g.pid, nullptr, 0);
    g.pid = -1;
  }
  if (g.fd >= 0) ::close(g.fd);
  g.fd = -1;
}

int run_command(const std::vector<std::string>& argv, const Environment& env, std::string* out,
                std::string* err, const RunOptions& options) {
  ExecImage img = make_image(argv, env);
  const std::string cwd = options.cwd.string();
  int o[2], e[2], in[2] = {-1, -1};
  make_pipe(o);
  make_pipe(e);
  if (!options.input.empty()) {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0)
      throw std::runtime_error(std::string("socketpair: ") + std::strerror(errno));
  } else {
    in[0] = open_dev_null(O_RDONLY);
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) exec_child(img, in[0], o[1], e[1], cwd.c_str(), SIGKILL, parent);
  ::setpgid(pid, pid);  // also here: a kill of the group right after fork must not miss the child
  ::close(in[0]);
  ::close(o[1]);
  ::close(e[1]);
  Pump pump(in[1], o[0], e[0], options.input);

  const auto deadline = Clock::now() + options.timeout;
  std::optional<Clock::time_point> drain_until;
  int status = 0;
  bool exited = false;
  while (true) {
    if (!exited && ::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      // Grandchildren may keep our pipes open forever (a daemon it started): drain briefly only.
      drain_until = Clock::now() + 2s;
    }
    if (exited && (pump.done() || Clock::now() > *drain_until)) break;
    if (!exited && Clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      if (out) *out = std::move(pump.out);
      if (err) *err = std::move(pump.err) + "\n[run_command: timed out, killed]";
      return kTimedOutExitCode;
    }
    pump.step(20ms);
  }
  if (out) *out = std::move(pump.out);
  if (err) *err = std::move(pump.err);
  return decode_status(status);
}

void wait_until(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
                const std::string& what) {
  const auto deadline = Clock::now() + timeout;
  std::string last_error;
  while (true) {
    try {
      if (predicate()) return;
      last_error.clear();
    } catch (const std::exception& ex) {
      last_error = ex.what();
    }
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(100ms);
  }
  std::string msg = "timed out after " + std::to_string(timeout.count()) + " ms waiting for: " + what;
  if (!last_error.empty()) msg += " (last error: " + tail(last_error, 2000) + ")";
  throw std::runtime_error(msg);
}

void wait_until(const std::function<bool()>& predicate, const std::string& what) {
  wait_until(predicate, 60s, what);
}

int free_port() {
  static std::mutex mu;
  static std::set<int> handed_out;
  std::lock_guard lock(mu);
  for (int attempt = 0; attempt < 100; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    int port = -1;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      port = ntohs(addr.sin_port);
    ::close(fd);
    if (port > 0 && handed_out.insert(port).second) return port;
  }
  throw std::runtime_error("free_port: no free loopback port found");
}

// ===== BackgroundProcess ====================================================================================

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv, const fs::path& log_file,
                                     const Environment& env)
    : log_file_(log_file) {
  ExecImage img = make_image(argv, env);
  int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log_file.string() + ": " + std::strerror(errno));
  int null_fd = open_dev_null(O_RDONLY);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  // SIGTERM on parent death: a daemon under test shuts down cleanly even when the test crashes.
  if (pid_ == 0) exec_child(img, null_fd, log_fd, log_fd, nullptr, SIGTERM, parent);
  ::setpgid(pid_, pid_);  // also here: a kill of the group right after fork must not miss the child
  ::close(log_fd);
  ::close(null_fd);
}

BackgroundProcess::~BackgroundProcess() {
  if (!running()) return;
  ::kill(-pid_, SIGTERM);
  if (wait(10s)) return;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  wait(10s);
}

bool BackgroundProcess::running() {
  if (exit_code_ || pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) exit_code_ = decode_status(status);
  return !exit_code_;
}

void BackgroundProcess::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> BackgroundProcess::wait(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (running()) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(20ms);
  }
  return exit_code_;
}

std::string BackgroundProcess::log() const { return read_file(log_file_); }

// ===== TempDir ==============================================================================================

namespace {
// $1 = the folder. Runs once the test process is gone without removing it.
constexpr const char* kTempDirGuardianScript = "cat >/dev/null 2>&1\nrm -rf -- \"$1\"\n";
}  // namespace

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = prefix + "XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp " + tmpl + ": " + std::strerror(errno));
  path_ = tmpl;
  exit_id_ = clean_up_at_exit([this] { remove(); });
  guardian_ = start_guardian(kTempDirGuardianScript, "sk-dir-guardian", {path_.string()});
}

TempDir::~TempDir() { remove(); }

void TempDir::remove() noexcept {
  if (path_.empty()) return;
  forget_at_exit(exit_id_);
  remove_tree(path_);
  path_.clear();
  dismiss_guardian(guardian_);
}

// ===== PgCluster ============================================================================================

int clean_up_at_exit(std::function<void()> cleanup) {
  static std::once_flag once;
  std::call_once(once, [] { std::atexit(run_exit_sweep); });
  std::lock_guard lock(exit_sweep().mu);
  const int id = exit_sweep().next_id++;
  exit_sweep().pending.emplace(id, std::move(cleanup));
  return id;
}

void forget_at_exit(int id) {
  std::lock_guard lock(exit_sweep().mu);
  exit_sweep().pending.erase(id);
}

PgCluster::PgCluster(PgClusterOptions options) : options_(std::move(options)) {
  const auto& n = options_.name;
  if (n.empty() || !std::all_of(n.begin(), n.end(), [](unsigned char ch) {
        return std::isalnum(ch) || ch == '_' || ch == '-';
      }))
    throw std::invalid_argument("PgCluster: name must be [A-Za-z0-9_-]+, got '" + n + "'");
  if (options_.listen.empty()) throw std::invalid_argument("PgCluster '" + n + "': options.listen is empty");
  exit_id_ = clean_up_at_exit([this] { cleanup(); });
}

PgCluster::~PgCluster() { cleanup(); }

std::unique_ptr<PgCluster> PgCluster::start(const PgClusterOptions& options) {
  std::unique_ptr<PgCluster> c(new PgCluster(options));  // from here on the destructor cleans up
  c->make_folders();
  c->spawn_guardian();
  if (!c->options_.initdb) {
    c->port_ = free_port();
    c->write_host_config();  // for the copy of another cluster's data that a test puts into data/
    return c;
  }
  c->run_initdb();
  if (c->options_.start) {
    c->start_with_port_retry();
  } else {
    c->port_ = free_port();
    c->write_config();
  }
  return c;
}

void PgCluster::make_folders() {
  // The space and the é are the point: the product must handle such paths (see DESIGN.md).
  std::string tmpl = (temp_base() / ("sk test \xC3\xA9 " + options_.name + "-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp " + tmpl + ": " + std::strerror(errno));
  root_ = tmpl;
  fs::permissions(root_, fs::perms(0755));  // postgres must traverse it when we are root
  fs::create_directory(data_dir());
  fs::permissions(data_dir(), fs::perms(0700));  // PostgreSQL insists on 0700 (or 0750)
  fs::create_directory(socket_dir());
  fs::permissions(socket_dir(), fs::perms(0755));
  for (const auto& p : {root_, data_dir(), socket_dir()}) chown_to_server_user(p);
}

void PgCluster::spawn_guardian() {
  guardian_ = start_guardian(kGuardianScript, "sk-pg-guardian", {data_dir().string(), root_.string()});
}

void PgCluster::stop_guardian() { dismiss_guardian(guardian_); }

void PgCluster::run_initdb() {
  const fs::path pwfile = root_ / "initdb.pw";
  {
    int fd = ::open(pwfile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + pwfile.string());
    const std::string line = options_.password + "\n";
    bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ::close(fd);
    if (!ok) throw std::runtime_error("cannot write " + pwfile.string());
  }
  chown_to_server_user(pwfile);
  const auto argv = as_server_user({(bin_dir() / "initdb").string(), "-D", data_dir().string(), "-U",
                                    options_.superuser, "--pwfile", pwfile.string(), "--auth-local=trust",
                                    "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
                                    "--no-sync", "--no-instructions"});
  std::string out, err;
  RunOptions ro;
  ro.cwd = root_;  // postgres may not be allowed into our cwd (e.g. /root)
  const int rc = run_command(argv, pg_clean_env(), &out, &err, ro);
  fs::remove(pwfile);  // the secret has no business lingering
  if (rc != 0)
    throw std::runtime_error("initdb failed (exit " + std::to_string(rc) + "): " + join_argv(argv) + "\n" +
                             tail(out + err));
  initdb_config_ = read_file(data_dir() / "postgresql.conf");
  allow_clients();
}

namespace {
std::string conf_quoted(const std::string& v) {
  std::string q = "'";
  for (char ch : v) q += (ch == '\'') ? std::string("''") : std::string(1, ch);
  return q + "'";
}
}  // namespace

void PgCluster::allow_clients() {
  if (options_.clients.empty()) return;
  std::ofstream hba(data_dir() / "pg_hba.conf", std::ios::binary | std::ios::app);
  hba << "\n# ---- sk::test::PgCluster: options.clients ----\n";
  for (const auto& net : options_.clients)
    hba << "host all all " << net << " scram-sha-256\nhost replication all " << net << " scram-sha-256\n";
  if (!hba.flush()) throw std::runtime_error("cannot write " + (data_dir() / "pg_hba.conf").string());
}

void PgCluster::write_config() {
  write_host_config();
  std::ostringstream c;
  c << initdb_config_ << "\n# ---- sk::test::PgCluster (rewritten on every start attempt) ----\n"
    // Relative to this file's folder: whichever data/ holds a copy of this file reads its own host.conf.
    << "include '../host.conf'\n"
    << "fsync = off\n"
    << "wal_level = replica\n"
    << "max_wal_senders = 10\n"
    << "max_replication_slots = 10\n"
    << "hot_standby = on\n"
    << "wal_log_hints = on\n"  // pg_rewind (rejoin) needs it; checksums are off
    << "shared_preload_libraries = ''\n"
    << "logging_collector = off\n"
    << "log_line_prefix = '%m [%p] %q%u@%d '\n";
  for (const auto& [k, v] : options_.settings) c << k << " = " << v << "\n";
  write_file(data_dir() / "postgresql.conf", c.str());
}

void PgCluster::write_host_config() {
  std::string listen;
  for (const auto& a : options_.listen) listen += (listen.empty() ? "" : ",") + a;
  std::ostringstream c;
  c << "# ---- sk::test::PgCluster '" << name() << "': where this server listens ----\n"
    << "listen_addresses = " << conf_quoted(listen) << "\n"
    << "port = " << port_ << "\n"
    // Double quotes inside the value keep the space in the path from splitting the list.
    << "unix_socket_directories = " << conf_quoted("\"" + socket_dir().string() + "\"") << "\n";
  write_file(host_config_path(), c.str());
}

void PgCluster::start_with_port_retry() {
  constexpr int kAttempts = 6;
  for (int attempt = 1;; ++attempt) {
    port_ = free_port();
    write_config();
    const auto log_before = fs::exists(log_path()) ? fs::file_size(log_path()) : 0;
    try {
      start_server();
      return;
    } catch (const std::runtime_error&) {
      const std::string log = read_file(log_path()).substr(log_before);
      const bool port_taken = log.find("Address already in use") != std::string::npos;
      if (!port_taken || attempt == kAttempts) throw;
      // Someone took the port between free_port() and the bind: pick another.
    }
  }
}

void PgCluster::start_server() {
  remove_stale_lock_file();
  const auto argv = in_netns(options_.netns,
                             as_server_user({(bin_dir() / "pg_ctl").string(), "-D", data_dir().string(), "-l",
                                             log_path().string(), "-w", "-t",
                                             std::to_string(options_.start_timeout.count()), "start"}));
  std::string out, err;
  RunOptions ro;
  ro.cwd = root_;
  ro.timeout = options_.start_timeout + 30s;
  const int rc = run_command(argv, pg_clean_env(), &out, &err, ro);
  if (rc != 0)
    throw std::runtime_error("cluster '" + name() + "': pg_ctl start on port " + std::to_string(port_) +
                             " failed (exit " + std::to_string(rc) + "): " + tail(out + err, 1000) +
                             "\nserver log:\n" + tail(server_log()));
}

bool PgCluster::pg_ctl_stop(const char* mode) {
  const auto argv = as_server_user(
      {(bin_dir() / "pg_ctl").string(), "-D", data_dir().string(), "-m", mode, "-w", "-t", "60", "stop"});
  RunOptions ro;
  ro.cwd = root_;
  ro.timeout = 90s;
  std::string out, err;
  run_command(argv, pg_clean_env(), &out, &err, ro);
  return !running();
}

void PgCluster::stop() {
  if (!running()) return;
  if (pg_ctl_stop("fast") || pg_ctl_stop("immediate")) return;
  kill9();
  if (running()) throw std::runtime_error("cluster '" + name() + "' does not stop:\n" + tail(server_log()));
}

void PgCluster::kill9() {
  const auto pid = postmaster_pid();
  if (!pid || !running()) return;
  // Collect the children first: once the postmaster is dead they are re-parented and hard to find.
  auto victims = children_of(*pid);
  ::kill(*pid, SIGKILL);
  for (pid_t c : victims) ::kill(c, SIGKILL);
  victims.push_back(*pid);
  wait_until(
      [&] { return std::all_of(victims.begin(), victims.end(), process_gone); }, 30s,
      "cluster '" + name() + "': postmaster and children to die after SIGKILL");
  // The orphans are reaped by init, and some container inits reap only every second or two. Until
  // then kill(pid, 0) succeeds and a new postmaster (ours, or one the product starts) would refuse to
  // start ("lock file already exists"). So wait for the reap, as a real machine death would give.
  try {
    wait_until([&] { return std::all_of(victims.begin(), victims.end(), process_reaped); }, 30s, "reaping");
  } catch (const std::runtime_error&) {
    // An init that never reaps: start_server() copes with the stale lock file.
  }
}

void PgCluster::restart() {
  stop();
  start_server();
}

void PgCluster::remove_stale_lock_file() {
  // Only when its postmaster is a zombie: PostgreSQL takes the zombie's pid for a live server. Every
  // child is dead too (kill9 made sure), so no backend can still be attached to shared memory.
  const auto pid = postmaster_pid();
  if (!pid || process_state(*pid) != ProcState::zombie) return;
  fs::remove(data_dir() / "postmaster.pid");
  // The socket's lock file names the same pid, and PostgreSQL refuses to start while it "lives".
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(socket_dir(), ec))
    if (e.path().filename().string().rfind(".s.PGSQL.", 0) == 0 && e.path().extension() == ".lock") fs::remove(e.path(), ec);
}

std::optional<pid_t> PgCluster::postmaster_pid() const {
  std::ifstream in(data_dir() / "postmaster.pid");
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}

bool PgCluster::running() const {
  const auto pid = postmaster_pid();
  // postmaster.pid outlives a SIGKILL; a recycled pid is not ours unless it is a postgres process.
  return pid && !process_gone(*pid) && process_comm(*pid) == "postgres";
}

std::string PgCluster::server_log() const { return read_file(log_path()); }

std::string PgCluster::conninfo(const std::string& db) const {
  auto q = [](const std::string& v) {
    std::string s = "'";
    for (char ch : v) {
      if (ch == '\'' || ch == '\\') s += '\\';
      s += ch;
    }
    return s + "'";
  };
  return "host=" + host() + " port=" + std::to_string(port_) + " user=" + q(superuser()) + " dbname=" + q(db);
}

fs::path PgCluster::write_password_file(const fs::path& path) const {
  fs::path p = path.empty() ? root_ / "secrets" / (name() + ".pw") : path;
  if (p.has_parent_path() && !fs::exists(p.parent_path())) {
    fs::create_directories(p.parent_path());
    fs::permissions(p.parent_path(), fs::perms(0700));
  }
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + p.string() + ": " + std::strerror(errno));
  ::fchmod(fd, 0600);  // O_CREAT's mode does not apply to a file that already existed
  const auto& pw = password();
  const bool ok = ::write(fd, pw.data(), pw.size()) == static_cast<ssize_t>(pw.size());
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + p.string());
  return p;
}

namespace {

struct PsqlTarget {
  std::string host, port, user;
  std::optional<std::string> password;
};

PsqlResult run_psql(const PsqlTarget& t, const std::string& db, std::vector<std::string> extra,
                    const std::string& input, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{std::string(kPgBinDir) + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At",
                                "-h", t.host, "-p", t.port, "-U", t.user, "-d", db};
  argv.insert(argv.end(), extra.begin(), extra.end());
  Environment env = pg_clean_env();
  env["PGPASSWORD"] = t.password;  // environment, never argv: argv is visible in ps
  env["PGCONNECT_TIMEOUT"] = "10";
  env["PGCLIENTENCODING"] = "UTF8";
  env["PGAPPNAME"] = "sk_test_harness";
  RunOptions ro;
  ro.input = input;
  ro.timeout = timeout;
  PsqlResult r;
  r.exit_code = run_command(argv, env, &r.out, &r.err, ro);
  r.out = chomp(std::move(r.out));
  return r;
}

std::string checked(PsqlResult r, const std::string& who, const std::string& sql) {
  if (!r.ok())
    throw std::runtime_error(who + ": psql failed (exit " + std::to_string(r.exit_code) + "): " +
                             tail(r.err, 2000) + "\nSQL: " + tail(sql, 500));
  return std::move(r.out);
}

}  // namespace

PsqlResult PgCluster::try_psql(const std::string& sql, const std::string& db) const {
  return run_psql({socket_dir().string(), std::to_string(port_), superuser(), std::nullopt}, db, {"-f", "-"},
                  sql, 10min);
}

PsqlResult PgCluster::try_psql_as(const std::string& role, const std::string& password, const std::string& sql,
                                  const std::string& db) const {
  return run_psql({host(), std::to_string(port_), role, password}, db, {"-f", "-"}, sql, 10min);
}

std::string PgCluster::psql(const std::string& sql, const std::string& db) const {
  return checked(try_psql(sql, db), "cluster '" + name() + "'", sql);
}

std::string PgCluster::psql_as(const std::string& role, const std::string& password, const std::string& sql,
                               const std::string& db) const {
  return checked(try_psql_as(role, password, sql, db), "cluster '" + name() + "' as " + role, sql);
}

std::string PgCluster::psql_file(const fs::path& file, const std::string& db,
                                 const std::map<std::string, std::string>& vars) const {
  std::vector<std::string> extra;
  for (const auto& [k, v] : vars) {
    extra.push_back("-v");
    extra.push_back(k + "=" + v);
  }
  extra.push_back("-f");
  extra.push_back(file.string());
  auto r = run_psql({socket_dir().string(), std::to_string(port_), superuser(), std::nullopt}, db, extra, "",
                    2h);
  return checked(std::move(r), "cluster '" + name() + "'", "\\i " + file.string());
}

void PgCluster::cleanup() noexcept {
  if (cleaned_) return;
  cleaned_ = true;
  forget_at_exit(exit_id_);
  try {
    if (!root_.empty()) {
      if (running() && !pg_ctl_stop("fast") && !pg_ctl_stop("immediate")) kill9();
    }
  } catch (...) {
    // A destructor must not throw; the guardian below is not killed until the folder is gone anyway.
  }
  if (!root_.empty()) remove_tree(root_);
  // Only now: had we crashed above, the guardian would still have done this work.
  stop_guardian();
}

}  // namespace sk::test
