#include "core/process.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <thread>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>

#include "core/error.hpp"
#include "core/log.hpp"

namespace bp = boost::process;

namespace sk {

void CancelToken::check() const {
  if (cancelled()) throw Cancelled();
}

namespace {

std::string slurp(bp::ipstream& in) {
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class BoostRunner final : public ProcessRunner {
 public:
  ProcessResult run(const std::vector<std::string>& argv, const ProcessOptions& opts) override {
    if (argv.empty()) throw Error("empty command");
    boost::filesystem::path exe = argv[0];
    if (argv[0].find('/') == std::string::npos) {
      exe = bp::search_path(argv[0]);
      if (exe.empty()) throw Error("command not found: " + argv[0]);
    }
    std::vector<std::string> args(argv.begin() + 1, argv.end());
    bp::environment env = boost::this_process::environment();
    // The secrets passphrase is for sitekeeper alone: no tool or hook it starts needs it.
    env.erase("SITEKEEPER_SECRETS_PASSPHRASE");
    for (const auto& [k, v] : opts.env) env[k] = v;
    bp::ipstream out, err;
    // PR_SET_PDEATHSIG: if sitekeeper is SIGKILLed mid-restore, the kernel kills the tool too, so a
    // later run never races a leftover pg_restore writing into the staging copy.
    // Its own process group: a cancelled or timed-out tool is killed with everything it started (a
    // script's children hold its output open and would keep us waiting for them).
    auto setup = bp::extend::on_exec_setup = [](auto&) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::setpgid(0, 0);
    };
    std::string cwd = opts.cwd.empty() ? std::string(".") : opts.cwd.string();
    bp::child child;
    try {
      child = bp::child(bp::exe = exe, bp::args = args, bp::std_out > out, bp::std_err > err,
                        bp::std_in.close(), env, bp::start_dir = cwd, setup);
    } catch (const std::exception& e) {
      throw Error("cannot start " + argv[0] + ": " + e.what());
    }
    ProcessResult r;
    std::thread t_out([&] { r.out = slurp(out); });
    std::thread t_err([&] { r.err = slurp(err); });
    auto start = std::chrono::steady_clock::now();
    auto pause = std::chrono::milliseconds(2);
    std::error_code ec;
    while (child.running(ec)) {
      bool cancel = opts.cancel && opts.cancel->cancelled();
      bool late = opts.timeout.count() > 0 && std::chrono::steady_clock::now() - start > opts.timeout;
      if (cancel || late) {
        ::kill(-static_cast<pid_t>(child.id()), SIGKILL);
        child.terminate(ec);
        r.cancelled = cancel;
        r.timed_out = late;
        break;
      }
      std::this_thread::sleep_for(pause);
      // At most 10 ms late: a fence command a failover waits on is on the clock of every client.
      pause = std::min(pause * 2, std::chrono::milliseconds(10));
    }
    child.wait(ec);
    t_out.join();
    t_err.join();
    r.exit_code = child.exit_code();
    return r;
  }
};

std::string tail_lines(const std::string& text, int n) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) lines.push_back(l);
  size_t from = lines.size() > static_cast<size_t>(n) ? lines.size() - n : 0;
  std::string out;
  for (size_t i = from; i < lines.size(); ++i) out += (out.empty() ? "" : "\n") + lines[i];
  return out;
}

}  // namespace

std::shared_ptr<ProcessRunner> system_runner() {
  static auto r = std::make_shared<BoostRunner>();
  return r;
}

ProcessResult run_checked(ProcessRunner& runner, const std::vector<std::string>& argv,
                          const ProcessOptions& opts) {
  std::string tool = std::filesystem::path(argv.at(0)).filename().string();
  if (tool == "runuser") {  // name the tool that failed, not the wrapper that ran it as the server's owner
    auto dd = std::find(argv.begin(), argv.end(), "--");
    if (dd != argv.end() && dd + 1 != argv.end()) tool = std::filesystem::path(*(dd + 1)).filename().string();
  }
  log::get("process")->debug("running {}", tool);
  ProcessResult r = runner.run(argv, opts);
  if (r.cancelled) throw Cancelled();
  if (r.timed_out) throw Error(tool + " timed out");
  if (r.exit_code != 0) {
    std::string msg = tool + " failed (exit " + std::to_string(r.exit_code) + ")";
    std::string t = log::redact(tail_lines(r.err, 8));
    if (!t.empty()) msg += ": " + t;
    throw Error(msg);
  }
  return r;
}

std::vector<std::string> expand_argv(const std::vector<std::string>& argv,
                                     const std::map<std::string, std::string>& values) {
  std::vector<std::string> out;
  for (std::string a : argv) {
    for (const auto& [k, v] : values) {
      std::string key = "{" + k + "}";
      for (size_t pos = 0; (pos = a.find(key, pos)) != std::string::npos; pos += v.size())
        a.replace(pos, key.size(), v);
    }
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace sk
