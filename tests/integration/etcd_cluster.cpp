#include "etcd_cluster.hpp"

#include <signal.h>
#include <unistd.h>

#include <map>
#include <random>

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace sk::test {

namespace fs = std::filesystem;

namespace {
std::string last(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(s.size() - n); }
}  // namespace

std::string EtcdCluster::missing() {
  for (const char* tool : {kEtcdBinary, kEtcdctlBinary})
    if (::access(tool, X_OK) != 0)
      return std::string(tool) + " is not installed (Debian: etcd-server and etcd-client; ./run.sh installs them)";
  return {};
}

EtcdCluster::EtcdCluster(EtcdClusterOptions options)
    : options_(std::move(options)), dir_((fs::temp_directory_path() / "sk-etcd-").string()) {
  if (options_.members < 1) throw std::invalid_argument("EtcdCluster: at least one member");
  if (!options_.hosts.empty() && static_cast<int>(options_.hosts.size()) != options_.members)
    throw std::invalid_argument("EtcdCluster: hosts must name every member's address");
  // A cluster token of its own: members of two clusters started side by side never join each other.
  token_ = "sk-test-" + std::to_string(std::random_device{}()) + "-" + std::to_string(::getpid());
  for (int i = 0; i < options_.members; ++i) {
    Member m;
    m.name = "m" + std::to_string(i);
    m.host = options_.hosts.empty() ? "127.0.0.1" : options_.hosts[i];
    m.client_port = free_port();
    m.peer_port = free_port();
    m.data = dir_ / m.name;
    m.log = dir_ / (m.name + ".log");
    members_.push_back(std::move(m));
  }
  for (int i = 0; i < size(); ++i) start(i);
  wait_healthy(options_.healthy_deadline);
}

EtcdCluster::~EtcdCluster() {
  for (int i = 0; i < size(); ++i) {
    try {
      kill(i);
    } catch (...) {  // a destructor must reach every member
    }
  }
}

std::vector<std::string> EtcdCluster::argv(int i) const {
  const auto& m = members_[i];
  const bool tls = !options_.cert_file.empty();
  const std::string client = std::string(tls ? "https://" : "http://") + m.host + ":" + std::to_string(m.client_port);
  const std::string peer = "http://" + m.host + ":" + std::to_string(m.peer_port);
  std::string initial;
  for (const auto& o : members_)
    initial += (initial.empty() ? "" : ",") + o.name + "=http://" + o.host + ":" + std::to_string(o.peer_port);
  std::vector<std::string> a = {kEtcdBinary,
                                "--name=" + m.name,
                                "--data-dir=" + m.data.string(),
                                "--listen-client-urls=" + client +
                                    (options_.also_client_host.empty()
                                         ? std::string()
                                         : "," + std::string(tls ? "https://" : "http://") +
                                               options_.also_client_host + ":" + std::to_string(m.client_port)),
                                "--advertise-client-urls=" + client,
                                "--listen-peer-urls=" + peer,
                                "--initial-advertise-peer-urls=" + peer,
                                "--initial-cluster=" + initial,
                                "--initial-cluster-state=new",
                                "--initial-cluster-token=" + token_,
                                // Elections in about a second, so that tests of a lost member are quick.
                                "--heartbeat-interval=100",
                                "--election-timeout=1000",
                                "--auto-compaction-mode=periodic",
                                "--auto-compaction-retention=1h",
                                "--logger=zap",
                                "--log-outputs=stderr"};
  if (tls) {
    a.push_back("--cert-file=" + options_.cert_file.string());
    a.push_back("--key-file=" + options_.key_file.string());
  }
  a.insert(a.end(), options_.extra_args.begin(), options_.extra_args.end());
  return a;
}

std::string EtcdCluster::endpoint(int i) const {
  const auto& m = members_.at(i);
  return std::string(options_.cert_file.empty() ? "http://" : "https://") + m.host + ":" +
         std::to_string(m.client_port);
}

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> out;
  for (int i = 0; i < size(); ++i) out.push_back(endpoint(i));
  return out;
}

std::vector<std::string> EtcdCluster::endpoints_on_also_host() const {
  if (options_.also_client_host.empty()) throw std::logic_error("EtcdCluster: no also_client_host was given");
  std::vector<std::string> out;
  for (const auto& m : members_)
    out.push_back(std::string(options_.cert_file.empty() ? "http://" : "https://") + options_.also_client_host + ":" +
                  std::to_string(m.client_port));
  return out;
}

std::vector<int> EtcdCluster::client_ports() const {
  std::vector<int> out;
  for (const auto& m : members_) out.push_back(m.client_port);
  return out;
}

void EtcdCluster::start(int i) {
  auto& m = members_.at(i);
  if (m.process && m.process->running()) return;
  m.process = std::make_unique<BackgroundProcess>(argv(i), m.log);
}

void EtcdCluster::kill(int i) {
  auto& m = members_.at(i);
  if (!m.process) return;
  m.process->signal(SIGKILL);
  if (!m.process->wait(30s)) throw std::runtime_error("etcd member " + m.name + " did not die of SIGKILL");
  m.process.reset();
}

void EtcdCluster::stop(int i) {
  auto& m = members_.at(i);
  if (!m.process) return;
  m.process->signal(SIGTERM);
  if (!m.process->wait(30s)) {
    kill(i);
    throw std::runtime_error("etcd member " + m.name + " did not stop within 30 s of SIGTERM");
  }
  m.process.reset();
}

bool EtcdCluster::is_running(int i) {
  auto& m = members_.at(i);
  return m.process && m.process->running();
}

std::vector<std::string> EtcdCluster::running_endpoints() {
  std::vector<std::string> out;
  for (int i = 0; i < size(); ++i)
    if (is_running(i)) out.push_back(endpoint(i));
  return out;
}

std::string EtcdCluster::etcdctl(const std::vector<std::string>& args, const std::string& user_password) {
  std::string list;
  for (const auto& e : running_endpoints()) list += (list.empty() ? "" : ",") + e;
  std::vector<std::string> a = {kEtcdctlBinary, "--endpoints=" + list, "--command-timeout=5s", "--dial-timeout=2s"};
  const std::string& user = user_password.empty() ? admin_ : user_password;
  if (!user.empty()) a.push_back("--user=" + user);
  if (!options_.ca_file.empty()) a.push_back("--cacert=" + options_.ca_file.string());
  a.insert(a.end(), args.begin(), args.end());
  std::string out, err;
  RunOptions ro;
  ro.timeout = 30s;
  const int rc = run_command(a, {{"ETCDCTL_API", "3"}}, &out, &err, ro);
  if (rc != 0) {
    std::string shown;
    for (const auto& arg : args) shown += " " + arg;
    throw std::runtime_error("etcdctl" + shown + " failed (exit " + std::to_string(rc) + "): " + last(out + err, 2000));
  }
  return out;
}

void EtcdCluster::wait_healthy(std::chrono::milliseconds deadline) {
  try {
    wait_until(
        [&] {
          for (int i = 0; i < size(); ++i)
            if (members_[i].process && !members_[i].process->running())
              throw std::runtime_error("etcd member " + members_[i].name + " exited");
          etcdctl({"endpoint", "health"});
          return true;
        },
        deadline, "every running etcd member answers a quorum read");
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(e.what()) + "\n" + logs());
  }
}

int EtcdCluster::leader() {
  // etcdctl prints the ids as JSON numbers beyond 2^53: read them as unsigned 64-bit integers.
  const auto status = nlohmann::json::parse(etcdctl({"endpoint", "status", "-w", "json"}));
  std::map<std::string, unsigned long long> id_of;  // endpoint → member id
  unsigned long long leader_id = 0;
  for (const auto& s : status) {
    id_of[s.at("Endpoint").get<std::string>()] = s.at("Status").at("header").at("member_id").get<unsigned long long>();
    const auto l = s.at("Status").at("leader").get<unsigned long long>();
    if (leader_id != 0 && l != leader_id) throw std::runtime_error("the etcd members name different leaders");
    leader_id = l;
  }
  for (int i = 0; i < size(); ++i)
    if (auto it = id_of.find(endpoint(i)); it != id_of.end() && it->second == leader_id) return i;
  throw std::runtime_error("no running etcd member is the leader");
}

std::string EtcdCluster::log(int i) const {
  std::string out;
  run_command({"cat", members_.at(i).log.string()}, {}, &out);
  return out;
}

std::string EtcdCluster::logs() const {
  std::string out;
  for (int i = 0; i < size(); ++i) out += "--- etcd " + members_[i].name + ":\n" + last(log(i), 3000) + "\n";
  return out;
}

}  // namespace sk::test
