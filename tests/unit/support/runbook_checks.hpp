#pragma once
// What the failover and recover runbook tests check alike: which steps the open journal holds, which
// steps come before a given one, and that no step after it made its call on the simulated site.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/state/store.hpp"
#include "standby/runbook.hpp"
#include "standby/site_state.hpp"
#include "support/fake_runner.hpp"
#include "support/sim_site.hpp"

namespace sk::test {

// Thrown by the step hook: what a kill -9 right after a step's journal write leaves behind.
struct Crash {};

// Options that run a runbook (yes) and crash right after step `step` is journaled.
inline standby::RunbookOptions crash_after(const std::string& step) {
  standby::RunbookOptions o;
  o.yes = true;
  o.after_step = [step](const std::string& done) {
    if (done == step) throw Crash{};
  };
  return o;
}

// The names of the steps the open journal records as done (none without an open journal).
inline std::set<std::string> journaled_steps(StateStore& state) {
  std::set<std::string> out;
  if (auto j = standby::SiteState(state).open_journal())
    for (auto& [k, v] : (*j)["steps"].items()) out.insert(k);
  return out;
}

// The steps of `steps` before `step`, and `step` itself when `with`.
inline std::set<std::string> steps_before(const std::vector<std::string>& steps, const std::string& step, bool with) {
  std::set<std::string> out;
  for (const auto& s : steps) {
    if (s == step && !with) break;
    out.insert(s);
    if (s == step) break;
  }
  return out;
}

// No step of `steps` after `step` made its signature call (`signature`: step -> "server.op").
inline void expect_nothing_ran_after(SimWorld& world, const std::vector<std::string>& steps,
                                     const std::map<std::string, std::string>& signature, const std::string& step) {
  bool after = false;
  for (const auto& s : steps) {
    if (after && signature.count(s)) {
      EXPECT_EQ(world.count(signature.at(s)), 0) << s << " ran after " << step;
    }
    if (s == step) after = true;
  }
}

// Makes step `step` fail: fence and alias through their commands on the fake runner (the alias command
// once `before_alias`, the call just before the alias step, has run), every other step at its signature
// call. Then runs `run`, which must throw sk::Error naming the step.
inline void expect_step_fails(SimWorld& world, FakeRunner& runner, const std::map<std::string, std::string>& signature,
                              const std::string& step, const std::string& before_alias,
                              const std::function<void()>& run) {
  if (step == "fence") runner.fail_with(1, "power-off: no such host\n");
  else if (step == "alias") world.on_call = [&runner, before_alias](const std::string&, const std::string& op) {
      if (op == before_alias) runner.fail_with(2, "point-alias: DNS refused\n");
    };
  else world.fault(signature.at(step), Fault{});
  try {
    run();
    ADD_FAILURE() << "a failing " << step << " step went unnoticed";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("step " + step + " failed")) << e.what();
  }
}

}  // namespace sk::test
