// profile_drift: what `check` reports about server settings a database backup does not carry.
#include "sql/profile.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace {

using nlohmann::json;
using sk::sql::profile_drift;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// A PostgreSQL profile in the shape PgEngine::capture_profile writes.
json pg_profile() {
  return json{
      {"engine", "postgresql"},
      {"server", "cm1"},
      {"database", "CM_CEN"},
      {"server_version", "PostgreSQL 15.8"},
      {"extensions", json::array({{{"name", "plpgsql"}, {"version", "1.0"}}, {{"name", "pg_trgm"}, {"version", "1.6"}}})},
      {"alter_system", {{"work_mem", "64MB"}, {"port", "5432"}, {"listen_addresses", "*"}}},
      {"settings", json::array({{{"role", ""}, {"database", "CM_CEN"}, {"setting", "search_path=dbo, public"}},
                                {{"role", "helpdesk"}, {"database", ""}, {"setting", "statement_timeout=30s"}}})},
      {"hba", json::array()},
  };
}

TEST(ProfileDrift, IdenticalProfilesHaveNoDrift) {
  EXPECT_THAT(profile_drift(pg_profile(), pg_profile()), IsEmpty());
  EXPECT_THAT(profile_drift(json::object(), json::object()), IsEmpty());
}

// Fields that describe the capture rather than the server never count as drift.
TEST(ProfileDrift, CaptureMetadataIsNotDrift) {
  json other = pg_profile();
  other["server"] = "hd1";
  other["server_version"] = "PostgreSQL 15.9";
  EXPECT_THAT(profile_drift(pg_profile(), other), IsEmpty());
}

struct DriftCase {
  std::string name;
  std::function<void(json& active, json& other)> change;
  std::vector<std::string> expected;
};

void PrintTo(const DriftCase& c, std::ostream* os) { *os << c.name; }

class Drift : public ::testing::TestWithParam<DriftCase> {};

TEST_P(Drift, Reports) {
  json active = pg_profile(), other = pg_profile();
  GetParam().change(active, other);
  EXPECT_THAT(profile_drift(active, other), ::testing::UnorderedElementsAreArray(GetParam().expected));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Drift,
    ::testing::Values(
        DriftCase{"ExtensionMissing",
                  [](json&, json& o) { o["extensions"] = json::array({{{"name", "plpgsql"}, {"version", "1.0"}}}); },
                  {"extension pg_trgm missing (active has 1.6)"}},
        DriftCase{"ExtensionOnlyOnOther",
                  [](json&, json& o) { o["extensions"].push_back({{"name", "hstore"}, {"version", "1.8"}}); },
                  {"extension hstore only here (1.8)"}},
        DriftCase{"ExtensionVersionDiffers",
                  [](json&, json& o) { o["extensions"][1]["version"] = "1.5"; },
                  {"extension pg_trgm: 1.5 here, 1.6 on active"}},
        DriftCase{"ExtensionOrderDoesNotMatter",
                  [](json&, json& o) {
                    o["extensions"] = json::array({{{"name", "pg_trgm"}, {"version", "1.6"}},
                                                   {{"name", "plpgsql"}, {"version", "1.0"}}});
                  },
                  {}},
        DriftCase{"NoExtensionsSection",
                  [](json&, json& o) { o.erase("extensions"); },
                  {"extension plpgsql missing (active has 1.0)", "extension pg_trgm missing (active has 1.6)"}},
        DriftCase{"AlterSystemDiffers",
                  [](json&, json& o) { o["alter_system"]["work_mem"] = "4MB"; },
                  {"ALTER SYSTEM work_mem: 4MB here, 64MB on active"}},
        DriftCase{"AlterSystemMissing",
                  [](json&, json& o) { o["alter_system"].erase("work_mem"); },
                  {"ALTER SYSTEM work_mem missing (active has 64MB)"}},
        DriftCase{"AlterSystemOnlyOnOther",
                  [](json&, json& o) { o["alter_system"]["shared_preload_libraries"] = "pg_stat_statements"; },
                  {"ALTER SYSTEM shared_preload_libraries only here (pg_stat_statements)"}},
        DriftCase{"AlterSystemNonStringValue",
                  [](json& a, json& o) {
                    a["alter_system"]["max_connections"] = 200;
                    o["alter_system"]["max_connections"] = 100;
                  },
                  {"ALTER SYSTEM max_connections: 100 here, 200 on active"}},
        // Settings that differ between roles on purpose.
        DriftCase{"PortIgnored",
                  [](json&, json& o) { o["alter_system"]["port"] = "5433"; }, {}},
        DriftCase{"PortOnlyOnOneSideIgnored",
                  [](json& a, json& o) {
                    a["alter_system"].erase("port");
                    o["alter_system"]["port"] = "5433";
                  },
                  {}},
        DriftCase{"ListenAddressesIgnored",
                  [](json&, json& o) { o["alter_system"]["listen_addresses"] = "127.0.0.1"; }, {}},
        DriftCase{"StandbyConninfoIgnored",
                  [](json&, json& o) {
                    o["alter_system"]["primary_conninfo"] = "host=cm1 port=5432 user=replicator";
                    o["alter_system"]["primary_slot_name"] = "cm2";
                  },
                  {}},
        DriftCase{"ReplicaReadOnlyDefaultIgnored",
                  [](json&, json& o) {
                    o["settings"].push_back(
                        {{"role", ""}, {"database", "CM_CEN"}, {"setting", "default_transaction_read_only=on"}});
                  },
                  {}},
        DriftCase{"ReadOnlyDefaultOffIsReported",
                  [](json& a, json&) {
                    a["settings"].push_back(
                        {{"role", ""}, {"database", "CM_CEN"}, {"setting", "default_transaction_read_only=off"}});
                  },
                  {"setting default_transaction_read_only missing (active has off)"}},
        DriftCase{"DatabaseSettingDiffers",
                  [](json&, json& o) { o["settings"][0]["setting"] = "search_path=public"; },
                  {"setting search_path: public here, dbo, public on active"}},
        DriftCase{"RoleSettingDiffers",
                  [](json&, json& o) { o["settings"][1]["setting"] = "statement_timeout=60s"; },
                  {"setting role helpdesk statement_timeout: 60s here, 30s on active"}},
        DriftCase{"RoleSettingMissing",
                  [](json&, json& o) { o["settings"].erase(1); },
                  {"setting role helpdesk statement_timeout missing (active has 30s)"}},
        DriftCase{"RoleSettingOnlyOnOther",
                  [](json&, json& o) {
                    o["settings"].push_back({{"role", "cm_owner"}, {"database", ""}, {"setting", "work_mem=1GB"}});
                  },
                  {"setting role cm_owner work_mem only here (1GB)"}},
        // The same parameter set for a role and for the database are two settings, not one.
        DriftCase{"RoleAndDatabaseSettingsAreDistinct",
                  [](json&, json& o) {
                    o["settings"] = json::array(
                        {{{"role", ""}, {"database", "CM_CEN"}, {"setting", "search_path=dbo, public"}},
                         {{"role", ""}, {"database", "CM_CEN"}, {"setting", "statement_timeout=30s"}}});
                  },
                  {"setting role helpdesk statement_timeout missing (active has 30s)",
                   "setting statement_timeout only here (30s)"}},
        DriftCase{"SettingValueWithEquals",
                  [](json& a, json& o) {
                    a["settings"].push_back({{"role", ""}, {"database", ""}, {"setting", "app.tag=a=b"}});
                    o["settings"].push_back({{"role", ""}, {"database", ""}, {"setting", "app.tag=a=c"}});
                  },
                  {"setting app.tag: a=c here, a=b on active"}},
        DriftCase{"SeveralAtOnce",
                  [](json&, json& o) {
                    o["extensions"][1]["version"] = "1.5";
                    o["alter_system"]["work_mem"] = "4MB";
                    o["settings"].erase(1);
                  },
                  {"extension pg_trgm: 1.5 here, 1.6 on active", "ALTER SYSTEM work_mem: 4MB here, 64MB on active",
                   "setting role helpdesk statement_timeout missing (active has 30s)"}}),
    [](const auto& info) { return info.param.name; });

// SQL Server and SQLite profiles carry flat "features" objects.
TEST(ProfileDrift, Features) {
  json active{{"engine", "sqlserver"},
              {"features", {{"clr enabled", "1"}, {"clr strict security", "1"}, {"trustworthy", true}}}};
  json other{{"engine", "sqlserver"}, {"features", {{"clr enabled", "0"}, {"trustworthy", false}, {"broker", "1"}}}};
  EXPECT_THAT(profile_drift(active, other),
              UnorderedElementsAre("feature clr enabled: 0 here, 1 on active",
                                   "feature clr strict security missing (active has 1)",
                                   "feature trustworthy: false here, true on active", "feature broker only here (1)"));
  EXPECT_THAT(profile_drift(active, active), IsEmpty());
}

// Drift is reported from the other server's point of view: swapping the arguments swaps the wording.
TEST(ProfileDrift, Direction) {
  json a = pg_profile(), b = pg_profile();
  b["extensions"].push_back({{"name", "hstore"}, {"version", "1.8"}});
  EXPECT_THAT(profile_drift(a, b), ElementsAre("extension hstore only here (1.8)"));
  EXPECT_THAT(profile_drift(b, a), ElementsAre("extension hstore missing (active has 1.8)"));
}

// pg_hba rules count by content: renumbered lines are not drift; a missing or extra rule is.
TEST(ProfileDrift, HbaRulesByContent) {
  auto rule = [](const char* line, const char* user, const char* method) {
    return json{{"line", line}, {"type", "host"}, {"database", "all"}, {"user", user},
                {"address", "127.0.0.1"}, {"netmask", "255.255.255.255"}, {"method", method}, {"options", ""}};
  };
  json active{{"hba", json::array({rule("88", "all", "scram-sha-256"), rule("90", "helpdesk", "scram-sha-256")})}};
  json renumbered{{"hba", json::array({rule("12", "all", "scram-sha-256"), rule("13", "helpdesk", "scram-sha-256")})}};
  EXPECT_THAT(profile_drift(active, renumbered), IsEmpty());
  json other{{"hba", json::array({rule("12", "all", "scram-sha-256"), rule("13", "helpdesk", "trust")})}};
  auto d = profile_drift(active, other);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_THAT(d, Contains(testing::HasSubstr("pg_hba rule 'host all helpdesk 127.0.0.1 255.255.255.255 scram-sha-256")));
  EXPECT_THAT(d, Contains(testing::HasSubstr("only here")));
}

}  // namespace
