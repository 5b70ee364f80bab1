#include "dcs/etcd_json.hpp"

#include <array>
#include <cstdint>

#include "core/error.hpp"

namespace sk::dcs::wire {

using nlohmann::json;

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

[[noreturn]] void bad_answer(const std::string& what) {
  throw Error("etcd sent an answer sitekeeper cannot read: " + what,
              "sitekeeper speaks etcd's v3 JSON gateway (etcd 3.4 or later); check the [dcs] etcd endpoints");
}

const char* target_name(Compare::Target t) {
  switch (t) {
    case Compare::Target::kValue: return "VALUE";
    case Compare::Target::kCreateRevision: return "CREATE";
    case Compare::Target::kModRevision: return "MOD";
  }
  return "VALUE";
}

const char* result_name(Compare::Result r) {
  switch (r) {
    case Compare::Result::kEqual: return "EQUAL";
    case Compare::Result::kNotEqual: return "NOT_EQUAL";
    case Compare::Result::kGreater: return "GREATER";
    case Compare::Result::kLess: return "LESS";
  }
  return "EQUAL";
}

json request_op(const Op& op) {
  json body = {{"key", base64_encode(op.key)}};
  switch (op.kind) {
    case Op::Kind::kPut:
      body["value"] = base64_encode(op.value);
      if (op.lease != 0) body["lease"] = std::to_string(op.lease);
      return {{"request_put", body}};
    case Op::Kind::kDelete:
      return {{"request_delete_range", body}};
    case Op::Kind::kDeletePrefix:
      body["range_end"] = base64_encode(prefix_end(op.key));
      return {{"request_delete_range", body}};
  }
  return {};
}

json ops(const std::vector<Op>& list) {
  json out = json::array();
  for (const auto& op : list) out.push_back(request_op(op));
  return out;
}

const json& object_at(const json& body, const char* name) {
  static const json empty = json::object();
  if (!body.is_object()) bad_answer("not a JSON object");
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return empty;
  if (!it->is_object()) bad_answer(std::string("\"") + name + "\" is not an object");
  return *it;
}

std::string bytes_field(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return {};
  if (!it->is_string()) bad_answer(std::string("\"") + name + "\" is not a string");
  return base64_decode(it->get<std::string>());
}

long long header_revision(const json& body) { return int64_field(object_at(body, "header"), "revision"); }

}  // namespace

std::string base64_encode(const std::string& bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto byte = [&](size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(n >> shift) & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t n = byte(i) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    const std::uint32_t n = byte(i) << 16 | byte(i + 1) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string base64_decode(const std::string& text) {
  static const std::array<int, 256> value = [] {
    std::array<int, 256> v{};
    v.fill(-1);
    for (int k = 0; k < 64; ++k) v[static_cast<unsigned char>(kAlphabet[k])] = k;
    return v;
  }();
  if (text.size() % 4 != 0) bad_answer("base64 text of length " + std::to_string(text.size()));
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    int pad = 0;
    if (i + 4 == text.size() && text[i + 3] == '=') pad = text[i + 2] == '=' ? 2 : 1;
    std::uint32_t n = 0;
    for (size_t k = 0; k < 4; ++k) {
      const int v = k < 4 - static_cast<size_t>(pad) ? value[static_cast<unsigned char>(text[i + k])] : 0;
      if (v < 0) bad_answer("a character outside base64 in a key or value");
      n = n << 6 | static_cast<std::uint32_t>(v);
    }
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

long long int64_field(const json& object, const char* name) {
  if (!object.is_object()) return 0;
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<long long>();
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(s, &used, 10);
    } catch (const std::exception&) {
      used = 0;
    }
    if (!s.empty() && used == s.size()) return v;
  }
  bad_answer(std::string("\"") + name + "\" is not an int64");
}

json grant_request(long long ttl_seconds) { return {{"TTL", std::to_string(ttl_seconds)}}; }

json lease_request(long long lease) { return {{"ID", std::to_string(lease)}}; }

json range_request(const std::string& key, const std::string& range_end, long long min_mod_revision) {
  json body = {{"key", base64_encode(key)}};
  if (!range_end.empty()) body["range_end"] = base64_encode(range_end);
  if (min_mod_revision > 0) body["min_mod_revision"] = std::to_string(min_mod_revision);
  // serializable stays absent (false): a read must go through the leader's quorum, so that a member
  // cut off from the majority fails rather than answering with what it last knew.
  return body;
}

json txn_request(const std::vector<Compare>& when, const std::vector<Op>& then, const std::vector<Op>& otherwise) {
  json compare = json::array();
  for (const auto& c : when) {
    json one = {{"key", base64_encode(c.key)}, {"target", target_name(c.target)}, {"result", result_name(c.result)}};
    switch (c.target) {
      case Compare::Target::kValue: one["value"] = base64_encode(c.value); break;
      case Compare::Target::kCreateRevision: one["create_revision"] = std::to_string(c.revision); break;
      case Compare::Target::kModRevision: one["mod_revision"] = std::to_string(c.revision); break;
    }
    compare.push_back(std::move(one));
  }
  return {{"compare", compare}, {"success", ops(then)}, {"failure", ops(otherwise)}};
}

json authenticate_request(const std::string& user, const std::string& password) {
  return {{"name", user}, {"password", password}};
}

long long decode_grant(const json& body) {
  const long long id = int64_field(body, "ID");
  if (id == 0) bad_answer("a lease grant without an ID");
  return id;
}

long long decode_keepalive(const json& body) { return int64_field(object_at(body, "result"), "TTL"); }

Range decode_range(const json& body) {
  Range r;
  r.revision = header_revision(body);
  auto it = body.find("kvs");
  if (it == body.end() || it->is_null()) return r;
  if (!it->is_array()) bad_answer("\"kvs\" is not an array");
  for (const auto& item : *it) {
    if (!item.is_object()) bad_answer("an item of \"kvs\" is not an object");
    KeyValue kv;
    kv.key = bytes_field(item, "key");
    kv.value = bytes_field(item, "value");
    kv.create_revision = int64_field(item, "create_revision");
    kv.mod_revision = int64_field(item, "mod_revision");
    kv.lease = int64_field(item, "lease");
    r.kvs.push_back(std::move(kv));
  }
  return r;
}

TxnResult decode_txn(const json& body) {
  TxnResult t;
  t.revision = header_revision(body);
  auto it = body.find("succeeded");
  if (it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) bad_answer("\"succeeded\" is not a boolean");
    t.succeeded = it->get<bool>();
  }
  return t;
}

std::string decode_token(const json& body) {
  auto it = body.is_object() ? body.find("token") : body.end();
  if (it == body.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
    bad_answer("an authentication answer without a token");
  return it->get<std::string>();
}

GatewayError gateway_error(const json& body) {
  GatewayError e;
  if (!body.is_object()) return e;
  auto it = body.find("error");
  if (it == body.end() || it->is_null()) return e;
  const auto text = [](const json& v) { return v.is_string() ? v.get<std::string>() : std::string(); };
  const auto number = [](const json& v) { return v.is_number_integer() ? v.get<int>() : 0; };
  if (it->is_object()) {  // a stream's error (lease keepalive)
    e.code = it->contains("grpc_code") ? number((*it)["grpc_code"]) : 0;
    e.message = it->contains("message") ? text((*it)["message"]) : std::string();
  } else {
    e.code = body.contains("code") ? number(body["code"]) : 0;
    e.message = body.contains("message") ? text(body["message"]) : text(*it);
  }
  if (e.message.empty()) e.message = "etcd error (code " + std::to_string(e.code) + ")";
  return e;
}

}  // namespace sk::dcs::wire
