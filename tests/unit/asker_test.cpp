// The REST server's asking actors (http/src/asker.hpp) on CAF's real
// scheduler: asks from several threads all send their requests and get
// their answers; one after another they reuse one actor; stop() lets the
// answers still awaited arrive, drops later asks, and the actors then end;
// an ask that throws leaves its actor in the pool for the next one.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "asker.hpp"
#include "bellhop/actors/core.hpp"

using namespace bellhop::http;

namespace {

struct node {
  static caf::actor_system_config& configured(caf::actor_system_config& cfg) {
    bellhop::add_message_types(cfg);
    cfg.set("scheduler.max-threads", 2);
    return cfg;
  }
  caf::actor_system_config cfg;
  caf::actor_system sys{configured(cfg)};
};

/// Waits until `done` holds, for at most 30 s (a guard against a hang,
/// not a measure of speed).
template <class Pred>
bool eventually(Pred done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return done();
}

} // namespace

TEST_CASE("asks queued from several threads are all sent and answered") {
  node n;
  auto adder = n.sys.spawn([]() -> caf::behavior {
    return {[](int x) { return x + 1; }};
  });
  std::atomic<int> answered{0};
  std::atomic<long> sum{0};
  {
    asker asks{n.sys, 2};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < 1000; ++i)
          asks.submit([&, v = t * 1000 + i](caf::event_based_actor* self,
                                            asker::done_fn done) {
            self->request(adder, caf::infinite, v).then([&, done](int r) {
              sum += r;
              ++answered;
              done();
            });
          });
      });
    for (auto& th : threads)
      th.join();
    REQUIRE(eventually([&] { return answered.load() == 4000; }));
    // 0 + 1 + ... + 3999, plus one for each.
    CHECK(sum.load() == 3999L * 4000 / 2 + 4000);
  }
  caf::anon_send_exit(adder, caf::exit_reason::user_shutdown);
  n.sys.await_all_actors_done();  // the asking actors ended
  CHECK(answered.load() == 4000);
}

TEST_CASE("asks one after another are sent by one long-lived actor") {
  node n;
  auto echo = n.sys.spawn([]() -> caf::behavior {
    return {[](int x) { return x; }};
  });
  std::set<caf::actor_id> senders;
  {
    asker asks{n.sys, 4};
    for (int i = 0; i < 100; ++i) {
      std::atomic<bool> answered{false};
      asks.submit([&](caf::event_based_actor* self, asker::done_fn done) {
        senders.insert(self->id());
        self->request(echo, caf::infinite, i).then([&, done](int) {
          done();
          answered = true;
        });
      });
      REQUIRE(eventually([&] { return answered.load(); }));
    }
  }
  CHECK(senders.size() == 1);
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  n.sys.await_all_actors_done();
}

TEST_CASE("stop lets awaited answers arrive, then the actors end") {
  node n;
  std::atomic<bool> asked{false};
  // Holds its answers until told to give them.
  auto slow = n.sys.spawn([&](caf::event_based_actor* self) -> caf::behavior {
    auto held = std::make_shared<std::vector<caf::response_promise>>();
    return {
      [=, &asked](int) {
        held->push_back(self->make_response_promise());
        asked = true;
      },
      [=](const std::string&) {
        for (auto& rp : *held)
          rp.deliver(42);
      },
    };
  });
  std::atomic<int> got{0};
  std::atomic<bool> late_ran{false};
  asker asks{n.sys, 1};
  asks.submit([&](caf::event_based_actor* self, asker::done_fn done) {
    self->request(slow, caf::infinite, 1).then([&, done](int r) {
      got = r;
      done();
    });
  });
  REQUIRE(eventually([&] { return asked.load(); }));
  asks.stop();
  asks.submit(
    [&](caf::event_based_actor*, asker::done_fn) { late_ran = true; });
  caf::anon_send(slow, std::string{"give"});
  REQUIRE(eventually([&] { return got.load() == 42; }));
  caf::anon_send_exit(slow, caf::exit_reason::user_shutdown);
  n.sys.await_all_actors_done();
  CHECK_FALSE(late_ran.load());
}

TEST_CASE("an ask that throws leaves its actor in the pool for the next one") {
  node n;
  auto echo = n.sys.spawn([]() -> caf::behavior {
    return {[](int x) { return x; }};
  });
  std::atomic<caf::actor_id> thrower{0}, sender{0};
  std::atomic<bool> answered{false};
  {
    asker asks{n.sys, 4};
    asks.submit([&](caf::event_based_actor* self, asker::done_fn) {
      thrower = self->id();
      throw std::runtime_error("out of memory");
    });
    // Logged (error "ask failed"), and the actor went back to the pool.
    REQUIRE(eventually([&] { return asks.idle_count() == 1; }));
    asks.submit([&](caf::event_based_actor* self, asker::done_fn done) {
      sender = self->id();
      self->request(echo, caf::infinite, 7).then([&, done](int) {
        done();
        answered = true;
      });
    });
    REQUIRE(eventually([&] { return answered.load(); }));
    CHECK(thrower.load() != 0);
    CHECK(sender.load() == thrower.load());
  }
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
  n.sys.await_all_actors_done();
}
