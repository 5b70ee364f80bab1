#pragma once
// The status page (GET /): one HTML document for the help desk and the on-call operator, rendered
// here from the same JSON the API serves, so that it reads without JavaScript. Its script (/page.js)
// only re-fetches the page every few seconds and swaps the content in place, and says when the daemon
// stopped answering; the timeline and the lag plot are SVG drawn here, so there is one renderer.
//
// Every value from outside (server names, hosts, messages, backup ids) is HTML-escaped. The page
// loads nothing but /page.js and /page.css from the daemon itself; page_headers() forbids anything else
// (Content-Security-Policy), and no response is cached.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace sk::daemon {

struct PageData {
  nlohmann::json status;     // status_report()
  nlohmann::json history;    // recent runs, newest first (GET /history)
  nlohmann::json lag;        // standby lag samples, oldest first (GET /lag)
  nlohmann::json freshness;  // serving history, oldest first (GET /freshness)
  long long now_ms = 0;      // epoch milliseconds: the right edge of the timeline and the plot
};

// The windows the page draws; the daemon hands over at least that much data.
inline constexpr long long kLagWindowMs = 6LL * 3600 * 1000;
inline constexpr long long kFreshnessWindowMs = 14LL * 24 * 3600 * 1000;

// The whole document. Missing or mistyped fields render as empty, never throw.
std::string render_page(const PageData& data);

// & < > " ' as entities: safe in text and in quoted attribute values.
std::string html_escape(std::string_view text);

// The script and the style sheet the page loads, compiled into the binary.
const std::string& page_script();
const std::string& page_style();

// Content-Security-Policy, Cache-Control and friends, for the page and its two files.
std::vector<std::pair<std::string, std::string>> page_headers();

}  // namespace sk::daemon
