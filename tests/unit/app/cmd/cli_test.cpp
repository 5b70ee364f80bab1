// The command table without running main: --help and the man page name every command, its example
// and every exit code; a mistyped command is named with the nearest one; global options stand before
// or after the command; --version; the --json documents of success, failure and refusal; check-config.
#include "app/cmd/cli.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace sk::cli {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The roff spelling of a plain string (hyphens are minus signs there).
std::string roff_of(std::string s) {
  std::string r;
  for (char c : s) r += c == '-' ? std::string("\\-") : std::string(1, c);
  return r;
}

std::vector<CommandInfo> visible() {
  std::vector<CommandInfo> v;
  for (const auto& c : command_table())
    if (!c.hidden) v.push_back(c);
  return v;
}

TEST(CliTable, EveryCommandHasASummaryAndAnExampleThatRunsIt) {
  ASSERT_GE(visible().size(), 18u);
  for (const auto& c : command_table()) {
    EXPECT_FALSE(c.summary.empty()) << c.name;
    EXPECT_EQ(c.example.rfind("sitekeeper ", 0), 0u) << c.name << ": " << c.example;
    EXPECT_TRUE(std::regex_search(c.example, std::regex("(^| )" + c.name + "( |$)"))) << c.name << ": " << c.example;
  }
}

TEST(CliHelp, NamesEveryCommandItsExampleAndEveryExitCode) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--help"}, {"-h"}}) {
    Parsed p = parse(args);
    EXPECT_EQ(p.exit_code, 0);
    EXPECT_TRUE(p.command.empty());
    for (const auto& c : visible()) {
      EXPECT_TRUE(std::regex_search(p.out, std::regex("\n  " + c.name + " +[a-z]"))) << c.name << "\n" << p.out;
      EXPECT_TRUE(contains(p.out, "  " + c.example + "\n")) << c.example;
    }
    ASSERT_EQ(exit_codes().size(), 4u);
    for (const auto& e : exit_codes()) EXPECT_TRUE(contains(p.out, "  " + std::to_string(e.code) + "  " + e.meaning));
    EXPECT_FALSE(contains(p.out, "  man ")) << "the man command is hidden";
  }
}

TEST(CliHelp, EachCommandsHelpHasItsExampleAndTheExitCodes) {
  for (const auto& c : visible()) {
    for (const std::vector<std::string>& args : {std::vector<std::string>{c.name, "--help"}, {"--json", c.name, "-h"}}) {
      Parsed p = parse(args);
      EXPECT_EQ(p.exit_code, 0) << c.name;
      EXPECT_TRUE(contains(p.out, "Usage: sitekeeper " + c.name)) << p.out;
      EXPECT_TRUE(contains(p.out, "Example:\n  " + c.example + "\n")) << p.out;
      for (const auto& e : exit_codes()) EXPECT_TRUE(contains(p.out, std::to_string(e.code) + "  " + e.meaning)) << c.name;
    }
  }
}

TEST(CliMan, NamesEveryCommandItsOptionsItsExampleAndEveryExitCode) {
  const std::string m = man_page();
  EXPECT_EQ(m.rfind(".TH SITEKEEPER 1 ", 0), 0u);
  for (const char* section : {".SH NAME\n", ".SH SYNOPSIS\n", ".SH DESCRIPTION\n", ".SH GLOBAL OPTIONS\n",
                              ".SH COMMANDS\n", ".SH EXIT STATUS\n", ".SH ENVIRONMENT\n", ".SH SEE ALSO\n"})
    EXPECT_TRUE(contains(m, section)) << section;
  for (const auto& c : visible()) {
    EXPECT_TRUE(contains(m, ".SS \"" + roff_of(c.name))) << c.name;
    EXPECT_TRUE(contains(m, roff_of(c.example) + "\n")) << c.example;
  }
  for (const auto& e : exit_codes()) EXPECT_TRUE(contains(m, ".B " + std::to_string(e.code) + "\n" + roff_of(e.meaning)));
  for (const char* opt : {"\\-\\-config", "\\-\\-log\\-level", "\\-\\-json", "\\-\\-version", "\\-\\-deep", "\\-\\-plan",
                          "\\-\\-yes", "\\-\\-old\\-active\\-is\\-down", "\\-\\-replica", "\\-\\-limit", "\\-\\-force"})
    EXPECT_TRUE(contains(m, "\\fB" + std::string(opt) + "\\fR")) << opt;
  EXPECT_FALSE(contains(m, ".SS \"man")) << "the man command is hidden";
  EXPECT_TRUE(contains(m, "sitekeeper " + version()));
  // roff: no text line starts with a control character it did not mean.
  std::istringstream lines(m);
  for (std::string l; std::getline(lines, l);) {
    if (!l.empty() && (l[0] == '.' || l[0] == '\'')) {
      EXPECT_TRUE(std::regex_match(l, std::regex(R"(\.(TH|nh|SH|SS|TP|PP|RS|RE|nf|fi|B|BR|I)( .*)?)"))) << l;
    }
  }
}

// groff, where it is installed, reads the page without a warning.
TEST(CliMan, GroffReadsItWithoutWarnings) {
  if (std::system("command -v groff >/dev/null 2>&1") != 0) GTEST_SKIP() << "groff is not installed";
  char tmpl[] = "/tmp/sk-man-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(tmpl) << man_page();
  const std::string cmd = std::string("groff -man -Tutf8 -ww -z '") + tmpl + "' 2>&1";
  std::string warnings;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[512];
    while (size_t n = std::fread(buf, 1, sizeof buf, p)) warnings.append(buf, n);
    EXPECT_EQ(::pclose(p), 0);
  }
  fs::remove(tmpl);
  EXPECT_EQ(warnings, "");
}

struct Typo {
  const char* typed;
  const char* meant;  // "" when nothing is near
};

class CliTypo : public ::testing::TestWithParam<Typo> {};

TEST_P(CliTypo, IsNamedWithTheNearestCommand) {
  const Typo& t = GetParam();
  Parsed p = parse({t.typed});
  EXPECT_EQ(p.exit_code, 2);
  EXPECT_TRUE(p.command.empty());
  EXPECT_EQ(p.out, "");
  const std::string hint = *t.meant ? "HINT: did you mean \"" + std::string(t.meant) + "\"?\n"
                                    : "HINT: see 'sitekeeper --help' for the commands\n";
  EXPECT_EQ(p.err, "error: unknown command \"" + std::string(t.typed) + "\"\n" + hint);
  EXPECT_EQ(nearest_command(t.typed), t.meant);
}

INSTANTIATE_TEST_SUITE_P(Rows, CliTypo,
                         ::testing::Values(Typo{"statsu", "status"}, Typo{"stauts", "status"}, Typo{"statu", "status"}, Typo{"histroy", "history"},
                                           Typo{"hist", "history"}, Typo{"chekc", "check"},
                                           Typo{"check-confg", "check-config"}, Typo{"failovr", "failover"},
                                           Typo{"swtichover", "switchover"}, Typo{"rotatekey", "rotate-key"},
                                           Typo{"standy", "standby"}, Typo{"resum", "resume"}, Typo{"xyzzy", ""},
                                           Typo{"postgresql", ""}),
                         [](const auto& info) {
                           std::string n = info.param.typed;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(CliTypo, WithJsonIsADocument) {
  Parsed p = parse({"stauts", "--json"});
  EXPECT_EQ(p.exit_code, 2);
  auto j = nlohmann::json::parse(p.out);
  EXPECT_EQ(j, (nlohmann::json{{"ok", false}, {"exit_code", 2}, {"error", "unknown command \"stauts\""},
                               {"hint", "did you mean \"status\"?"}}));
  EXPECT_TRUE(contains(p.err, "error: unknown command \"stauts\""));  // stderr says it too
}

TEST(CliParse, GlobalOptionsBeforeOrAfterTheCommandAreTheSame) {
  const std::vector<std::vector<std::string>> forms = {
      {"--json", "--config", "a b.toml", "--log-level", "debug", "status"},
      {"status", "--json", "--config", "a b.toml", "--log-level", "debug"},
      {"--config", "a b.toml", "status", "--log-level=debug", "--json"},
      {"--log-level", "debug", "status", "--config=a b.toml", "--json"},
  };
  for (const auto& f : forms) {
    Parsed p = parse(f);
    ASSERT_EQ(p.command, "status") << p.err;
    EXPECT_TRUE(p.global.json);
    EXPECT_EQ(p.global.config_file, "a b.toml");
    EXPECT_EQ(p.global.log_level, "debug");
  }
}

TEST(CliParse, GlobalOptionsMixWithTheCommandsOwn) {
  Parsed v = parse({"verify", "--deep", "--config", "x.toml", "20261122T020000Z", "--json"});
  ASSERT_EQ(v.command, "verify") << v.err;
  EXPECT_TRUE(v.args.deep);
  EXPECT_EQ(v.args.id, "20261122T020000Z");
  EXPECT_EQ(v.global.config_file, "x.toml");
  EXPECT_TRUE(v.global.json);

  Parsed s = parse({"standby", "status", "--json"});
  ASSERT_EQ(s.command, "standby") << s.err;
  EXPECT_EQ(s.args.action, "status");
  EXPECT_TRUE(s.global.json);

  Parsed f = parse({"failover", "--plan", "--log-level", "warn"});
  ASSERT_EQ(f.command, "failover");
  EXPECT_TRUE(f.args.plan);
  EXPECT_FALSE(f.args.yes);
  EXPECT_EQ(f.global.log_level, "warn");

  Parsed h = parse({"history", "--limit", "5", "--json"});
  ASSERT_EQ(h.command, "history");
  EXPECT_EQ(h.args.limit, 5);
}

TEST(CliParse, UsageErrorsExitTwo) {
  struct Case {
    std::vector<std::string> args;
    const char* error;
    const char* hint;
  };
  for (const Case& c : {Case{{}, "error: a command is required\n", "HINT: see 'sitekeeper --help' for the commands\n"},
                        Case{{"status", "--bogus"}, "error: unexpected argument '--bogus'\n", "HINT: see 'sitekeeper status --help'\n"},
                        Case{{"status", "extra"}, "error: unexpected argument 'extra'\n", "HINT: see 'sitekeeper status --help'\n"},
                        Case{{"--bogus"}, "error: unexpected argument '--bogus'\n", "HINT: see 'sitekeeper --help'\n"},
                        Case{{"status", "--log-level", "loud"}, "error: ", "HINT: see 'sitekeeper status --help'\n"},
                        Case{{"standby", "stauts"}, "error: ", "HINT: see 'sitekeeper standby --help'\n"},
                        Case{{"history", "--limit", "0"}, "error: ", "HINT: see 'sitekeeper history --help'\n"}}) {
    Parsed p = parse(c.args);
    EXPECT_EQ(p.exit_code, 2) << p.err;
    EXPECT_TRUE(p.command.empty());
    EXPECT_EQ(p.err.rfind(c.error, 0), 0u) << p.err;
    EXPECT_TRUE(contains(p.err, c.hint)) << p.err;
  }
}

// The version CMake's project() holds.
std::string project_version() {
  std::ifstream f(std::string(SK_SOURCE_DIR) + "/CMakeLists.txt");
  std::stringstream s;
  s << f.rdbuf();
  std::smatch m;
  const std::string text = s.str();
  if (!std::regex_search(text, m, std::regex(R"(project\(sitekeeper VERSION ([0-9.]+))"))) return "?";
  return m[1];
}

TEST(CliVersion, PrintsTheProjectVersion) {
  ASSERT_EQ(version(), project_version());
  Parsed p = parse({"--version"});
  EXPECT_EQ(p.exit_code, 0);
  EXPECT_TRUE(p.command.empty());
  EXPECT_EQ(p.out, "sitekeeper " + version() + "\n");
  Parsed j = parse({"--version", "--json"});
  EXPECT_EQ(j.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(j.out),
            (nlohmann::json{{"ok", true}, {"exit_code", 0}, {"name", "sitekeeper"}, {"version", version()}}));
}

TEST(CliOutput, FactsAreWrappedAndEstablishedDocumentsAreLeftAsTheyAre) {
  Output facts(true);
  facts.set("id", "20261122T020000Z");
  EXPECT_EQ(facts.finished(0), (nlohmann::json{{"ok", true}, {"exit_code", 0}, {"id", "20261122T020000Z"}}));

  Output history(true);
  history.document(nlohmann::json::array({{{"job", "backup"}}}));
  EXPECT_EQ(history.finished(0), nlohmann::json::array({{{"job", "backup"}}}));

  Output check(true);
  check.document({{"ok", false}, {"servers", nlohmann::json::array()}});
  EXPECT_EQ(check.finished(1), (nlohmann::json{{"ok", false}, {"servers", nlohmann::json::array()}}));
}

TEST(CliOutput, AFailureKeepsWhatTheCommandReportedAndAddsTheError) {
  Output refused(true);
  refused.set("kind", "failover");
  EXPECT_EQ(refused.failed(SafetyError("no standby to promote", "see 'sitekeeper standby status'")),
            (nlohmann::json{{"ok", false}, {"exit_code", 3}, {"error", "no standby to promote"},
                            {"hint", "see 'sitekeeper standby status'"}, {"kind", "failover"}}));

  Output plan(true);
  plan.document({{"kind", "failover"}, {"steps", nlohmann::json::array()}});
  auto j = plan.failed(SafetyError("failover not executed", "run it with --yes"));
  EXPECT_EQ(j["steps"], nlohmann::json::array());
  EXPECT_EQ(j["exit_code"], 3);
  EXPECT_EQ(j["ok"], false);

  Output history(true);  // an array cannot carry the error: the error document alone
  history.document(nlohmann::json::array());
  EXPECT_EQ(history.failed(Error("state store locked")),
            (nlohmann::json{{"ok", false}, {"exit_code", 1}, {"error", "state store locked"}, {"hint", ""}}));
}

// A config file in a fresh folder; removed with the test.
class ConfigFile {
 public:
  explicit ConfigFile(const std::string& toml) {
    std::string tmpl = (fs::temp_directory_path() / "sk cli XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    std::ofstream(path()) << toml;
    fs::permissions(path(), fs::perms::owner_read | fs::perms::owner_write);
  }
  ~ConfigFile() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path path() const { return dir_ / "sk.toml"; }

 private:
  fs::path dir_;
};

const char* kGood = R"([site]
code = "CEN"
database = "CM_CEN"
[servers.cm1]
[servers.hd1]
[roles]
active = "cm1"
replicas = ["hd1"]
)";

TEST(CliCheckConfig, AGoodFileIsOkAndNamesWhatItHolds) {
  ConfigFile f(kGood);
  Parsed p = parse({"check-config", "--config", f.path().string(), "--json"});
  ASSERT_EQ(p.command, "check-config");
  Output out(true);
  EXPECT_EQ(cmd_check_config(p.global, p.args, out), 0);
  auto j = out.finished(0);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["site"], "CEN");
  EXPECT_EQ(j["servers"], 2);
  EXPECT_EQ(j["schedules"], 0);
}

TEST(CliCheckConfig, ABadFileIsExitTwoWithEveryFileLineColumn) {
  ConfigFile f(std::string(kGood) + "[failover]\nprobe_interval = \"soon\"\nmode = \"sometimes\"\n");
  Parsed p = parse({"--config", f.path().string(), "check-config", "--json"});
  Output out(true);
  try {
    cmd_check_config(p.global, p.args, out);
    FAIL() << "a bad file passed check-config";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.exit_code(), 2);
    auto j = out.failed(e);
    EXPECT_EQ(j["exit_code"], 2);
    ASSERT_EQ(j["problems"].size(), 2u) << j.dump(2);
    EXPECT_TRUE(contains(j["problems"][0].get<std::string>(), "sk.toml:10:")) << j.dump(2);
    EXPECT_TRUE(contains(j["problems"][0].get<std::string>(), "failover.probe_interval")) << j.dump(2);
    EXPECT_TRUE(contains(j["problems"][1].get<std::string>(), "sk.toml:11:")) << j.dump(2);
    EXPECT_TRUE(contains(j["problems"][1].get<std::string>(), "failover.mode")) << j.dump(2);
  }
}

}  // namespace
}  // namespace sk::cli
