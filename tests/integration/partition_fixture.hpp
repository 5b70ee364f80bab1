// A site with a standby whose servers run on machines of their own, for network-partition tests: the
// active cm1 in the NetLab's namespace A, the standby cm2 in namespace S, and the manager (the test and
// `sitekeeper run`) in the root namespace, so the manager<->active, manager<->standby and
// active<->standby links can each be cut alone (netlab.hpp). `standby init` runs on S and `rejoin` on
// A, because they start the postmaster there (StandbySite::run_on).
//
// The config: automatic failover, probe every 1 s with a 1 s timeout, 3 failures; an `[alerts]
// command` and a `[failover] fence` command, both small scripts the fixture writes, which append what
// they were called with to files the test reads; the daemon's HTTP API on a loopback port. The fence
// script stands for a power switch: it records the call, then kills the server's postmaster and its
// children (SIGKILL) and exits 0.
#pragma once
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "integration_support.hpp"
#include "netlab.hpp"
#include "pg_cluster.hpp"
#include "standby_fixture.hpp"

namespace sk::test {

struct PartitionSiteOptions {
  std::string max_lag = "16MB";  // [failover] max_lag
  std::string probe_interval = "1s";  // [failover] probe_interval (the benchmark's tuned case: "250ms")
  std::string probe_timeout = "1s";   // [failover] probe_timeout
};

// One call of the `[alerts] command`: its {job} and {message}.
struct AlertLine {
  std::string job, message;
};

// One call of the fence script.
struct FenceCall {
  double at = 0;                    // when it started, in seconds since the Unix epoch
  std::string server;               // its {server}
  std::string standby_in_recovery;  // pg_is_in_recovery() of the other server at that moment ("t"/"f")
};

class PartitionSite {
 public:
  explicit PartitionSite(PartitionSiteOptions o = {});
  ~PartitionSite();  // the daemon, then the servers, then the lab
  PartitionSite(const PartitionSite&) = delete;
  PartitionSite& operator=(const PartitionSite&) = delete;

  NetLab& lab() { return lab_; }
  StandbySite& site() { return site_; }
  PgCluster& active() { return site_.active(); }    // cm1, on the lab's active machine (namespace A)
  PgCluster& standby() { return site_.standby(); }  // cm2, on the lab's standby machine (namespace S)

  // `sitekeeper run` in the root namespace; returns once the HA loop says the active answers.
  void start_daemon();
  BackgroundProcess& daemon() { return *daemon_; }
  HttpReply get(const std::string& target) const;  // from the daemon's HTTP API

  std::vector<AlertLine> alerts() const;       // every alert so far, oldest first
  std::vector<FenceCall> fence_calls() const;  // every fence call so far, oldest first
  // The HA loop's decision sentences (it logs each once, when it changes) in the daemon's log from
  // byte `from` on, oldest first.
  std::vector<std::string> decisions(size_t from = 0) const;
  size_t log_size() const { return daemon_ ? daemon_->log().size() : 0; }
  // Any sign of a promotion: the standby out of recovery, a failover run of any outcome in the
  // history, or the daemon saying it promotes.
  bool promoted() const;

 private:
  void write_scripts() const;

  TempDir dir_{"/tmp/sk partition \xC3\xA9-"};  // the scripts and what they record; made first, removed last
  NetLab lab_;
  StandbySite site_;
  int http_port_ = 0;
  std::unique_ptr<BackgroundProcess> daemon_;
};

// Polls every 500 ms for at least `at_least` and at most `at_most`; stops after `at_least` once
// `wanted` has held. Exceptions from the predicates count as false, as in wait_until.
struct Watched {
  bool forbidden_seen = false;                 // `forbidden` held at some poll
  std::optional<std::chrono::milliseconds> wanted_after;  // since the start, the first poll where `wanted` held
};
Watched watch(std::chrono::milliseconds at_least, std::chrono::milliseconds at_most,
              const std::function<bool()>& forbidden, const std::function<bool()>& wanted = {});

}  // namespace sk::test
