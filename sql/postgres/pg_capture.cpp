// Permission script and server profile capture/replay for PostgreSQL.
#include <map>
#include <tuple>
#include <sstream>

#include <soci/soci.h>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "sql/ident.hpp"
#include "sql/permscript.hpp"
#include "sql/postgres/pg_engine.hpp"
#include "sql/postgres/pg_queries.hpp"
#include "sql/postgres/pg_session.hpp"

namespace sk::sql {

namespace {
const char* kMaintenanceDb = "postgres";

std::string grantee(const std::string& g) { return g == "PUBLIC" ? g : quote_ident(g); }

std::string object_ref(const std::string& kind, const std::optional<std::string>& nsp, const std::string& name) {
  if (kind == "SCHEMA") return "SCHEMA " + quote_ident(name);
  if (kind == "FUNCTION") {
    auto paren = name.find('(');
    return "FUNCTION " + quote_ident(nsp.value_or("")) + "." + quote_ident(name.substr(0, paren)) +
           name.substr(paren);
  }
  return kind + " " + quote_ident(nsp.value_or("")) + "." + quote_ident(name);
}

const char* default_acl_kind(const std::string& t) {
  if (t == "r") return "TABLES";
  if (t == "S") return "SEQUENCES";
  if (t == "f") return "FUNCTIONS";
  if (t == "T") return "TYPES";
  return "SCHEMAS";
}

// Groups rows of (key..., privilege, grantee, grantable) into one GRANT per key/grantee/grantable.
struct GrantKey {
  std::string target, grantee;
  bool grantable;
  bool operator<(const GrantKey& o) const {
    return std::tie(target, grantee, grantable) < std::tie(o.target, o.grantee, o.grantable);
  }
};
}  // namespace

PermissionScript PgEngine::capture_permissions(const std::string& db) {
  auto s = open(db);
  std::ostringstream out;
  out << "-- sitekeeper permission script\n"
      << "-- server " << server_.name << ", database " << db << ", captured " << iso_utc(system_clock()->now())
      << "\n-- Replay accepts only CREATE/ALTER ROLE, GRANT, REVOKE and ALTER DEFAULT PRIVILEGES.\n"
      << "-- The bootstrap superuser and the capturing user are left out on purpose.\n\n-- roles\n";
  for (const auto& r : pg::query(*s, pg::q::kRoles, "read roles")) {
    auto flag = [&](int i, const char* yes, const char* no) { return r[i].value_or("0") == "1" ? yes : no; };
    out << "CREATE ROLE " << quote_ident(r[0].value_or("")) << " WITH " << flag(1, "SUPERUSER", "NOSUPERUSER")
        << " " << flag(2, "INHERIT", "NOINHERIT") << " " << flag(3, "CREATEROLE", "NOCREATEROLE") << " "
        << flag(4, "CREATEDB", "NOCREATEDB") << " " << flag(5, "LOGIN", "NOLOGIN") << " "
        << flag(6, "REPLICATION", "NOREPLICATION") << " " << flag(7, "BYPASSRLS", "NOBYPASSRLS")
        << " CONNECTION LIMIT " << r[8].value_or("-1") << " PASSWORD "
        << (r[9] ? quote_literal(*r[9]) : std::string("NULL"));
    if (r[10]) out << " VALID UNTIL " << quote_literal(*r[10]);
    out << ";\n";
  }
  out << "\n-- memberships\n";
  for (const auto& r : pg::query(*s, pg::q::kMemberships, "read memberships"))
    out << "GRANT " << quote_ident(r[0].value_or("")) << " TO " << quote_ident(r[1].value_or(""))
        << (r[2].value_or("0") == "1" ? " WITH ADMIN OPTION" : "") << ";\n";

  std::map<GrantKey, std::vector<std::string>> grants;
  for (const auto& r : pg::query(*s, pg::q::kDatabaseGrants, "read database grants"))
    grants[GrantKey{"DATABASE " + quote_ident(db), r[1].value_or(""), r[2].value_or("0") == "1"}]
        .push_back(r[0].value_or(""));
  for (const auto& r : pg::query(*s, pg::q::kObjectGrants, "read object grants"))
    grants[GrantKey{object_ref(r[0].value_or(""), r[1], r[2].value_or("")), r[4].value_or(""), r[5].value_or("0") == "1"}]
        .push_back(r[3].value_or(""));
  out << "\n-- database and object grants\n";
  for (const auto& [k, privs] : grants) {
    std::string list;
    for (const auto& p : privs) list += (list.empty() ? "" : ", ") + p;
    out << "GRANT " << list << " ON " << k.target << " TO " << grantee(k.grantee)
        << (k.grantable ? " WITH GRANT OPTION" : "") << ";\n";
  }
  out << "\n-- default privileges\n";
  std::map<GrantKey, std::vector<std::string>> defaults;
  for (const auto& r : pg::query(*s, pg::q::kDefaultPrivileges, "read default privileges")) {
    std::string target = "FOR ROLE " + quote_ident(r[0].value_or("")) +
                         (r[1] ? " IN SCHEMA " + quote_ident(*r[1]) : std::string()) + " GRANT %s ON " +
                         default_acl_kind(r[2].value_or(""));
    defaults[GrantKey{target, r[4].value_or(""), r[5].value_or("0") == "1"}].push_back(r[3].value_or(""));
  }
  for (const auto& [k, privs] : defaults) {
    std::string list;
    for (const auto& p : privs) list += (list.empty() ? "" : ", ") + p;
    std::string t = k.target;
    t.replace(t.find("%s"), 2, list);
    out << "ALTER DEFAULT PRIVILEGES " << t << " TO " << grantee(k.grantee)
        << (k.grantable ? " WITH GRANT OPTION" : "") << ";\n";
  }
  PermissionScript script{out.str()};
  parse_permission_script(script.text);  // never store a script that replay would refuse
  return script;
}

void PgEngine::replay_roles(const PermissionScript& script) {
  auto stmts = parse_permission_script(script.text);
  auto s = open(kMaintenanceDb);
  int created = 0, altered = 0, members = 0;
  // One transaction: a statement that fails leaves every role as it was.
  pg::Transaction tx(*s, "replay roles");
  {
    for (const auto& st : stmts) {
      using K = PermStatement::Kind;
      if (st.kind == K::kCreateRole) {
        bool exists = pg::query_value(*s, std::string(pg::q::kRoleExists) + quote_literal(st.role), "look up role")
                          .has_value();
        pg::exec(*s, exists ? "ALTER ROLE " + quote_ident(st.role) + " " + st.options : st.text,
                 "replay role " + st.role + " (line " + std::to_string(st.line) + ")");
        ++(exists ? altered : created);
      } else if (st.kind == K::kAlterRole) {
        pg::exec(*s, st.text, "replay line " + std::to_string(st.line));
        ++altered;
      } else if (st.kind == K::kMembership) {
        pg::exec(*s, st.text, "replay membership (line " + std::to_string(st.line) + ")");
        ++members;
      }
    }
    tx.commit();
  }
  log::get("sql")->info("server {}: roles replayed ({} created, {} updated, {} memberships)", server_.name,
                        created, altered, members);
}

void PgEngine::replay_grants(const PermissionScript& script, const std::string& db) {
  auto stmts = parse_permission_script(script.text);
  auto s = open(db);
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
  p["server_version"] = pg::query_value(*s, pg::q::kServerVersion, "read version").value_or("");
  p["extensions"] = nlohmann::json::array();
  for (const auto& r : pg::query(*s, pg::q::kExtensions, "read extensions"))
    p["extensions"].push_back({{"name", r[0].value_or("")}, {"version", r[1].value_or("")}});
  p["alter_system"] = nlohmann::json::object();
  for (const auto& r : pg::query(*s, pg::q::kAlterSystem, "read ALTER SYSTEM settings"))
    p["alter_system"][r[0].value_or("")] = r[1].value_or("");
  p["settings"] = nlohmann::json::array();
  for (const auto& r : pg::query(*s, pg::q::kDbRoleSettings, "read database and role settings"))
    p["settings"].push_back({{"role", r[0].value_or("")}, {"database", r[1].value_or("")},
                             {"setting", r[2].value_or("")}});
  p["hba"] = nlohmann::json::array();
  for (const auto& r : pg::query(*s, pg::q::kHbaRules, "read pg_hba rules"))
    p["hba"].push_back({{"line", r[0].value_or("")}, {"type", r[1].value_or("")},
                        {"database", r[2].value_or("")}, {"user", r[3].value_or("")},
                        {"address", r[4].value_or("")}, {"netmask", r[5].value_or("")},
                        {"method", r[6].value_or("")}, {"options", r[7].value_or("")}});
  return p;
}

}  // namespace sk::sql
