#include "dcs/etcd_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "dcs/etcd_json.hpp"

namespace sk::dcs {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// ----- endpoint URLs ----------------------------------------------------------------------------------------

TEST(EtcdEndpoint, ParsesHttpHttpsAndIpv6) {
  auto a = parse_endpoint("http://127.0.0.1:2379");
  EXPECT_FALSE(a.tls);
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 2379);
  EXPECT_EQ(a.url, "http://127.0.0.1:2379");
  auto b = parse_endpoint("https://etcd-1.site.example:32379");
  EXPECT_TRUE(b.tls);
  EXPECT_EQ(b.host, "etcd-1.site.example");
  EXPECT_EQ(b.port, 32379);
  auto c = parse_endpoint("http://[::1]:1");
  EXPECT_EQ(c.host, "::1");
  EXPECT_EQ(c.port, 1);
  EXPECT_EQ(parse_endpoint("http://h:65535").port, 65535);
}

TEST(EtcdEndpoint, RefusesWhatIsNotSchemeHostPort) {
  for (const char* bad : {"", "127.0.0.1:2379", "ftp://h:1", "HTTP://h:1", "http://", "http://h", "http://h:",
                          "http://:2379", "http://h:0", "http://h:65536", "http://h:123456", "http://h:12a",
                          "http://h:2379/", "http://h:2379/v3", "http://user@h:2379", "http://h:+1",
                          "http://h:2379?x=1", "http://[::1:2379", "http://[zz]:1", "http://[]:1", "http://[::1]",
                          "http://h h:1", " http://h:1", "http://h:1 "}) {
    try {
      parse_endpoint(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("etcd endpoint '" + std::string(bad) + "'"), std::string::npos) << e.what();
      EXPECT_NE(e.hint().find("http://HOST:PORT"), std::string::npos);
    }
  }
}

TEST(EtcdHttpClient, RefusesBadOptionsAtConstruction) {
  EXPECT_THROW(EtcdHttp(EtcdHttpOptions{}), ConfigError);
  EtcdHttpOptions o;
  o.endpoints = {"http://127.0.0.1:2379", "http://127.0.0.1"};
  EXPECT_THROW(EtcdHttp{o}, ConfigError);
  o.endpoints = {"https://127.0.0.1:2379"};
  o.cert_file = "/nonexistent/cert.pem";
  EXPECT_THROW(EtcdHttp{o}, ConfigError);  // without key_file
  o.key_file = "/nonexistent/key.pem";
  EXPECT_THROW(EtcdHttp{o}, ConfigError);  // cannot be loaded
  o = {};
  o.endpoints = {"https://127.0.0.1:2379"};
  o.ca_file = "/nonexistent/ca.pem";
  try {
    EtcdHttp client{o};
    ADD_FAILURE() << "accepted a missing ca_file";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/ca.pem"), std::string::npos) << e.what();
  }
}

// ----- prefix_end -------------------------------------------------------------------------------------------

TEST(PrefixEnd, RaisesTheLastByteBelow0xff) {
  EXPECT_EQ(prefix_end("/sk/a"), "/sk/b");
  EXPECT_EQ(prefix_end("/sk/"), "/sk0");
  EXPECT_EQ(prefix_end(std::string("a\xff\xff", 3)), "b");
  EXPECT_EQ(prefix_end(std::string("a\xfe\xff", 3)), std::string("a\xff", 2));
  EXPECT_EQ(prefix_end(""), std::string(1, '\0'));
  EXPECT_EQ(prefix_end(std::string("\xff\xff", 2)), std::string(1, '\0'));
}

// ----- JSON of the gateway ----------------------------------------------------------------------------------

TEST(EtcdJson, Base64RoundTripsEveryByte) {
  EXPECT_EQ(wire::base64_encode(""), "");
  EXPECT_EQ(wire::base64_encode("f"), "Zg==");
  EXPECT_EQ(wire::base64_encode("fo"), "Zm8=");
  EXPECT_EQ(wire::base64_encode("foo"), "Zm9v");
  EXPECT_EQ(wire::base64_encode("/sitekeeper/leader"), "L3NpdGVrZWVwZXIvbGVhZGVy");
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  for (size_t n = 0; n <= all.size(); n += 37) {
    const auto part = all.substr(0, n);
    EXPECT_EQ(wire::base64_decode(wire::base64_encode(part)), part) << n;
  }
  for (const char* bad : {"Zg=", "Z===", "Zm9v!A==", "=Zm9", "Zg==Zg==", "Zm=v"})
    EXPECT_THROW(wire::base64_decode(bad), Error) << bad;
}

TEST(EtcdJson, Int64FieldsAreStringsNumbersOrAbsent) {
  const json o = {{"a", "9223372036854775807"}, {"b", 12}, {"c", nullptr}, {"d", "12x"}, {"e", true}, {"f", ""}};
  EXPECT_EQ(wire::int64_field(o, "a"), 9223372036854775807LL);
  EXPECT_EQ(wire::int64_field(o, "b"), 12);
  EXPECT_EQ(wire::int64_field(o, "c"), 0);
  EXPECT_EQ(wire::int64_field(o, "absent"), 0);
  EXPECT_THROW(wire::int64_field(o, "d"), Error);
  EXPECT_THROW(wire::int64_field(o, "e"), Error);
  EXPECT_THROW(wire::int64_field(o, "f"), Error);
}

TEST(EtcdJson, RequestsCarryBase64AndInt64AsStrings) {
  EXPECT_EQ(wire::grant_request(10), json::parse(R"({"TTL":"10"})"));
  EXPECT_EQ(wire::lease_request(7587869371735932420LL), json::parse(R"({"ID":"7587869371735932420"})"));
  EXPECT_EQ(wire::range_request("foo", "", 0), json::parse(R"({"key":"Zm9v"})"));
  EXPECT_EQ(wire::range_request("/a/", prefix_end("/a/"), 42),
            json::parse(R"({"key":"L2Ev","range_end":"L2Ew","min_mod_revision":"42"})"));
  EXPECT_EQ(wire::authenticate_request("u", "p"), json::parse(R"({"name":"u","password":"p"})"));
}

TEST(EtcdJson, TxnEncodesEveryTargetResultAndOp) {
  std::vector<Compare> when(4);
  when[0] = {"k", Compare::Target::kCreateRevision, Compare::Result::kEqual, "", 0};
  when[1] = {"k", Compare::Target::kModRevision, Compare::Result::kLess, "", 9};
  when[2] = {"k", Compare::Target::kValue, Compare::Result::kNotEqual, "v", 0};
  when[3] = {"k", Compare::Target::kModRevision, Compare::Result::kGreater, "", 3};
  const std::vector<Op> then = {{Op::Kind::kPut, "k", "v", 77}, {Op::Kind::kPut, "n", "", 0}};
  const std::vector<Op> otherwise = {{Op::Kind::kDelete, "k", "", 0}, {Op::Kind::kDeletePrefix, "/p/", "", 0}};
  const json expected = json::parse(R"({
    "compare": [
      {"key":"aw==","target":"CREATE","result":"EQUAL","create_revision":"0"},
      {"key":"aw==","target":"MOD","result":"LESS","mod_revision":"9"},
      {"key":"aw==","target":"VALUE","result":"NOT_EQUAL","value":"dg=="},
      {"key":"aw==","target":"MOD","result":"GREATER","mod_revision":"3"}],
    "success": [
      {"request_put":{"key":"aw==","value":"dg==","lease":"77"}},
      {"request_put":{"key":"bg==","value":""}}],
    "failure": [
      {"request_delete_range":{"key":"aw=="}},
      {"request_delete_range":{"key":"L3Av","range_end":"L3Aw"}}]})");
  EXPECT_EQ(wire::txn_request(when, then, otherwise), expected);
  EXPECT_EQ(wire::txn_request({}, {}, {}), json::parse(R"({"compare":[],"success":[],"failure":[]})"));
}

TEST(EtcdJson, DecodesAnswersWithAbsentFieldsAsZero) {
  // As etcd 3.4.23 answers (copied from a real gateway).
  const auto range = wire::decode_range(json::parse(
      R"({"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"5","raft_term":"2"},
          "kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"4","version":"2","value":"YmFy","lease":"8"},
                 {"key":"Zm9w","create_revision":"3","mod_revision":"3","version":"1"}],"count":"2"})"));
  EXPECT_EQ(range.revision, 5);
  ASSERT_EQ(range.kvs.size(), 2u);
  EXPECT_EQ(range.kvs[0].key, "foo");
  EXPECT_EQ(range.kvs[0].value, "bar");
  EXPECT_EQ(range.kvs[0].create_revision, 2);
  EXPECT_EQ(range.kvs[0].mod_revision, 4);
  EXPECT_EQ(range.kvs[0].lease, 8);
  EXPECT_EQ(range.kvs[1].value, "");  // an empty value is absent
  EXPECT_EQ(range.kvs[1].lease, 0);
  EXPECT_TRUE(wire::decode_range(json::parse(R"({"header":{"revision":"2"}})")).kvs.empty());
  EXPECT_THROW(wire::decode_range(json::parse(R"({"kvs":{}})")), Error);
  EXPECT_THROW(wire::decode_range(json::parse("[]")), Error);

  EXPECT_TRUE(wire::decode_txn(json::parse(R"({"header":{"revision":"3"},"succeeded":true})")).succeeded);
  const auto failed = wire::decode_txn(json::parse(R"({"header":{"revision":"3"},"responses":[]})"));
  EXPECT_FALSE(failed.succeeded);
  EXPECT_EQ(failed.revision, 3);

  EXPECT_EQ(wire::decode_grant(json::parse(R"({"header":{},"ID":"2324035751456648709","TTL":"5"})")),
            2324035751456648709LL);
  EXPECT_THROW(wire::decode_grant(json::parse(R"({"header":{}})")), Error);
  EXPECT_EQ(wire::decode_keepalive(json::parse(R"({"result":{"header":{},"ID":"9","TTL":"5"}})")), 5);
  EXPECT_EQ(wire::decode_keepalive(json::parse(R"({"result":{"header":{},"ID":"9"}})")), 0);  // lease gone
  EXPECT_EQ(wire::decode_token(json::parse(R"({"header":{},"token":"qEhHIohZ.23"})")), "qEhHIohZ.23");
  EXPECT_THROW(wire::decode_token(json::parse(R"({"header":{}})")), Error);
}

TEST(EtcdJson, ReadsUnaryAndStreamErrors) {
  auto e = wire::gateway_error(json::parse(
      R"({"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5})"));
  EXPECT_EQ(e.code, wire::kGrpcNotFound);
  EXPECT_EQ(e.message, "etcdserver: requested lease not found");
  e = wire::gateway_error(json::parse(
      R"({"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}})"));
  EXPECT_EQ(e.code, wire::kGrpcUnavailable);
  EXPECT_EQ(e.message, "etcdserver: no leader");
  e = wire::gateway_error(json::parse(R"({"header":{"revision":"2"}})"));
  EXPECT_EQ(e.code, 0);
  EXPECT_TRUE(e.message.empty());
  EXPECT_FALSE(wire::gateway_error(json::parse(R"({"error":"x"})")).message.empty());
}

// ----- no etcd: the call fails in bounded time and says why ---------------------------------------------------

// A loopback port that accepts connections (the kernel completes them from the backlog) and never
// answers: a member that hangs.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("cannot listen on loopback");
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A loopback port nobody listens on (bound and closed again).
int closed_port() {
  SilentListener l;
  return l.port();
}

TEST(EtcdHttpClient, NamesEveryEndpointAndItsReasonWhenNoneAnswers) {
  SilentListener hung;
  const std::string refused = "http://127.0.0.1:" + std::to_string(closed_port());
  const std::string silent = "http://127.0.0.1:" + std::to_string(hung.port());
  EtcdHttpOptions o;
  o.endpoints = {refused, silent};
  o.timeout = 300ms;
  EtcdHttp client(o);
  const auto start = std::chrono::steady_clock::now();
  try {
    client.get("/sk/x");
    ADD_FAILURE() << "get returned without an etcd";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("etcd did not answer the get of /sk/x"), std::string::npos) << m;
    EXPECT_NE(m.find(refused + ": connection refused"), std::string::npos) << m;
    EXPECT_NE(m.find(silent + ": timed out after 300 ms"), std::string::npos) << m;
    EXPECT_FALSE(e.hint().empty());
  }
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, 2 * 300ms + 500ms);
  EXPECT_GE(took, 300ms);
}

TEST(EtcdHttpClient, NeverPutsThePasswordIntoAnError) {
  EtcdHttpOptions o;
  o.endpoints = {"http://127.0.0.1:" + std::to_string(closed_port())};
  o.user = "sitekeeper";
  o.password = "s3cret-pw";
  EtcdHttp client(o);
  try {
    client.grant(10s);
    ADD_FAILURE() << "grant returned without an etcd";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("s3cret-pw"), std::string::npos);
    EXPECT_EQ(e.hint().find("s3cret-pw"), std::string::npos);
  }
}

}  // namespace
}  // namespace sk::dcs
