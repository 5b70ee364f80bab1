#pragma once
// The real etcd client: etcd's v3 JSON gateway (POST /v3/...) over HTTP/1.1 or HTTPS, synchronous,
// every call bounded in time. Tried in turn from the endpoint that answered last; an endpoint that
// refuses the connection, times out, has no leader or answers 503 passes the call to the next one, so a
// call never lasts much longer than timeout × endpoints (a host name is resolved by the system's
// resolver, which is not bounded: use addresses where that matters). A refusal that another member
// would repeat (wrong password, permission denied) throws at once.
//
// Never logs or puts into an error the password or the auth token.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "dcs/etcd.hpp"

namespace sk::dcs {

// One endpoint URL, "http://HOST:PORT" or "https://HOST:PORT" (HOST a name, an IPv4 address or an
// [IPv6] address; no user, path, query or trailing slash).
struct EtcdEndpoint {
  std::string url;   // as written
  bool tls = false;  // https
  std::string host;  // without the brackets of an IPv6 address
  unsigned short port = 0;
};
// Throws sk::ConfigError naming the URL and what is wrong with it.
EtcdEndpoint parse_endpoint(const std::string& url);

struct EtcdHttpOptions {
  std::vector<std::string> endpoints;            // at least one
  std::chrono::milliseconds timeout{2000};       // per endpoint tried: connect, authenticate, answer
  std::string user, password;                    // user empty: no authentication
  std::filesystem::path ca_file;                 // https: the CA that signed the servers' certificates
                                                 // (empty: the system's CAs); host names are verified
  std::filesystem::path cert_file, key_file;     // https: a client certificate, both or neither
};

class EtcdHttp : public Etcd {
 public:
  // Throws sk::ConfigError for a bad endpoint URL, no endpoint, a TLS file that cannot be loaded, or
  // cert_file without key_file. Connects lazily: no etcd is needed to construct it.
  explicit EtcdHttp(EtcdHttpOptions options);
  ~EtcdHttp() override;

  long long grant(std::chrono::seconds ttl) override;
  long long keepalive(long long lease) override;
  void revoke(long long lease) override;
  std::optional<KeyValue> get(const std::string& key) override;
  Range list(const std::string& prefix, long long min_mod_revision = 0) override;
  TxnResult txn(const std::vector<Compare>& when, const std::vector<Op>& then,
                const std::vector<Op>& otherwise = {}) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The client of the [dcs] section (endpoints, user and password, TLS files). REQUIRES: dcs.enabled().
std::unique_ptr<Etcd> make_etcd(const Config::Dcs& dcs, std::chrono::milliseconds timeout);

}  // namespace sk::dcs
