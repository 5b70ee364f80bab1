// What the integration tests share beside the clusters and the sites: running a sitekeeper command
// line and reading its output, GoogleTest helpers for a daemon under test, a tiny HTTP client for its
// API, and TOML quoting for the configs the fixtures write.
#pragma once
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "pg_cluster.hpp"

namespace sk::test {

// How sitekeeper reaches `c` as the server `name`: over TCP as its superuser, with the password.
ServerConfig server_config(const PgCluster& c, const std::string& name);

struct CommandResult {
  int code = 0;
  std::string out, err;
};

// Runs argv (no shell) and captures its exit code and output.
CommandResult run_capture(const std::vector<std::string>& argv, const Environment& env = {},
                          std::chrono::milliseconds timeout = std::chrono::minutes(10));
// stdout of a `--json` run parsed; throws std::runtime_error with the exit code and both outputs when
// it is not JSON.
nlohmann::json parse_json(const CommandResult& r);

// A GoogleTest assertion: the command exited 0 (else its output is in the failure message). Call it
// through ASSERT_NO_FATAL_FAILURE to stop the test.
void expect_ok(const CommandResult& r, const std::string& what);

// The id of the newest generation folder in an archive ("" when there is none), complete or not.
std::string newest_generation(const std::filesystem::path& archive);

// The last n bytes of s, for failure messages.
std::string tail(const std::string& s, size_t n = 8000);
bool contains(const std::string& haystack, const std::string& needle);

// Prints a daemon's log when the test fails (an assertion or an escaping wait_until).
struct LogOnFailure {
  BackgroundProcess& p;
  ~LogOnFailure();
};

// Stops a daemon the way a service manager does and expects a clean exit (GoogleTest assertions).
void stop_daemon(BackgroundProcess& d);

struct HttpReply {
  int status = 0;
  std::string body;
  nlohmann::json json() const { return nlohmann::json::parse(body); }
};

// GET http://127.0.0.1:port<target>; throws std::runtime_error when the daemon does not answer, so
// that wait_until counts "not listening yet" as "not yet".
HttpReply http_get(int port, const std::string& target);
// The `[http]` table that makes a daemon listen on 127.0.0.1:port.
std::string http_section(int port);

// Runs the test `test` of this test binary in a child process whose environment names `report` in
// `report_var`, and expects it to die by SIGKILL, like a crashed test: no destructor runs there.
// Returns the lines the child wrote to the report; throws std::runtime_error when it did not die so.
std::vector<std::string> run_crash_child(const std::string& test, const std::string& report_var,
                                         const std::filesystem::path& report);

// A TOML basic string: quoted, with `"` and `\` escaped (paths with spaces and é pass as they are).
std::string toml_string(const std::string& s);
// A TOML array of basic strings, e.g. an argv for `[alerts] command`.
std::string toml_array(const std::vector<std::string>& items);

}  // namespace sk::test
