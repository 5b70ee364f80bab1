// copy [--backup ID]: a verified generation to every off-site destination, each its own job run.
#include <nlohmann/json.hpp>

#include "app/cmd/commands.hpp"
#include "core/fsutil.hpp"
#include "replicator/offsite.hpp"

namespace sk::cli {

int cmd_copy(const GlobalOptions& g, const CommandArgs& a, Output& out) {
  Runtime rt(g);
  const auto& dests = rt.cfg().archive.copies;
  if (dests.empty())
    throw ConfigError("no copy destination is configured",
                      "add [[archive.copy]] with path = \"/mnt/offsite/sitekeeper\" and rate = \"10MB/s\" to " +
                          show_path(rt.cfg().file));
  nlohmann::json results = nlohmann::json::array();
  std::string first_failure;
  for (const auto& d : dests) {
    nlohmann::json one{{"destination", d.path.string()}, {"rate", d.rate}};
    try {
      rt.run_job("copy", d.path.string(), [&] {
        auto r = replicator::run_copy(rt.ctx(), d, a.id);
        one.update({{"id", r.id}, {"ok", true}, {"files_copied", r.files_copied}, {"files_kept", r.files_kept},
                    {"bytes_copied", r.bytes_copied}, {"bytes_total", r.bytes_total}, {"seconds", r.seconds},
                    {"already_there", r.already_there}, {"deleted", r.deleted}, {"summary", r.summary}});
        out.say(r.summary);
        return r.summary;
      });
    } catch (const Cancelled&) {
      throw;
    } catch (const Error& e) {
      // The other destinations still get their copy; the failure is recorded and alerted already.
      one.update({{"ok", false}, {"error", e.what()}});
      if (first_failure.empty()) first_failure = e.what();
      out.say(std::string("copy to ") + show_path(d.path) + " failed: " + e.what());
    }
    results.push_back(one);
  }
  out.set("copies", results);
  if (!first_failure.empty())
    throw Error(first_failure, "fix the destination, then run 'sitekeeper copy' again: verified files are not copied twice");
  return kOk;
}

}  // namespace sk::cli
