// Replaying the roles of a permission script, and undoing a replay. Roles are server-wide: a refresh
// that fails after its replay must leave them as they were, so the replay records the state of every
// role it touches first, in the same transaction.
#include <algorithm>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>
#include <soci/soci.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "sql/permscript.hpp"
#include "sql/postgres/pg_engine.hpp"
#include "sql/postgres/pg_session.hpp"
#include "sql/postgres/pg_sql.hpp"

namespace sk::sql {

namespace {
namespace q = pg::q;
const char* kMaintenanceDb = "postgres";
auto logger() { return log::get("sql"); }

q::Role role_from_row(const pg::Row& r) {
  auto flag = [&](int i) { return r[i].value_or("0") == "1"; };
  q::Role role;
  role.name = r[0].value_or("");
  role.superuser = flag(1);
  role.inherit = flag(2);
  role.createrole = flag(3);
  role.createdb = flag(4);
  role.login = flag(5);
  role.replication = flag(6);
  role.bypassrls = flag(7);
  role.connection_limit = std::stoi(r[8].value_or("-1"));
  role.password = r[9];
  role.valid_until = r[10];
  return role;
}

nlohmann::json role_json(const q::Role& r) {
  return {{"name", r.name},         {"superuser", r.superuser},   {"inherit", r.inherit},
          {"createrole", r.createrole}, {"createdb", r.createdb}, {"login", r.login},
          {"replication", r.replication}, {"bypassrls", r.bypassrls}, {"connection_limit", r.connection_limit},
          {"password", r.password ? nlohmann::json(*r.password) : nlohmann::json()},
          {"valid_until", r.valid_until ? nlohmann::json(*r.valid_until) : nlohmann::json()}};
}

q::Role role_of(const nlohmann::json& j) {
  q::Role r;
  r.name = j.at("name").get<std::string>();
  r.superuser = j.at("superuser").get<bool>();
  r.inherit = j.at("inherit").get<bool>();
  r.createrole = j.at("createrole").get<bool>();
  r.createdb = j.at("createdb").get<bool>();
  r.login = j.at("login").get<bool>();
  r.replication = j.at("replication").get<bool>();
  r.bypassrls = j.at("bypassrls").get<bool>();
  r.connection_limit = j.at("connection_limit").get<int>();
  if (!j.at("password").is_null()) r.password = j["password"].get<std::string>();
  if (!j.at("valid_until").is_null()) r.valid_until = j["valid_until"].get<std::string>();
  return r;
}

using MemberRow = std::tuple<std::string, std::string, bool>;  // role, member, admin

std::set<MemberRow> memberships(soci::session& s, const std::vector<std::string>& roles) {
  std::set<MemberRow> out;
  if (roles.empty()) return out;
  for (const auto& r : pg::query(s, q::memberships_touching(roles), "read memberships"))
    out.insert({r[0].value_or(""), r[1].value_or(""), r[2].value_or("0") == "1"});
  return out;
}

// Every role a statement names: the ones it creates or alters, and both sides of a membership.
std::vector<std::string> touched_roles(const std::vector<PermStatement>& stmts) {
  std::set<std::string> names;
  for (const auto& st : stmts) {
    if (!st.role.empty()) names.insert(st.role);
    names.insert(st.granted.begin(), st.granted.end());
    names.insert(st.members.begin(), st.members.end());
  }
  return {names.begin(), names.end()};
}
}  // namespace

RoleUndo PgEngine::replay_roles(const PermissionScript& script, const RoleReplay& how) {
  auto all = parse_permission_script(script.text);
  std::vector<PermStatement> stmts;
  std::vector<std::string> notes;
  if (how.replica) {
    stmts = restrict_for_replica(all, how.readers, &notes);
  } else {
    for (auto& st : all)
      if (st.kind == PermStatement::Kind::kCreateRole || st.kind == PermStatement::Kind::kAlterRole ||
          st.kind == PermStatement::Kind::kMembership)
        stmts.push_back(std::move(st));
  }
  auto s = open(kMaintenanceDb);
  // The role sitekeeper connects as, and the bootstrap superuser, are never in a captured script; a
  // script that names them would change the credentials sitekeeper itself depends on.
  const std::string self = pg::query_value(*s, q::kCurrentUser, "read current user").value_or("");
  const std::string boot = pg::query_value(*s, q::kBootstrapRole, "read bootstrap role").value_or("");
  for (const auto& st : stmts)
    if (st.role == self || st.role == boot ||
        std::find(st.members.begin(), st.members.end(), self) != st.members.end())
      throw Error("permission script line " + std::to_string(st.line) + ": names the role sitekeeper connects as (" +
                      (st.role.empty() ? self : st.role) + "); refused",
                  "a captured script never holds it; the script in the archive was changed");
  const auto names = touched_roles(stmts);

  int created = 0, altered = 0, members = 0;
  nlohmann::json undo = {{"roles", nlohmann::json::array()}, {"created", nlohmann::json::array()},
                         {"memberships", nlohmann::json::array()}};
  // One transaction: a statement that fails leaves every role as it was.
  pg::Transaction tx(*s, "replay roles");
  for (const auto& name : names) {
    auto rows = pg::query(*s, q::role_state(name), "read role " + name);
    if (!rows.empty()) undo["roles"].push_back(role_json(role_from_row(rows[0])));
  }
  for (const auto& [role, member, admin] : memberships(*s, names)) undo["memberships"].push_back({role, member, admin});
  for (const auto& st : stmts) {
    using K = PermStatement::Kind;
    if (st.kind == K::kCreateRole) {
      bool exists = pg::query_value(*s, q::role_exists(st.role), "look up role").has_value();
      pg::exec(*s, exists ? q::alter_role(st.role, st.options) : st.text,
               "replay role " + st.role + " (line " + std::to_string(st.line) + ")");
      if (!exists) undo["created"].push_back(st.role);
      ++(exists ? altered : created);
    } else if (st.kind == K::kAlterRole) {
      pg::exec(*s, st.text, "replay line " + std::to_string(st.line));
      ++altered;
    } else if (st.kind == K::kMembership) {
      pg::exec(*s, st.text, "replay membership (line " + std::to_string(st.line) + ")");
      ++members;
    }
  }
  undo["touched"] = names;
  tx.commit();
  for (const auto& n : notes) logger()->info("server {}: {}", server_.name, n);
  logger()->info("server {}: roles replayed{} ({} created, {} updated, {} memberships)", server_.name,
                 how.replica ? " under the replica policy" : "", created, altered, members);
  return RoleUndo{undo.dump()};
}

void PgEngine::undo_roles(const RoleUndo& undo) {
  if (undo.data.empty()) return;
  const auto j = nlohmann::json::parse(undo.data);
  const auto names = j.at("touched").get<std::vector<std::string>>();
  auto s = open(kMaintenanceDb);
  std::set<MemberRow> before;
  for (const auto& m : j.at("memberships")) before.insert({m[0].get<std::string>(), m[1].get<std::string>(), m[2].get<bool>()});
  {
    pg::Transaction tx(*s, "undo role replay");
    const auto now = memberships(*s, names);
    for (const auto& [role, member, admin] : now) {
      if (before.count({role, member, admin})) continue;
      const bool was_member = before.count({role, member, !admin}) > 0;
      // Only the admin option was added: take back just that.
      pg::exec(*s, q::revoke_role_statement({role, member, admin}, was_member && admin),
               "undo membership of " + member + " in " + role);
    }
    for (const auto& [role, member, admin] : before)
      if (!now.count({role, member, admin})) pg::exec(*s, q::grant_role_statement({role, member, admin}), "restore membership");
    for (const auto& r : j.at("roles")) pg::exec(*s, q::restore_role_statement(role_of(r)), "restore role");
    tx.commit();
  }
  // A created role may still own something or hold a grant somewhere: then it stays, unable to log in.
  std::string kept;
  for (const auto& name : j.at("created")) {
    const std::string n = name.get<std::string>();
    if (!pg::try_exec(*s, q::drop_role(n))) continue;
    if (pg::try_exec(*s, q::alter_role(n, "NOLOGIN"))) kept += (kept.empty() ? "" : ", ") + n;
    else logger()->warn("server {}: role {} created by a failed refresh is kept NOLOGIN (objects depend on it)",
                        server_.name, n);
  }
  if (!kept.empty()) throw Error("could not undo the creation of role(s) " + kept + " on " + server_.name);
  logger()->info("server {}: role replay undone ({} roles restored, {} created roles dropped)", server_.name,
                 j.at("roles").size(), j.at("created").size());
}

}  // namespace sk::sql
