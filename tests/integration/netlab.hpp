// Test harness: real network partitions between the manager and two server machines, made of network
// namespaces, veth pairs and nftables drop rules, so that failover tests cut links the way a switch or
// a dead machine does: silently (drop, never reject: no RST, no ICMP), one link at a time.
//
//   root namespace: the manager (the test, `sitekeeper run`)
//     |-- link manager_active (veth) --> namespace A: the active server, 10.77.N.1 on its lo
//     |-- link manager_standby (veth) -> namespace S: the standby server, 10.77.N.2 on its lo
//   namespace A <-- link active_standby (veth) --> namespace S   (the replication link)
//
// The manager reaches each server over its own link, and the standby reaches the active over the
// direct one, so each of the three links can be cut alone. Nothing forwards between links (forwarding
// is off in a new namespace, and no namespace has a route over another's link). Traffic goes only to
// addresses inside the namespaces the lab made: 10.77.N.0/24, where N is claimed per lab by a lock on
// byte N of one shared lock file, so labs of test processes that run side by side (ctest -j2) never
// share addresses.
//
// Like PgCluster, independent of GoogleTest and of sitekeeper's libraries; failures throw
// std::runtime_error.
//
// Lifetime: the destructor removes everything the lab made (processes still inside its namespaces are
// killed, then the veth pairs, routes, nft tables and namespaces go). Labs are also in the atexit sweep
// (clean_up_at_exit), and each has a guardian process that does the same when this process dies without
// running destructors (crash, abort, SIGKILL from a ctest timeout). Destroy the servers that run inside
// a lab before the lab (declare the lab first).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pg_cluster.hpp"

namespace sk::test {

// The machines of a lab. The manager is this process's own (root) namespace.
enum class Host { manager, active, standby };

// The three links; each can be cut on its own.
enum class Link { manager_active, manager_standby, active_standby };

// What a TCP connection attempt between two machines of a lab came to.
enum class Reach {
  connected,  // the handshake completed
  silent,     // no answer at all within the timeout: what a cut looks like
  refused,    // an RST or an ICMP error came back: a cut must never look like this
};

const char* to_string(Host h);
const char* to_string(Link l);
const char* to_string(Reach r);

class NetLab {
 public:
  // Why no lab can be made in this process (not root, no CAP_SYS_ADMIN, `ip` or `nft` missing, the
  // kernel refuses a namespace or an nft table), or nullopt when it can. Found out once per process by
  // making and removing a probe namespace; tests GTEST_SKIP() with this text.
  static std::optional<std::string> unavailable();

  // Makes the namespaces, veth pairs, addresses, routes and an empty nft table in each server
  // namespace. Throws std::runtime_error naming the failed command, after removing what it made.
  NetLab();
  ~NetLab();
  NetLab(const NetLab&) = delete;
  NetLab& operator=(const NetLab&) = delete;

  // The namespace's name ("sk<pid>n<k>a", "sk<pid>n<k>s"); "" for the manager.
  const std::string& netns(Host h) const;
  // The machine's address: for a server its service address on its own lo (10.77.N.1, 10.77.N.2); for
  // the manager its end of the link to the active.
  std::string address(Host h) const;
  // "10.77.N.0/24": every address of this lab (for pg_hba).
  std::string subnet() const;
  // argv run on machine h: prefixed with `ip netns exec NS` (unchanged for the manager).
  std::vector<std::string> exec_in(Host h, std::vector<std::string> argv) const;

  // Silent cuts, in the server namespaces' own nft tables (inet family, input and output chains):
  // every packet on the link is dropped both ways. Idempotent; heal undoes.
  void cut(Link l);
  void heal(Link l);
  // The server drops everything in and out except its own loopback: a silent machine death (its
  // processes still run; kill them to complete the picture).
  void isolate(Host server);
  void heal(Host server);  // undoes isolate; cut links stay cut
  void heal_all();  // also undoes cut_ports
  // A cut of some services only: the server's machine silently drops every TCP packet to or from these
  // remote ports (output by destination port, input by source port), whatever the link, while the
  // rest of its traffic flows (e.g. a manager cut from etcd's client ports that still reaches the
  // database servers). Replaces the ports cut before on that machine; heal_ports undoes.
  void cut_ports(Host server, std::set<int> tcp_ports);
  void heal_ports(Host server);

  // Runs fn on a short-lived thread that joined machine h's namespace, so the sockets fn makes live
  // there (e.g. http_get of a daemon that listens on that machine's loopback). Rethrows what fn throws.
  void run_in(Host h, const std::function<void()>& fn) const;

  // Opens a throw-away listener on `to`'s address and connects to it from inside `from`.
  Reach probe(Host from, Host to, std::chrono::milliseconds timeout = std::chrono::seconds(2)) const;
  // Packets the server's cuts and isolation have dropped so far, both ways: proof that a cut met traffic.
  std::uint64_t dropped(Host server) const;
  // The processes inside a server's namespace (the postmaster and its children, sitekeeper commands).
  std::vector<pid_t> pids(Host server) const;

 private:
  void claim_subnet();
  void build();
  void apply_rules(Host server);      // rewrites the server's nft chains from cut_ and isolated_
  std::string ruleset(Host server) const;
  std::string device(Host on, Host toward) const;  // the veth end on `on` that leads to `toward`
  std::string address_toward(Host to, Host from) const;  // where `from` reaches `to`
  void cleanup() noexcept;            // idempotent: processes, links, namespaces, guardian, atexit sweep

  std::string prefix_;                // "sk<pid>n<k>": namespaces and devices are named from it
  std::string ns_active_, ns_standby_, none_;
  int subnet_ = -1;                   // the N of 10.77.N.0/24
  int lock_fd_ = -1;                  // holds the lock on byte N of the shared lock file
  std::set<Link> cut_;
  std::set<Host> isolated_;
  std::map<Host, std::set<int>> cut_ports_;
  Guardian guardian_;
  int exit_id_ = -1;                  // in the atexit sweep until cleanup()
  bool cleaned_ = false;
};

}  // namespace sk::test
