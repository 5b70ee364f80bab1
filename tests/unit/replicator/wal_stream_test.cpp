// The WAL stream's supervisor against a scripted engine and a fake clock: one decision per tick, the
// restart backoff, the move to a new active, how current the archive is, and the alert.
#include "replicator/wal_stream.hpp"

#include <condition_variable>
#include <map>

#include <gtest/gtest.h>

#include "replicator/archive.hpp"
#include "support/fake_clock.hpp"
#include "core/fsutil.hpp"
#include "support/files.hpp"
#include "support/scripted_engine.hpp"

namespace sk::replicator {
namespace {

using namespace std::chrono_literals;

// What every stream engine shares: positions as decimal numbers, and how each server's stream behaves.
struct StreamScript {
  std::mutex mu;
  std::condition_variable cv;
  long long current = 100;   // the active's flushed position
  long long received = 0;    // the slot's position; 0: nothing yet
  bool slot_active = false;
  std::map<std::string, std::string> fail;  // server -> the error its stream_wal throws at once
  std::map<std::string, int> starts, ended, prepared;
  std::map<std::string, bool> streaming;    // in stream_wal now
  bool unreadable = false;                  // wal_stream_state throws
  std::map<std::string, std::string> system;  // server -> its system id ("" unless set)
  bool end_now = false;                     // a running stream ends as when the server closes it

  template <class Pred>
  bool wait(Pred p) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 10s, p);
  }
};

class StreamEngine : public test::FakeEngine {
 public:
  StreamEngine(std::string server, std::shared_ptr<test::World> w, std::shared_ptr<StreamScript> s)
      : FakeEngine(server, std::move(w)), server_(std::move(server)), s_(std::move(s)) {}
  void prepare_wal_stream(const std::string& slot) override {
    EXPECT_EQ(slot, kWalStreamSlot);
    std::lock_guard lock(s_->mu);
    ++s_->prepared[server_];
  }
  void stream_wal(const fs::path& dir, const std::string&, const CancelToken* cancel) override {
    EXPECT_EQ(dir.filename(), "wal");
    std::unique_lock lock(s_->mu);
    ++s_->starts[server_];
    if (auto it = s_->fail.find(server_); it != s_->fail.end()) {
      s_->cv.notify_all();
      throw Error(it->second);
    }
    s_->streaming[server_] = true;
    s_->cv.notify_all();
    while (!cancel->cancelled() && !s_->end_now) s_->cv.wait_for(lock, 5ms);
    s_->streaming[server_] = false;
    if (s_->end_now) {
      s_->end_now = false;
      throw Error("the server ended the stream");
    }
  }
  sql::WalStreamState wal_stream_state(const std::string&) override {
    std::lock_guard lock(s_->mu);
    if (s_->unreadable) throw Error("connection to server at \"127.0.0.1\", port 5432 failed: Connection refused");
    sql::WalStreamState w;
    w.slot_exists = true;
    w.active = s_->slot_active;
    w.current = std::to_string(s_->current);
    w.received = s_->received ? std::to_string(s_->received) : "";
    w.system = s_->system[server_];
    return w;
  }
  std::uint64_t wal_distance(const std::string& a, const std::string& b) override {
    const long long d = std::stoll(a) - std::stoll(b);
    return d > 0 ? static_cast<std::uint64_t>(d) : 0;
  }

 private:
  std::string server_;
  std::shared_ptr<StreamScript> s_;
};

class WalStreamTest : public ::testing::Test {
 protected:
  WalStreamTest() {
    fs::remove_all(base_);
    fs::create_directories(base_);
    state_ = std::make_unique<StateStore>(base_ / "state.db");
    cfg_.site = {"CEN", {"CM_CEN"}, "CM_CEN"};
    cfg_.archive.path = base_ / "archive";
    cfg_.archive.kinds = {"logical", "physical"};
    cfg_.archive.wal_stream = true;
    for (const char* n : {"cm1", "cm2"}) {
      ServerConfig s;
      s.name = n;
      cfg_.servers[n] = s;
    }
    cfg_.roles.active = "cm1";
    clock_->set(Clock::time_point(std::chrono::hours(24 * 20000)));
  }
  ~WalStreamTest() override {
    stream_.reset();
    state_.reset();
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  WalStream& stream() {
    if (!stream_) {
      WalStreamHooks hooks;
      hooks.alert = [this](const std::string& m) { alerts_.push_back(m); };
      hooks.stream_ended = [this](const std::string& server) {
        std::lock_guard lock(s_->mu);
        ++s_->ended[server];
        s_->cv.notify_all();
      };
      stream_ = std::make_unique<WalStream>(
          [this] {
            std::lock_guard lock(cfg_mu_);
            return std::make_shared<const Config>(cfg_);
          },
          *state_,
          [this](const ServerConfig& s) { return std::make_unique<StreamEngine>(s.name, world_, s_); }, clock_, hooks);
    }
    return *stream_;
  }
  void set_active(const std::string& name) {
    std::lock_guard lock(cfg_mu_);
    cfg_.roles.active = name;
  }
  bool wait_streaming(const std::string& server) { return s_->wait([&] { return s_->streaming[server]; }); }
  bool wait_ended(const std::string& server, int n) { return s_->wait([&] { return s_->ended[server] >= n; }); }
  std::string dir() const { return show_path(base_ / "archive" / "wal"); }

  fs::path base_ = test::test_dir_path("sk wal stream é");
  std::unique_ptr<StateStore> state_;
  std::mutex cfg_mu_;
  Config cfg_;
  std::shared_ptr<test::FakeClock> clock_ = std::make_shared<test::FakeClock>();
  std::shared_ptr<test::World> world_ = std::make_shared<test::World>();
  std::shared_ptr<StreamScript> s_ = std::make_shared<StreamScript>();
  std::vector<std::string> alerts_;
  std::unique_ptr<WalStream> stream_;
};

TEST_F(WalStreamTest, OffStartsNothing) {
  cfg_.archive.wal_stream = false;
  EXPECT_EQ(stream().tick(), "the WAL stream is off");
  EXPECT_EQ(stream().status().state, "off");
  EXPECT_TRUE(s_->starts.empty());
  EXPECT_EQ(read_wal_stream(*state_, clock_->now())["state"], "off");
}

TEST_F(WalStreamTest, StartsOnTheActiveThenStreams) {
  EXPECT_EQ(stream().tick(), "starting the WAL stream from cm1 into " + dir());
  ASSERT_TRUE(wait_streaming("cm1"));
  EXPECT_EQ(s_->prepared["cm1"], 1);  // the slot is made before the stream
  {
    std::lock_guard lock(s_->mu);
    s_->slot_active = true;
    s_->received = 100;
  }
  clock_->advance(2s);
  EXPECT_EQ(stream().tick(), "streaming WAL from cm1 into " + dir());
  EXPECT_EQ(stream().status().state, "streaming");
  EXPECT_EQ(s_->starts["cm1"], 1);
  const auto saved = read_wal_stream(*state_, clock_->now());
  EXPECT_EQ(saved["state"], "streaming");
  EXPECT_EQ(saved["server"], "cm1");
}

TEST_F(WalStreamTest, TheArchiveIsAsCurrentAsTheNewestReadingTheSlotHasPassed) {
  stream().tick();  // reads 100 at t0
  ASSERT_TRUE(wait_streaming("cm1"));
  const auto t0 = clock_->now();
  EXPECT_FALSE(stream().status().newest.has_value()) << "nothing received yet";
  {
    std::lock_guard lock(s_->mu);
    s_->slot_active = true;
    s_->current = 300;
    s_->received = 150;  // past the first reading, not the second
  }
  clock_->advance(5s);
  stream().tick();  // reads 300 at t0 + 5 s
  ASSERT_TRUE(stream().status().newest.has_value());
  EXPECT_EQ(*stream().status().newest, t0);
  clock_->advance(5s);
  EXPECT_NEAR(to_json(stream().status(), clock_->now())["age_seconds"].get<double>(), 10.0, 1e-6);
  {
    std::lock_guard lock(s_->mu);
    s_->received = 300;
  }
  stream().tick();  // this tick's own reading is received too: caught up now
  EXPECT_EQ(*stream().status().newest, t0 + 10s);
  // From another process: the age keeps growing from the last tick's newest WAL.
  EXPECT_NEAR(read_wal_stream(*state_, clock_->now() + 20s)["age_seconds"].get<double>(), 20.0, 1e-6);
}

TEST_F(WalStreamTest, AFailedStreamRestartsWithABackoffThatDoublesUpTo30Seconds) {
  s_->fail["cm1"] = "pg_receivewal failed (exit 1): could not connect to the server";
  EXPECT_EQ(stream().tick(), "starting the WAL stream from cm1 into " + dir());
  std::vector<std::string> waits;
  for (int i = 1; i <= 7; ++i) {
    ASSERT_TRUE(wait_ended("cm1", i));
    const std::string s = stream().tick();
    ASSERT_EQ(s.rfind("the WAL stream from cm1 stopped: pg_receivewal failed (exit 1): could not connect to the server; "
                      "restarting it in ", 0), 0u) << s;
    waits.push_back(s.substr(s.rfind(' ', s.size() - 3) + 1));
    EXPECT_EQ(stream().status().state, "down");
    // Not before its time.
    const std::string again = stream().tick();
    EXPECT_NE(again.find("is down"), std::string::npos) << again;
    EXPECT_EQ(s_->starts["cm1"], i);
    clock_->advance(std::chrono::seconds(std::stoi(waits.back())));
    EXPECT_EQ(stream().tick(), "starting the WAL stream from cm1 into " + dir());
  }
  EXPECT_EQ(waits, (std::vector<std::string>{"1 s", "2 s", "4 s", "8 s", "16 s", "30 s", "30 s"}));
  EXPECT_EQ(stream().status().restarts, 7);
}

TEST_F(WalStreamTest, AStreamThatRanAMinuteRestartsAfterOneSecondAgain) {
  s_->fail["cm1"] = "could not connect to the server";
  stream().tick();
  for (int i = 1; i <= 3; ++i) {  // backoff 1, 2, 4 s
    ASSERT_TRUE(wait_ended("cm1", i));
    stream().tick();
    clock_->advance(4s);
    if (i == 3) {
      std::lock_guard lock(s_->mu);
      s_->fail.erase("cm1");
    }
    stream().tick();
  }
  ASSERT_TRUE(wait_streaming("cm1"));
  clock_->advance(90s);
  {
    std::lock_guard lock(s_->mu);
    s_->end_now = true;  // the server ends the stream after a steady run
  }
  ASSERT_TRUE(wait_ended("cm1", 4));
  const std::string s = stream().tick();
  EXPECT_EQ(s, "the WAL stream from cm1 stopped: the server ended the stream; restarting it in 1 s");
}

TEST_F(WalStreamTest, AFailoverMovesTheStreamToTheNewActiveAndMakesItsSlotThere) {
  stream().tick();
  ASSERT_TRUE(wait_streaming("cm1"));
  set_active("cm2");
  EXPECT_EQ(stream().tick(), "moving the WAL stream to cm2, the active in force");
  EXPECT_FALSE(s_->streaming["cm1"]) << "the old active's stream is cancelled before the new one starts";
  ASSERT_TRUE(wait_streaming("cm2"));
  EXPECT_EQ(s_->prepared["cm2"], 1);
  EXPECT_EQ(stream().status().server, "cm2");
  EXPECT_EQ(stream().status().restarts, 0);
}

TEST_F(WalStreamTest, AServerOfAnotherDatabaseSystemIsRefusedTheFolder) {
  s_->system["cm1"] = "7312345678901234567";
  s_->system["cm2"] = "7399999999999999999";  // rebuilt from a logical dump: another system
  stream().tick();
  ASSERT_TRUE(wait_streaming("cm1"));
  EXPECT_EQ(test::slurp(base_ / "archive" / "wal" / kWalSystemFile), "7312345678901234567\n");
  set_active("cm2");
  stream().tick();
  ASSERT_TRUE(wait_ended("cm2", 1));
  const std::string s = stream().tick();
  EXPECT_NE(s.find("stopped: cm2 is database system 7399999999999999999, but the WAL in"), std::string::npos) << s;
  EXPECT_NE(s.find("is of system 7312345678901234567"), std::string::npos) << s;
  EXPECT_EQ(s_->starts["cm2"], 0) << "pg_receivewal never ran against the other system";
  EXPECT_EQ(test::slurp(base_ / "archive" / "wal" / kWalSystemFile), "7312345678901234567\n");
}

TEST_F(WalStreamTest, TurnedOffByAReloadStopsTheStream) {
  stream().tick();
  ASSERT_TRUE(wait_streaming("cm1"));
  {
    std::lock_guard lock(cfg_mu_);
    cfg_.archive.wal_stream = false;
  }
  EXPECT_EQ(stream().tick(), "the WAL stream is off");
  EXPECT_FALSE(s_->streaming["cm1"]);
}

TEST_F(WalStreamTest, AStreamDownForAMinuteRaisesOneAlert) {
  s_->fail["cm1"] = "pg_receivewal failed (exit 1): replication slot does not exist";
  stream().tick();
  for (int i = 1; i <= 6; ++i) {
    ASSERT_TRUE(wait_ended("cm1", i));
    stream().tick();
    clock_->advance(16s);
    stream().tick();
  }
  ASSERT_EQ(alerts_.size(), 1u);
  EXPECT_NE(alerts_[0].find("the WAL stream from cm1 has not kept up for a minute"), std::string::npos) << alerts_[0];
  EXPECT_NE(alerts_[0].find("replication slot does not exist"), std::string::npos) << alerts_[0];
}

TEST_F(WalStreamTest, AnActiveThatCannotBeReadIsSaidAndTheAgeGrows) {
  stream().tick();
  ASSERT_TRUE(wait_streaming("cm1"));
  {
    std::lock_guard lock(s_->mu);
    s_->slot_active = true;
    s_->received = 100;
  }
  stream().tick();
  const auto newest = stream().status().newest;
  ASSERT_TRUE(newest.has_value());
  {
    std::lock_guard lock(s_->mu);
    s_->unreadable = true;
  }
  clock_->advance(7s);
  const std::string s = stream().tick();
  EXPECT_EQ(s.rfind("cannot read the WAL position of cm1: connection to server", 0), 0u) << s;
  EXPECT_EQ(stream().status().newest, newest);
  EXPECT_NEAR(to_json(stream().status(), clock_->now())["age_seconds"].get<double>(), 7.0, 1e-6);
}

TEST_F(WalStreamTest, StopCancelsTheStream) {
  stream().tick();
  ASSERT_TRUE(wait_streaming("cm1"));
  stream().stop();
  EXPECT_FALSE(s_->streaming["cm1"]);
  EXPECT_EQ(s_->ended["cm1"], 1);
}

}  // namespace
}  // namespace sk::replicator
