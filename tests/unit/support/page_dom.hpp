#pragma once
// Reading the status page's HTML in tests (the unit tests of app/daemon/page.cpp and the browser test):
// the replicas table's row of one server.
#include <string>

namespace sk::test {

// The <tr ...>...</tr> of `name` in the replicas section of a page or a dumped DOM; "" when absent.
inline std::string replica_row(const std::string& html, const std::string& name) {
  const auto table = html.find("<section id=\"replicas\"");
  if (table == std::string::npos) return "";
  const auto at = html.find("data-server=\"" + name + "\"", table);
  if (at == std::string::npos) return "";
  const auto begin = html.rfind("<tr", at);
  return html.substr(begin, html.find("</tr>", at) - begin);
}

}  // namespace sk::test
