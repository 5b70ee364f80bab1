#include "app/cmd/cli.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>

#include "core/log.hpp"

#ifndef SK_VERSION
#error "SK_VERSION: CMake defines it from project(VERSION)"
#endif

namespace sk::cli {

namespace {

using Declare = std::function<void(CLI::App&, CommandArgs&)>;
using Handler = int (*)(const GlobalOptions&, const CommandArgs&, Output&);

struct Command {
  const char* name;
  const char* summary;
  const char* example;  // one command line, shown by --help and the man page
  Declare options;
  Handler run;
  bool hidden = false;
};

void none(CLI::App&, CommandArgs&) {}

// The one table of commands, their options and their examples.
const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"check", "validate the config and reach every server; print a readiness table (exit 1 when not ready)",
       "sitekeeper --config /etc/sitekeeper/sitekeeper.toml check", none, cmd_check},
      {"check-config", "validate the config file only, as 'run' and a reload load it (exit 2 with FILE:LINE:COLUMN errors)",
       "sitekeeper --config /etc/sitekeeper/sitekeeper.toml check-config", none, cmd_check_config},
      {"capture", "capture permission script + server profile from the active server into the archive",
       "sitekeeper capture", none, cmd_capture},
      {"backup", "nightly backup of the active site database into the archive", "sitekeeper backup --json", none,
       cmd_backup},
      {"copy", "copy a verified backup (default: the newest) to every [[archive.copy]] destination at its rate; resumes",
       "sitekeeper copy --backup 20261201T020000Z",
       [](CLI::App& c, CommandArgs& a) {
         c.add_option("--backup", a.id, "backup id (default: the newest verified)")->type_name("ID");
       },
       cmd_copy},
      {"verify", "verify archive entries (default: newest); --deep adds a trial restore + integrity check",
       "sitekeeper verify --deep 20261122T020000Z",
       [](CLI::App& c, CommandArgs& a) {
         c.add_flag("--deep", a.deep, "trial restore into a throwaway database, then the integrity checker");
         c.add_option("--server", a.server, "a server in no role for the trial restore (default: [roles] trial, else a scratch server here)")
             ->type_name("NAME");
         c.add_option("ID", a.id, "backup id (default: the newest)");
       },
       cmd_verify},
      {"refresh", "restore the newest verified backup onto replicas (all by default)", "sitekeeper refresh --replica hd1",
       [](CLI::App& c, CommandArgs& a) {
         c.add_option("--replica", a.replica, "only this replica")->type_name("NAME");
         c.add_flag("--force", a.force, "restore even when the replica already serves that backup");
       },
       cmd_refresh},
      {"standby", "standby init: build the passive standby from the active server; standby status: role, lag, health",
       "sitekeeper standby status --json",
       [](CLI::App& c, CommandArgs& a) {
         c.add_option("ACTION", a.action, "init or status")->required()->check(CLI::IsMember({"init", "status"}));
       },
       cmd_standby},
      {"failover", "promote the standby because the active server failed (without --yes: the plan, exit 3)",
       "sitekeeper failover --plan --json",
       [](CLI::App& c, CommandArgs& a) {
         c.add_flag("--plan", a.plan, "print the steps with their SQL and commands; change nothing");
         c.add_flag("--yes", a.yes, "execute (or resume) the runbook");
         c.add_flag("--old-active-is-down", a.old_active_is_down,
                    "the old active is powered off: the only way to promote when it does not answer and no "
                    "[failover] fence command is configured (journaled)");
       },
       cmd_failover},
      {"switchover", "planned role swap with zero data loss (without --yes: the plan, exit 3)",
       "sitekeeper switchover --yes",
       [](CLI::App& c, CommandArgs& a) {
         c.add_flag("--plan", a.plan, "print the steps; change nothing");
         c.add_flag("--yes", a.yes, "execute (or resume) the switchover");
       },
       cmd_switchover},
      {"rejoin", "turn the old active server into the new standby", "sitekeeper rejoin --server cm1",
       [](CLI::App& c, CommandArgs& a) {
         c.add_option("--server", a.server, "server to rejoin (default: the fenced one)")->type_name("NAME");
       },
       cmd_rejoin},
      {"recover", "nothing stands by: rebuild the site on a new server from the archive, or make a replica the active (without --yes: the plan, exit 3)",
       "sitekeeper recover --server cm3 --plan",
       [](CLI::App& c, CommandArgs& a) {
         c.add_option("--server", a.server,
                      "the new server, listed in [servers], in no role: with data_dir and a physical base backup its data "
                      "directory is replaced (moved aside), else it runs without the site database")
             ->type_name("NAME");
         c.add_option("--from-replica", a.replica,
                      "the fast path: this replica's copy (last night's backup) becomes the site database, no restore")
             ->type_name("NAME");
         c.add_option("--backup", a.id, "backup id (default: the newest verified)")->type_name("ID");
         c.add_option("--until", a.until,
                      "roll the physical base backup forward to this UTC time (2026-11-22T02:40:00Z) or WAL position "
                      "(0/3000060) instead of the end of the archived WAL")
             ->type_name("TIME");
         c.add_option("--files-to", a.files_to, "also write the backup's site files below this missing or empty folder")
             ->type_name("DIR");
         c.add_flag("--plan", a.plan, "print the steps with their SQL and commands; change nothing");
         c.add_flag("--yes", a.yes, "execute (or resume) the recovery");
         c.add_flag("--old-active-is-down", a.old_active_is_down,
                    "the old active is powered off: needed when it does not answer and no [failover] fence command "
                    "is configured (journaled)");
       },
       cmd_recover},
      {"runbook", "print the recovery runbook for this configuration (Markdown)", "sitekeeper runbook > runbook.md",
       none, cmd_runbook},
      {"pause", "declare a maintenance window: no automatic promotion", "sitekeeper pause", none, cmd_pause},
      {"resume", "end the maintenance window", "sitekeeper resume", none, cmd_resume},
      {"rotate-key", "add a new archive key for sealing generations; older keys stay to verify older ones",
       "sitekeeper rotate-key", none, cmd_rotate_key},
      {"restore-secrets", "decrypt a backup's key material into DIR, each file at its absolute path below it (0600)",
       "sitekeeper restore-secrets --backup 20261201T020000Z --to /root/restored",
       [](CLI::App& c, CommandArgs& a) {
         c.add_option("--backup", a.id, "backup id (default: the newest complete)")->type_name("ID");
         c.add_option("--to", a.to, "a missing or empty folder")->required()->type_name("DIR");
       },
       cmd_restore_secrets},
      {"restore-files", "write a backup's site files into DIR, each at its absolute path below it, modes and mtimes kept",
       "sitekeeper restore-files --backup 20261201T020000Z --to /root/site-files",
       [](CLI::App& c, CommandArgs& a) {
         c.add_option("--backup", a.id, "backup id (default: the newest complete)")->type_name("ID");
         c.add_option("--to", a.to, "a missing or empty folder")->required()->type_name("DIR");
       },
       cmd_restore_files},
      {"status", "site, active, replicas (backup id, backup time, age), last job runs", "sitekeeper status --json",
       none, cmd_status},
      {"history", "job runs with outcome and duration", "sitekeeper history --limit 50",
       [](CLI::App& c, CommandArgs& a) {
         c.add_option("--limit", a.limit, "how many runs (default 20)")->type_name("N")->check(CLI::Range(1, 100000));
       },
       cmd_history},
      {"schedule", "print each schedule's next five fire times", "sitekeeper schedule", none, cmd_schedule},
      {"run", "daemon: scheduler + health monitor + HTTP API; SIGTERM stops it cleanly, SIGHUP reloads",
       "sitekeeper --config /etc/sitekeeper/sitekeeper.toml run", none, cmd_run},
      {"man", "write the sitekeeper(1) man page (roff) to FILE or stdout", "sitekeeper man build/sitekeeper.1",
       [](CLI::App& c, CommandArgs& a) { c.add_option("FILE", a.file, "where to write it (default: stdout)"); },
       cmd_man, true},
  };
  return table;
}

const Command* find_command(const std::string& name) {
  for (const auto& c : commands())
    if (name == c.name) return &c;
  return nullptr;
}

std::string default_config() {
  if (const char* e = std::getenv("SITEKEEPER_CONFIG")) return e;
  return "/etc/sitekeeper/sitekeeper.toml";
}

std::string exit_codes_text() {
  std::string s = "Exit codes:\n";
  for (const auto& e : exit_codes()) s += "  " + std::to_string(e.code) + "  " + e.meaning + "\n";
  return s;
}

constexpr const char* kGlobalNote =
    "Global options (--config FILE, --log-level LEVEL, --json, --version) may stand before or after the command:\n"
    "'sitekeeper status --json' is 'sitekeeper --json status'. With --json every command prints one JSON\n"
    "document on stdout, also when it fails or is refused; logs stay on stderr.\n";

constexpr const char* kGlobalGroup = "Global options";

// The parser built from the table: the global options once, on the top level, reached from every
// command through CLI11's fallthrough.
struct Cli {
  CLI::App app{"sitekeeper: replica and standby manager for site databases", "sitekeeper"};
  GlobalOptions g;
  CommandArgs args;
  bool version = false;
  const Command* chosen = nullptr;

  Cli() {
    app.fallthrough();  // set before the subcommands: they inherit it
    app.require_subcommand(0, 1);
    app.get_formatter()->label("SUBCOMMAND", "COMMAND");
    g.config_file = default_config();
    app.add_option("--config", g.config_file,
                   "configuration file (default $SITEKEEPER_CONFIG, else /etc/sitekeeper/sitekeeper.toml)")
        ->type_name("FILE")
        ->group(kGlobalGroup);
    app.add_option("--log-level", g.log_level, "trace, debug, info (default), warn or error")
        ->type_name("LEVEL")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
        ->group(kGlobalGroup);
    app.add_flag("--json", g.json, "print one JSON document on stdout, also on failure")->group(kGlobalGroup);
    app.add_flag("--version", version, "print the version and exit")->group(kGlobalGroup);
    app.get_help_ptr()->group(kGlobalGroup);
    std::string examples = "Examples:\n";
    for (const auto& c : commands()) {
      CLI::App* sub = app.add_subcommand(c.name, c.summary);
      c.options(*sub, args);
      sub->callback([this, &c] { chosen = &c; });
      sub->footer(std::string("Example:\n  ") + c.example + "\n\n" + kGlobalNote + "\n" + exit_codes_text());
      sub->group(c.hidden ? "" : "Commands");
      if (!c.hidden) examples += std::string("  ") + c.example + "\n";
    }
    app.footer(std::string(kGlobalNote) + "\n" + exit_codes_text() + "\n" + examples);
  }
};

// Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

Parsed usage_error(Parsed p, bool json, const std::string& message, const std::string& hint) {
  const ConfigError e(message, hint);
  p.exit_code = e.exit_code();
  p.err = "error: " + message + "\n" + (hint.empty() ? "" : "HINT: " + hint + "\n");
  if (json) p.out = error_document(e).dump(2) + "\n";
  return p;
}

int report(const Error& e, const Output& out) {
  if (out.json()) print_json(out.failed(e));
  std::cerr << "error: " << log::redact(e.what()) << "\n";
  if (!e.hint().empty()) std::cerr << "HINT: " << e.hint() << "\n";
  return e.exit_code();
}

// The roff text of `s`: backslashes escaped, every hyphen a minus sign (so that options copy and
// paste), a line that starts with a dot or a quote made literal.
std::string roff(const std::string& s) {
  std::string r;
  bool line_start = true;
  for (char ch : s) {
    if (line_start && (ch == '.' || ch == '\'')) r += "\\&";
    if (ch == '\\') r += "\\e";
    else if (ch == '-') r += "\\-";
    else r += ch;
    line_start = ch == '\n';
  }
  return r;
}

// The value's name without CLI11's validator text ("N", not "N:INT in [1 - 100000]").
std::string value_name(const CLI::Option& o) {
  const std::string t = o.get_type_name();
  return t.substr(0, t.find(':'));
}

std::string usage_of(const CLI::Option& o) {
  if (o.get_positional()) return o.get_required() ? o.get_name(true) : "[" + o.get_name(true) + "]";
  std::string n = o.get_name();
  if (!value_name(o).empty()) n += " " + value_name(o);
  return "[" + n + "]";
}

// An option as a man page paragraph: .TP, the option in bold and its value in italics, the description.
std::string roff_option(const CLI::Option& o) {
  std::string head = o.get_positional() ? "\\fI" + roff(o.get_name(true)) + "\\fR"
                                        : "\\fB" + roff(o.get_name()) + "\\fR";
  if (!o.get_positional() && !value_name(o).empty()) head += " \\fI" + roff(value_name(o)) + "\\fR";
  return ".TP\n" + head + "\n" + roff(o.get_description()) + "\n";
}

}  // namespace

const std::vector<ExitCodeInfo>& exit_codes() {
  static const std::vector<ExitCodeInfo> codes = {
      {kOk, "success"},
      {kFailed, "the operation failed and nothing was lost (check: not ready; standby status: not healthy)"},
      {kUsage, "usage or configuration error (FILE:LINE:COLUMN: key: expected ...)"},
      {kRefused, "refused for safety (lag, no verified backup, not fenced, a plan without --yes)"},
  };
  return codes;
}

std::vector<CommandInfo> command_table() {
  std::vector<CommandInfo> t;
  for (const auto& c : commands()) t.push_back({c.name, c.summary, c.example, c.hidden});
  return t;
}

std::string version() { return SK_VERSION; }

std::string nearest_command(const std::string& typed) {
  std::string best;
  std::size_t best_d = std::string::npos;
  for (const auto& c : commands()) {
    if (c.hidden) continue;
    const std::string name = c.name;
    const std::size_t d = edit_distance(typed, name);
    if (d < best_d) best = name, best_d = d;
  }
  // Near: a few typos for the word's length, or the start of a command ("hist" for history).
  if (best_d <= std::max<std::size_t>(2, typed.size() / 3)) return best;
  for (const auto& c : commands())
    if (!c.hidden && typed.size() >= 2 && std::string(c.name).rfind(typed, 0) == 0) return c.name;
  return "";
}

Parsed parse(const std::vector<std::string>& args) {
  Parsed p;
  Cli cli;
  bool json = false;  // known before parsing succeeds, so that a usage error is a document too
  for (const auto& a : args) {
    if (a == "--") break;
    json = json || a == "--json";
  }
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
  try {
    cli.app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {  // --help
      std::ostringstream out, err;
      p.exit_code = cli.app.exit(e, out, err);
      p.out = out.str();
      p.err = err.str();
      return p;
    }
    const auto subs = cli.app.get_subcommands();
    const auto rest = cli.app.remaining();
    if (subs.empty() && dynamic_cast<const CLI::ExtrasError*>(&e) && !rest.empty() && !rest.front().empty() &&
        rest.front()[0] != '-') {
      const std::string near = nearest_command(rest.front());
      return usage_error(std::move(p), json, "unknown command \"" + rest.front() + "\"",
                         near.empty() ? "see 'sitekeeper --help' for the commands" : "did you mean \"" + near + "\"?");
    }
    std::string what = e.what();
    if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
      what = rest.size() == 1 ? "unexpected argument" : "unexpected arguments";
      for (const auto& r : rest) what += " '" + r + "'";
    }
    return usage_error(std::move(p), json, what,
                       subs.empty() ? "see 'sitekeeper --help'"
                                    : "see 'sitekeeper " + subs.front()->get_name() + " --help'");
  }
  if (cli.version) {
    p.out = json ? nlohmann::json{{"ok", true}, {"exit_code", kOk}, {"name", "sitekeeper"}, {"version", version()}}
                           .dump(2) + "\n"
                 : "sitekeeper " + version() + "\n";
    return p;
  }
  if (!cli.chosen)
    return usage_error(std::move(p), json, "a command is required", "see 'sitekeeper --help' for the commands");
  p.command = cli.chosen->name;
  p.global = cli.g;
  p.args = cli.args;
  return p;
}

std::string man_page() {
  Cli cli;
  std::ostringstream m;
  m << ".TH SITEKEEPER 1 \"\" \"sitekeeper " << version() << "\" \"User Commands\"\n"
    << ".nh\n"  // no hyphenation: paths and option names are copied from the page
    << ".SH NAME\nsitekeeper \\- replica and standby manager for PostgreSQL site databases\n"
    << ".SH SYNOPSIS\n.B sitekeeper\n[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIGLOBAL OPTIONS\\fR]\n"
    << ".SH DESCRIPTION\n"
    << "sitekeeper keeps a site database available. It restores each nightly backup onto read\\-only replica servers, "
       "keeps a passive standby in sync, and when the active server fails it promotes the standby and does the "
       "recovery work: it fences the old active server, replays the captured logins and grants, re\\-applies the "
       "server settings a backup does not carry, and moves every serial number past anything the old server may "
       "have handed out.\n.PP\n"
    << roff(kGlobalNote) << ".SH GLOBAL OPTIONS\n";
  for (const CLI::Option* o : cli.app.get_options())
    if (o != cli.app.get_help_ptr()) m << roff_option(*o);
  m << ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nthe commands, or with a command its options, its example and the exit codes\n";
  m << ".SH COMMANDS\n";
  for (const auto& c : commands()) {
    if (c.hidden) continue;
    const CLI::App* sub = cli.app.get_subcommand(c.name);
    std::string synopsis = c.name;
    for (const CLI::Option* o : sub->get_options())
      if (o != sub->get_help_ptr()) synopsis += " " + usage_of(*o);
    m << ".SS \"" << roff(synopsis) << "\"\n" << roff(c.summary) << "\n";
    for (const CLI::Option* o : sub->get_options())
      if (o != sub->get_help_ptr()) m << roff_option(*o);
    m << ".PP\nExample:\n.RS\n.nf\n" << roff(c.example) << "\n.fi\n.RE\n";
  }
  m << ".SH EXIT STATUS\n";
  for (const auto& e : exit_codes()) m << ".TP\n.B " << e.code << "\n" << roff(e.meaning) << "\n";
  m << ".SH ENVIRONMENT\n"
    << ".TP\n.B SITEKEEPER_CONFIG\nthe configuration file when \\fB\\-\\-config\\fR is not given\n"
    << ".TP\n.B SITEKEEPER_PASSWORD_\\fINAME\\fR\nthe password of server \\fINAME\\fR when its table names no "
       "password_file\n"
    << ".TP\n.B NOTIFY_SOCKET\nset by systemd for \\fBType=notify\\fR: \\fBrun\\fR reports READY=1 once its HTTP API "
       "listens and the monitor runs, RELOADING=1 and READY=1 around a SIGHUP reload, STOPPING=1 at stop, and the "
       "HA decision as STATUS=\n"
    << ".SH FILES\n.TP\n.I /etc/sitekeeper/sitekeeper.toml\nthe default configuration file\n"
    << ".TP\n.I /etc/systemd/system/sitekeeper.service\nthe unit that runs \\fBsitekeeper run\\fR; its ExecReload "
       "runs \\fBsitekeeper check\\-config\\fR before the SIGHUP, so a bad file fails \\fBsystemctl reload\\fR\n"
    << ".SH SEE ALSO\n.BR systemctl (1),\n.BR pg_dump (1),\n.BR pg_restore (1),\n.BR pg_basebackup (1),\n"
       ".BR pg_rewind (1)\n";
  return m.str();
}

int main(int argc, char** argv) {
  // Dumps, permission scripts with password hashes, keys, the state store: nothing sitekeeper or the
  // tools it starts write is for other local users.
  ::umask(077);
  const Parsed p = parse(std::vector<std::string>(argv + 1, argv + argc));
  if (p.command.empty()) {
    std::cout << p.out << std::flush;
    std::cerr << p.err;
    return p.exit_code;
  }
  log::set_level(p.global.log_level);
  Output out(p.global.json);
  try {
    const int code = find_command(p.command)->run(p.global, p.args, out);
    if (out.json()) print_json(out.finished(code));
    return code;
  } catch (const Error& e) {
    return report(e, out);
  } catch (const std::exception& e) {
    return report(Error(e.what()), out);
  }
}

}  // namespace sk::cli
