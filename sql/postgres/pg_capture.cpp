// Permission script and server profile capture/replay for PostgreSQL.
#include <soci/soci.h>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "sql/permscript.hpp"
#include "sql/postgres/pg_engine.hpp"
#include "sql/postgres/pg_session.hpp"
#include "sql/postgres/pg_sql.hpp"

namespace sk::sql {

namespace {
namespace q = pg::q;

bool flag(const pg::Row& r, size_t i) { return r[i].value_or("0") == "1"; }
q::Privilege privilege(const pg::Row& r, size_t at) { return {r[at].value_or(""), r[at + 1].value_or(""), flag(r, at + 2)}; }
}  // namespace

PermissionScript PgEngine::capture_permissions(const std::string& db) {
  auto s = open(db);
  q::CapturedPermissions c;
  c.server = server_.name;
  c.database = db;
  c.captured_at = iso_utc(system_clock()->now());
  for (const auto& r : pg::query(*s, q::kRoles, "read roles"))
    c.roles.push_back(q::Role{r[0].value_or(""), flag(r, 1), flag(r, 2), flag(r, 3), flag(r, 4), flag(r, 5),
                              flag(r, 6), flag(r, 7), std::stoi(r[8].value_or("-1")), r[9], r[10]});
  for (const auto& r : pg::query(*s, q::kMemberships, "read memberships"))
    c.memberships.push_back(q::Membership{r[0].value_or(""), r[1].value_or(""), flag(r, 2)});
  for (const auto& r : pg::query(*s, q::kDatabaseGrants, "read database grants"))
    c.database_grants.push_back(privilege(r, 0));
  for (const auto& r : pg::query(*s, q::kObjectGrants, "read object grants"))
    c.object_grants.push_back(q::ObjectGrant{r[0].value_or(""), r[1], r[2].value_or(""), privilege(r, 3)});
  for (const auto& r : pg::query(*s, q::kDefaultPrivileges, "read default privileges"))
    c.default_privileges.push_back(q::DefaultPrivilege{r[0].value_or(""), r[1], r[2].value_or(""), privilege(r, 3)});
  PermissionScript script{q::permission_script(c)};
  parse_permission_script(script.text);  // never store a script that replay would refuse
  return script;
}

void PgEngine::replay_grants(const PermissionScript& script, const std::string& db) {
  auto stmts = parse_permission_script(script.text);
  auto s = open(db);
  // recover --from-replica replays the grants while the replica's database is still read-only by default.
  pg::exec(*s, q::kAllowWrites, "allow this session's own writes");
  int n = 0;
  pg::Transaction tx(*s, "replay grants");
  {
    for (const auto& st : stmts) {
      using K = PermStatement::Kind;
      std::string sql;
      if (st.kind == K::kDatabaseGrant) sql = retarget_database(st, db);
      else if (st.kind == K::kObjectGrant || st.kind == K::kDefaultPrivileges) sql = st.text;
      else continue;
      pg::exec(*s, sql, "replay grant (line " + std::to_string(st.line) + ")");
      ++n;
    }
    tx.commit();
  }
  log::get("sql")->info("server {}: {} grants replayed into {}", server_.name, n, db);
}

nlohmann::json PgEngine::capture_profile(const std::string& db) {
  auto s = open(db);
  nlohmann::json p;
  p["engine"] = "postgresql";
  p["server"] = server_.name;
  p["database"] = db;
  p["server_version"] = pg::query_value(*s, q::kServerVersion, "read version").value_or("");
  p["extensions"] = nlohmann::json::array();
  for (const auto& r : pg::query(*s, q::kExtensions, "read extensions"))
    p["extensions"].push_back({{"name", r[0].value_or("")}, {"version", r[1].value_or("")}});
  p["alter_system"] = nlohmann::json::object();
  for (const auto& r : pg::query(*s, q::kAlterSystem, "read ALTER SYSTEM settings"))
    p["alter_system"][r[0].value_or("")] = r[1].value_or("");
  p["settings"] = nlohmann::json::array();
  for (const auto& r : pg::query(*s, q::kDbRoleSettings, "read database and role settings"))
    p["settings"].push_back({{"role", r[0].value_or("")}, {"database", r[1].value_or("")},
                             {"setting", r[2].value_or("")}});
  p["hba"] = nlohmann::json::array();
  for (const auto& r : pg::query(*s, q::kHbaRules, "read pg_hba rules"))
    p["hba"].push_back({{"line", r[0].value_or("")}, {"type", r[1].value_or("")},
                        {"database", r[2].value_or("")}, {"user", r[3].value_or("")},
                        {"address", r[4].value_or("")}, {"netmask", r[5].value_or("")},
                        {"method", r[6].value_or("")}, {"options", r[7].value_or("")},
                        {"databases", nlohmann::json::parse(r[9].value_or("[]"))},
                        {"users", nlohmann::json::parse(r[10].value_or("[]"))},
                        {"option_list", nlohmann::json::parse(r[11].value_or("null"))}});
  return p;
}

}  // namespace sk::sql
