#pragma once
// The wire format of etcd's v3 JSON gateway (grpc-gateway over the v3 protobufs), apart from HTTP so
// that unit tests can check it without an etcd. Internal to dcs/: only etcd_http.cpp and its tests
// include it.
//
// proto3 JSON: bytes are base64, int64 travels as a JSON string (numbers are accepted too), and a
// field at its default (0, false, empty) is absent. The decoders therefore read an absent field as 0
// and throw sk::Error only for a body that is not the expected shape at all.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcs/etcd.hpp"

namespace sk::dcs::wire {

std::string base64_encode(const std::string& bytes);
// Throws sk::Error on a character outside the standard alphabet or a bad length.
std::string base64_decode(const std::string& text);

// An int64 field: absent or null → 0; a JSON string of digits or a JSON integer. Throws sk::Error
// otherwise.
long long int64_field(const nlohmann::json& object, const char* name);

// Request bodies.
nlohmann::json grant_request(long long ttl_seconds);
nlohmann::json lease_request(long long lease);  // keepalive and revoke: {"ID": "<lease>"}
// A linearizable range of [key, range_end) (range_end empty: the one key).
nlohmann::json range_request(const std::string& key, const std::string& range_end, long long min_mod_revision);
nlohmann::json txn_request(const std::vector<Compare>& when, const std::vector<Op>& then,
                           const std::vector<Op>& otherwise);
nlohmann::json authenticate_request(const std::string& user, const std::string& password);

// Answer bodies. A keepalive answer is a stream message: {"result": {...}} (or {"error": {...}},
// which gateway_error reads).
long long decode_grant(const nlohmann::json& body);      // the lease id; throws when it is absent
long long decode_keepalive(const nlohmann::json& body);  // the TTL granted; 0: the lease is gone
Range decode_range(const nlohmann::json& body);
TxnResult decode_txn(const nlohmann::json& body);
std::string decode_token(const nlohmann::json& body);  // throws when it is absent

// An error answer of the gateway: {"error": "...", "message": "...", "code": N} for a unary call,
// {"error": {"grpc_code": N, "message": "..."}} for a stream. code is the gRPC status code.
struct GatewayError {
  int code = 0;
  std::string message;
};
// The error the body carries; code 0 and an empty message when it carries none.
GatewayError gateway_error(const nlohmann::json& body);

// gRPC codes the client acts on.
inline constexpr int kGrpcNotFound = 5;
inline constexpr int kGrpcPermissionDenied = 7;
inline constexpr int kGrpcFailedPrecondition = 9;
inline constexpr int kGrpcUnavailable = 14;  // no leader, leader changed, request timed out
inline constexpr int kGrpcUnauthenticated = 16;  // invalid or expired auth token

}  // namespace sk::dcs::wire
