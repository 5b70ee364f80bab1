#pragma once
// The command line: one table declares every command, its options and its example; it drives parsing,
// `--help`, the man page and dispatch. Global options (--config, --log-level, --json, --version) may
// stand before or after the command.
#include <string>
#include <vector>

#include "app/cmd/commands.hpp"

namespace sk::cli {

// The process: umask, parse, dispatch, print errors (and the --json document). Returns the exit code.
int main(int argc, char** argv);

// One parsed command line. When parsing alone decides the run (--help, --version, a usage error),
// `command` is empty and `exit_code`, `out` (stdout) and `err` (stderr) say what to do.
struct Parsed {
  std::string command;  // a name of the table
  GlobalOptions global;
  CommandArgs args;
  int exit_code = kOk;
  std::string out, err;
};

// `args` without the program name, as the operator typed them.
Parsed parse(const std::vector<std::string>& args);

struct CommandInfo {
  std::string name, summary, example;
  bool hidden = false;  // `man`: left out of --help and the man page
};
std::vector<CommandInfo> command_table();

struct ExitCodeInfo {
  int code;
  std::string meaning;
};
const std::vector<ExitCodeInfo>& exit_codes();

// sitekeeper(1) in roff, from the table.
std::string man_page();
// The project version CMake was configured with.
std::string version();
// The nearest command to a mistyped one, or "" when none is near (edit distance, transpositions
// counting one).
std::string nearest_command(const std::string& typed);

}  // namespace sk::cli
