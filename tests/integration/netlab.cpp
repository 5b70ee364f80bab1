// Implementation notes
// - Every change to the network is one `ip` or `nft` command run through run_command (argv, no
//   shell), so a failure names the exact command and its stderr.
// - A namespace switch (setns) is per thread for network namespaces: probe() makes its sockets on a
//   short-lived thread that joined the namespace, and the sockets stay there after the thread is gone.
#include "netlab.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace sk::test {
using Clock = std::chrono::steady_clock;

namespace {

// The one table the lab owns in each server namespace; the namespace is the lab's, so the name can be fixed.
constexpr const char* kTable = "sknetlab";

// Labs of all test processes take their subnet N by an exclusive lock on byte N of this file (an open
// file description lock: per lab, released by the kernel when the process dies). It is the rendezvous
// point of every lab on the machine, so it stays; it is empty.
constexpr const char* kLockFile = "/tmp/sk-netlab.lock";

std::string nft_path() {
  for (const char* p : {"/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft", "/bin/nft"})
    if (::access(p, X_OK) == 0) return p;
  return "";
}

std::string ip() {
  const std::string p = ip_path();
  return p.empty() ? "ip" : p;
}

struct Outcome {
  int code = 0;
  std::string out, err;
};

Outcome run(const std::vector<std::string>& argv, const std::string& input = "") {
  Outcome o;
  RunOptions ro;
  ro.input = input;
  ro.timeout = std::chrono::seconds(30);
  o.code = run_command(argv, {}, &o.out, &o.err, ro);
  return o;
}

std::string shown(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

void run_checked(const std::vector<std::string>& argv, const std::string& input = "") {
  auto o = run(argv, input);
  if (o.code != 0)
    throw std::runtime_error("netlab: `" + shown(argv) + "` failed (exit " + std::to_string(o.code) + "): " + o.err +
                             o.out);
}

// Runs fn on a thread that joined `netns` ("" = this thread's namespace), so the sockets fn makes live there.
int on_namespace(const std::string& netns, const std::function<int()>& fn) {
  if (netns.empty()) return fn();
  int result = -1;
  std::exception_ptr error;
  std::thread t([&] {
    try {
      const std::string path = "/run/netns/" + netns;
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) throw std::runtime_error("netlab: open " + path + ": " + std::strerror(errno));
      const int rc = ::setns(fd, CLONE_NEWNET);
      const int saved = errno;
      ::close(fd);
      if (rc != 0) throw std::runtime_error("netlab: setns " + netns + ": " + std::strerror(saved));
      result = fn();
    } catch (...) {
      error = std::current_exception();
    }
  });
  t.join();
  if (error) std::rethrow_exception(error);
  return result;
}

sockaddr_in ipv4(const std::string& address, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, address.c_str(), &a.sin_addr) != 1)
    throw std::runtime_error("netlab: not an IPv4 address: " + address);
  return a;
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Runs in a process of its own (setsid). End-of-file on stdin means the test process is gone without
// cleaning up. The clusters' guardians shut their servers down at the same moment: give them a few
// seconds, then kill whatever is still inside the namespaces, and remove links and namespaces.
// $1 = ip, $2 $3 = the namespaces, $4 $5 = the root ends of the veth pairs.
constexpr const char* kGuardianScript = R"SH(
cat >/dev/null 2>&1
ip="$1"
i=0
while [ $i -lt 100 ] && [ -n "$("$ip" netns pids "$2" 2>/dev/null)$("$ip" netns pids "$3" 2>/dev/null)" ]; do
  sleep 0.1; i=$((i+1))
done
for ns in "$2" "$3"; do
  for pid in $("$ip" netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
done
"$ip" link del "$4" 2>/dev/null
"$ip" link del "$5" 2>/dev/null
"$ip" netns del "$2" 2>/dev/null
"$ip" netns del "$3" 2>/dev/null
)SH";

}  // namespace

// In the enums' order.
const char* to_string(Host h) { return std::array{"manager", "active", "standby"}.at(static_cast<size_t>(h)); }
const char* to_string(Link l) {
  return std::array{"manager<->active", "manager<->standby", "active<->standby"}.at(static_cast<size_t>(l));
}
const char* to_string(Reach r) { return std::array{"connected", "silent", "refused"}.at(static_cast<size_t>(r)); }

// ===== availability ===========================================================================================

std::optional<std::string> NetLab::unavailable() {
  static const std::optional<std::string> why = []() -> std::optional<std::string> {
    if (!running_as_root())
      return "network namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN); this test process is not root";
    if (ip_path().empty()) return "`ip` (iproute2) is not installed: apt-get install iproute2";
    if (nft_path().empty()) return "`nft` is not installed: apt-get install nftables";
    const std::string probe = "sk" + std::to_string(::getpid()) + "probe";
    auto made = run({ip(), "netns", "add", probe});
    if (made.code != 0) return "cannot make a network namespace (`ip netns add` failed: " + made.err + ")";
    auto table = run(in_netns(probe, {nft_path(), "add", "table", "inet", kTable}));
    auto lo = run({ip(), "-n", probe, "link", "set", "lo", "up"});
    run({ip(), "netns", "del", probe});
    if (table.code != 0)
      return "nftables does not work in a network namespace (`nft add table` failed: " + table.err + ")";
    if (lo.code != 0) return "cannot configure a network namespace (`ip link set lo up` failed: " + lo.err + ")";
    return std::nullopt;
  }();
  return why;
}

// ===== construction and removal ===============================================================================

NetLab::NetLab() {
  if (auto why = unavailable()) throw std::runtime_error("netlab: " + *why);
  static std::atomic<int> counter{0};
  prefix_ = "sk" + std::to_string(::getpid()) + "n" + std::to_string(counter++);
  ns_active_ = prefix_ + "a";
  ns_standby_ = prefix_ + "s";
  exit_id_ = clean_up_at_exit([this] { cleanup(); });
  try {
    // Watching before anything exists: a crash half-way through build() leaves nothing either.
    guardian_ = start_guardian(kGuardianScript, "sk-netlab-guardian",
                               {ip(), ns_active_, ns_standby_, device(Host::manager, Host::active),
                                device(Host::manager, Host::standby)});
    claim_subnet();
    build();
  } catch (...) {
    cleanup();
    throw;
  }
}

NetLab::~NetLab() { cleanup(); }

void NetLab::claim_subnet() {
  lock_fd_ = ::open(kLockFile, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) throw std::runtime_error(std::string("netlab: open ") + kLockFile + ": " + std::strerror(errno));
  // Start at a point of our own, so that labs of parallel processes rarely even try the same N.
  const int start = static_cast<int>(::getpid() % 254);
  for (int i = 0; i < 254; ++i) {
    const int n = 1 + (start + i) % 254;
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = n;
    fl.l_len = 1;
    if (::fcntl(lock_fd_, F_OFD_SETLK, &fl) != 0) continue;
    // A lab whose process and guardian both died uncleanly may have left its routes: never share them.
    auto used = run({ip(), "-4", "-o", "route", "show", "root", "10.77." + std::to_string(n) + ".0/24"});
    if (used.code == 0 && used.out.empty()) {
      subnet_ = n;
      return;
    }
    fl.l_type = F_UNLCK;
    ::fcntl(lock_fd_, F_OFD_SETLK, &fl);
  }
  throw std::runtime_error("netlab: every subnet 10.77.1-254.0/24 is in use");
}

// Addresses of lab N: service addresses .1 (active) and .2 (standby) on the servers' lo; one /30 per
// link: manager-active .4/30 (manager .5, active .6), manager-standby .8/30 (manager .9, standby .10),
// active-standby .12/30 (active .13, standby .14).
void NetLab::build() {
  const std::string net = "10.77." + std::to_string(subnet_) + ".";
  const std::string ma = device(Host::manager, Host::active), am = device(Host::active, Host::manager);
  const std::string ms = device(Host::manager, Host::standby), sm = device(Host::standby, Host::manager);
  const std::string as = device(Host::active, Host::standby), sa = device(Host::standby, Host::active);
  const std::string& A = ns_active_;
  const std::string& S = ns_standby_;
  const std::vector<std::vector<std::string>> steps = {
      {ip(), "netns", "add", A},
      {ip(), "netns", "add", S},
      {ip(), "link", "add", ma, "type", "veth", "peer", "name", am, "netns", A},
      {ip(), "link", "add", ms, "type", "veth", "peer", "name", sm, "netns", S},
      {ip(), "-n", A, "link", "add", as, "type", "veth", "peer", "name", sa, "netns", S},
      {ip(), "-n", A, "link", "set", "lo", "up"},
      {ip(), "-n", S, "link", "set", "lo", "up"},
      {ip(), "-n", A, "addr", "add", net + "1/32", "dev", "lo"},
      {ip(), "-n", S, "addr", "add", net + "2/32", "dev", "lo"},
      {ip(), "addr", "add", net + "5/30", "dev", ma},
      {ip(), "-n", A, "addr", "add", net + "6/30", "dev", am},
      {ip(), "addr", "add", net + "9/30", "dev", ms},
      {ip(), "-n", S, "addr", "add", net + "10/30", "dev", sm},
      {ip(), "-n", A, "addr", "add", net + "13/30", "dev", as},
      {ip(), "-n", S, "addr", "add", net + "14/30", "dev", sa},
      {ip(), "link", "set", ma, "up"},
      {ip(), "link", "set", ms, "up"},
      {ip(), "-n", A, "link", "set", am, "up"},
      {ip(), "-n", A, "link", "set", as, "up"},
      {ip(), "-n", S, "link", "set", sm, "up"},
      {ip(), "-n", S, "link", "set", sa, "up"},
      // The manager reaches each server over its own link...
      {ip(), "route", "add", net + "1/32", "via", net + "6", "dev", ma},
      {ip(), "route", "add", net + "2/32", "via", net + "10", "dev", ms},
      // ...and the servers reach each other over the direct one, from their service addresses (so the
      // active sees replication come from 10.77.N.2, as from a real standby machine).
      {ip(), "-n", A, "route", "add", net + "2/32", "via", net + "14", "dev", as, "src", net + "1"},
      {ip(), "-n", S, "route", "add", net + "1/32", "via", net + "13", "dev", sa, "src", net + "2"},
  };
  for (const auto& argv : steps) run_checked(argv);
  apply_rules(Host::active);
  apply_rules(Host::standby);
}

void NetLab::cleanup() noexcept {
  if (cleaned_) return;
  cleaned_ = true;
  forget_at_exit(exit_id_);
  try {
    // Servers are stopped by their owners before the lab goes; what is left is killed, because a
    // namespace with a process inside outlives `ip netns del`, and so would its links.
    for (Host h : {Host::active, Host::standby}) {
      auto left = pids(h);
      for (pid_t p : left) ::kill(p, SIGKILL);
      const auto deadline = Clock::now() + std::chrono::seconds(10);
      while (!pids(h).empty() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  } catch (...) {
    // A destructor must not throw; the guardian below is not dismissed until the rest is done anyway.
  }
  // Deleting one end of a veth pair deletes both, and the routes over it go with the device.
  for (Host h : {Host::active, Host::standby}) run({ip(), "link", "del", device(Host::manager, h)});
  for (const auto* ns : {&ns_active_, &ns_standby_})
    if (!ns->empty()) run({ip(), "netns", "del", *ns});
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the subnet
  lock_fd_ = -1;
  // Only now: had we crashed above, the guardian would still have done this work.
  dismiss_guardian(guardian_);
}

// ===== names and addresses ====================================================================================

const std::string& NetLab::netns(Host h) const {
  switch (h) {
    case Host::active: return ns_active_;
    case Host::standby: return ns_standby_;
    case Host::manager: break;
  }
  return none_;
}

std::string NetLab::address(Host h) const {
  return address_toward(h, h == Host::manager ? Host::active : Host::manager);
}

std::string NetLab::address_toward(Host to, Host from) const {
  const std::string net = "10.77." + std::to_string(subnet_) + ".";
  if (to == Host::active) return net + "1";
  if (to == Host::standby) return net + "2";
  return net + (from == Host::standby ? "9" : "5");  // the manager's end of the link from `from`
}

std::string NetLab::subnet() const { return "10.77." + std::to_string(subnet_) + ".0/24"; }

std::vector<std::string> NetLab::exec_in(Host h, std::vector<std::string> argv) const {
  return in_netns(netns(h), std::move(argv));
}

std::string NetLab::device(Host on, Host toward) const {
  auto letter = [](Host h) { return h == Host::manager ? "r" : h == Host::active ? "a" : "s"; };
  return prefix_ + letter(on) + letter(toward);  // at most 15 bytes: "sk" + 7-digit pid + "n" + k + 2
}

// ===== cuts ===================================================================================================

void NetLab::cut(Link l) {
  cut_.insert(l);
  apply_rules(Host::active);
  apply_rules(Host::standby);
}

void NetLab::heal(Link l) {
  cut_.erase(l);
  apply_rules(Host::active);
  apply_rules(Host::standby);
}

void NetLab::isolate(Host server) {
  if (server == Host::manager) throw std::invalid_argument("netlab: isolate() takes a server, not the manager");
  isolated_.insert(server);
  apply_rules(server);
}

void NetLab::heal(Host server) {
  isolated_.erase(server);
  apply_rules(server);
}

void NetLab::heal_all() {
  cut_.clear();
  isolated_.clear();
  cut_ports_.clear();
  apply_rules(Host::active);
  apply_rules(Host::standby);
}

void NetLab::cut_ports(Host server, std::set<int> tcp_ports) {
  if (server == Host::manager) throw std::invalid_argument("netlab: cut_ports() takes a server, not the manager");
  cut_ports_[server] = std::move(tcp_ports);
  apply_rules(server);
}

void NetLab::heal_ports(Host server) {
  cut_ports_.erase(server);
  if (server != Host::manager) apply_rules(server);
}

void NetLab::run_in(Host h, const std::function<void()>& fn) const {
  on_namespace(netns(h), [&] {
    fn();
    return 0;
  });
}

// One nft transaction replaces both chains, so a rule set is never half applied; the named counter
// outlives the flushes. Drop, never reject: the other side must hear nothing at all.
std::string NetLab::ruleset(Host server) const {
  std::vector<std::string> devices;
  auto link_dev = [&](Link l) -> std::optional<std::string> {
    switch (l) {
      case Link::manager_active:
        if (server == Host::active) return device(Host::active, Host::manager);
        break;
      case Link::manager_standby:
        if (server == Host::standby) return device(Host::standby, Host::manager);
        break;
      case Link::active_standby:
        return device(server, server == Host::active ? Host::standby : Host::active);
    }
    return std::nullopt;
  };
  for (Link l : cut_)
    if (auto d = link_dev(l)) devices.push_back(*d);
  const bool isolated = isolated_.count(server) > 0;
  const std::string t = std::string("inet ") + kTable;
  std::ostringstream r;
  r << "table " << t << " {\n  counter dropped { }\n"
    << "  chain input { type filter hook input priority 0; policy accept; }\n"
    << "  chain output { type filter hook output priority 0; policy accept; }\n}\n"
    << "flush chain " << t << " input\nflush chain " << t << " output\n";
  for (const auto& [chain, dir] : {std::pair{"input", "iifname"}, std::pair{"output", "oifname"}}) {
    if (isolated)
      r << "add rule " << t << " " << chain << " " << dir << " \"lo\" accept\n"
        << "add rule " << t << " " << chain << " counter name \"dropped\" drop\n";
    for (const auto& d : devices)
      r << "add rule " << t << " " << chain << " " << dir << " \"" << d << "\" counter name \"dropped\" drop\n";
    if (auto p = cut_ports_.find(server); p != cut_ports_.end() && !p->second.empty()) {
      std::string set;
      for (int port : p->second) set += (set.empty() ? "" : ", ") + std::to_string(port);
      r << "add rule " << t << " " << chain << " tcp " << (dir == std::string("oifname") ? "dport" : "sport") << " { "
        << set << " } counter name \"dropped\" drop\n";
    }
  }
  return r.str();
}

void NetLab::apply_rules(Host server) {
  const std::string rules = ruleset(server);
  run_checked(exec_in(server, {nft_path(), "-f", "-"}), rules);
}

// ===== observation ============================================================================================

Reach NetLab::probe(Host from, Host to, std::chrono::milliseconds timeout) const {
  if (from == to) throw std::invalid_argument("netlab: probe() needs two machines");
  const std::string address = address_toward(to, from);
  Fd listener{on_namespace(netns(to), [&] {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = ipv4(address, 0);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0) {
      const int saved = errno;
      if (fd >= 0) ::close(fd);
      throw std::runtime_error("netlab: cannot listen on " + address + " in " + to_string(to) + ": " +
                               std::strerror(saved));
    }
    return fd;
  })};
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  ::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&bound), &len);
  const int port = ntohs(bound.sin_port);
  Fd client{on_namespace(netns(from), [] { return ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0); })};
  if (client.fd < 0) throw std::runtime_error(std::string("netlab: socket: ") + std::strerror(errno));
  sockaddr_in target = ipv4(address, port);
  if (::connect(client.fd, reinterpret_cast<sockaddr*>(&target), sizeof target) == 0) return Reach::connected;
  if (errno != EINPROGRESS) return errno == EPERM ? Reach::silent : Reach::refused;  // EPERM: our own drop
  pollfd p{client.fd, POLLOUT, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return Reach::silent;
  int error = 0;
  socklen_t elen = sizeof error;
  ::getsockopt(client.fd, SOL_SOCKET, SO_ERROR, &error, &elen);
  if (error == 0) return Reach::connected;
  return error == EPERM ? Reach::silent : Reach::refused;
}

std::uint64_t NetLab::dropped(Host server) const {
  auto r = run(exec_in(server, {nft_path(), "list", "counter", "inet", kTable, "dropped"}));
  const auto at = r.out.find("packets ");
  if (r.code != 0 || at == std::string::npos)
    throw std::runtime_error("netlab: cannot read the drop counter of " + netns(server) + ": " + r.err);
  return std::stoull(r.out.substr(at + 8));
}

std::vector<pid_t> NetLab::pids(Host server) const {
  std::vector<pid_t> out;
  const std::string& ns = netns(server);
  if (ns.empty()) return out;
  auto r = run({ip(), "netns", "pids", ns});
  std::istringstream in(r.out);
  for (long p; in >> p;) out.push_back(static_cast<pid_t>(p));
  return out;
}

}  // namespace sk::test
