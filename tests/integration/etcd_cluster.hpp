// Test harness: a real etcd cluster (Debian's etcd-server, /usr/bin/etcd) of N members in a throw-away
// folder, each on free ports, with settings that make elections take about a second. Like pg_cluster.hpp
// it does not use sitekeeper's libraries (the client under test must not help its own test) and reports
// problems by throwing std::runtime_error.
//
// Every member is SIGKILLed and the folder removed by the destructor, and by the process helpers'
// parent-death signal and guardian when the test process dies without running it.
#pragma once
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "pg_cluster.hpp"

namespace sk::test {

inline constexpr const char* kEtcdBinary = "/usr/bin/etcd";
inline constexpr const char* kEtcdctlBinary = "/usr/bin/etcdctl";

struct EtcdClusterOptions {
  int members = 3;
  // The address member i listens on, for clients and peers (default 127.0.0.1 for all). An address in
  // a network namespace needs the member started inside it (not done here).
  std::vector<std::string> hosts;
  // One more address every member takes clients on, with the same client port (e.g. the root end of a
  // NetLab veth, for a client in a namespace); "" for none. Peers and advertised URLs stay on `hosts`.
  std::string also_client_host;
  // Both set: clients reach every member over https with this certificate (peers stay on http).
  std::filesystem::path cert_file, key_file;
  std::filesystem::path ca_file;  // the CA etcdctl checks that certificate with
  std::vector<std::string> extra_args;  // added to every member's command line
  std::chrono::milliseconds healthy_deadline = std::chrono::seconds(60);
};

class EtcdCluster {
 public:
  // "" when /usr/bin/etcd and /usr/bin/etcdctl exist, else what is missing (for GTEST_SKIP).
  static std::string missing();

  // Starts every member and waits until each answers a quorum read.
  explicit EtcdCluster(EtcdClusterOptions options = {});
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  int size() const { return static_cast<int>(members_.size()); }
  std::string endpoint(int i) const;  // http(s)://HOST:CLIENT_PORT
  std::vector<std::string> endpoints() const;
  // The same endpoints on options.also_client_host, the client ports (for nft rules that cut them).
  std::vector<std::string> endpoints_on_also_host() const;
  std::vector<int> client_ports() const;

  void kill(int i);   // SIGKILL, then reaped
  void stop(int i);   // SIGTERM, waits for the exit
  void start(int i);  // again, with the data it had
  bool is_running(int i);

  // Until every running member answers a quorum read (etcdctl endpoint health), or throws with the
  // members' logs after `deadline`.
  void wait_healthy(std::chrono::milliseconds deadline = std::chrono::seconds(60));

  // etcdctl against the running members (with --user when user_password is "user:password"); throws
  // with its output when it fails. Returns stdout.
  std::string etcdctl(const std::vector<std::string>& args, const std::string& user_password = "");
  // "user:password" for etcdctl's calls without one, wait_healthy's among them, once a test enabled
  // authentication.
  void set_admin(const std::string& user_password) { admin_ = user_password; }

  // The index of the member the running members call their leader; throws when they do not agree on
  // one (wait_healthy first).
  int leader();

  std::string log(int i) const;
  std::string logs() const;  // every member's log tail, for failure messages
  const std::filesystem::path& root() const { return dir_.path(); }

 private:
  struct Member {
    std::string name, host;
    int client_port = 0, peer_port = 0;
    std::filesystem::path data, log;
    std::unique_ptr<BackgroundProcess> process;
  };
  std::vector<std::string> argv(int i) const;
  std::vector<std::string> running_endpoints();

  EtcdClusterOptions options_;
  TempDir dir_;
  std::string token_;
  std::string admin_;
  std::vector<Member> members_;
};

}  // namespace sk::test
