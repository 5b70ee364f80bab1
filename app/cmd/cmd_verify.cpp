// verify [--deep] [ID]: a generation against its manifest; --deep adds a trial restore.
#include "app/cmd/commands.hpp"
#include "replicator/verify.hpp"

namespace sk::cli {

int cmd_verify(const GlobalOptions& g, const CommandArgs& a, Output& out) {
  Runtime rt(g);
  out.set("deep", a.deep);
  rt.run_job(a.deep ? "verify --deep" : "verify", a.id.empty() ? "newest" : a.id, [&] {
    auto r = replicator::run_verify(rt.ctx(), a.id, a.deep, a.server);
    out.set("id", r.id);
    out.set("problems", r.problems);
    out.set("summary", r.summary);
    if (!r.ok) {
      std::string all;
      for (const auto& p : r.problems) all += "\n  " + p;
      throw Error("generation " + r.id + " failed verification:" + all,
                  "do not restore it; take a new backup with 'sitekeeper backup'");
    }
    out.say(r.summary);
    return r.summary;
  });
  return kOk;
}

}  // namespace sk::cli
