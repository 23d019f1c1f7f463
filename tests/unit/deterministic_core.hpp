// A store, an actor system on CAF's deterministic test coordinator, and a
// router over them. The store runs without its writer thread: `settle` runs
// actors and commits in turn until nothing is left, so every interleaving
// is the same on every run and timers move only with `advance_time`.
#pragma once

#include <chrono>
#include <string>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "bellhop/actors/core.hpp"
#include "bellhop/storage/store.hpp"
#include "temp_dir.hpp"

struct deterministic_core {
  static caf::actor_system_config& testing(caf::actor_system_config& cfg) {
    bellhop::add_message_types(cfg);
    cfg.set("scheduler.policy", caf::atom("testing"));
    return cfg;
  }

  explicit deterministic_core(std::chrono::milliseconds host_idle)
    : router(bellhop::spawn_router(sys, st, config(host_idle))) {
  }

  /// The size of the store's map, for a test that fills it.
  struct map_bytes {
    std::size_t n;
  };

  deterministic_core(std::chrono::milliseconds host_idle, map_bytes map_size)
    : st{sized(dir.path, map_size.n)},
      router(bellhop::spawn_router(sys, st, config(host_idle))) {
  }

  static bellhop::storage::options sized(const std::string& dir,
                                         std::size_t map_size) {
    bellhop::storage::options o{dir};
    o.map_size = map_size;
    return o;
  }

  /// With a configuration of the test's own (a mailer, say), spawned by
  /// `make_config` from this fixture's actor system.
  template <class MakeConfig>
  deterministic_core(MakeConfig make_config, int)
    : router(bellhop::spawn_router(sys, st, make_config(sys))) {
  }

  /// Both: a configuration of the test's own and a map of `map_size`.
  template <class MakeConfig>
  deterministic_core(MakeConfig make_config, map_bytes map_size)
    : st{sized(dir.path, map_size.n)},
      router(bellhop::spawn_router(sys, st, make_config(sys))) {
  }

  static bellhop::core_config config(std::chrono::milliseconds host_idle) {
    bellhop::core_config c;
    c.host_idle_timeout = host_idle;
    return c;
  }

  ~deterministic_core() {
    self->send_exit(router, caf::exit_reason::user_shutdown);
    settle();
  }

  /// Guest g1's booking of `room` at `host` from `in` to `out`.
  static bellhop::booking_request guest_booking(const std::string& host,
                                                const std::string& room,
                                                const std::string& in,
                                                const std::string& out) {
    bellhop::booking_request r;
    r.principal = "guest:g1";
    r.host_id = host;
    r.room_id = room;
    r.guest_id = "g1";
    r.check_in = in;
    r.check_out = out;
    return r;
  }

  /// `host` wants every category in real time and by email to
  /// h1@example.com, `delay_s` after the notification, one email each.
  static bellhop::preferences_put email_everything(const std::string& host,
                                                   int delay_s) {
    return {host, R"({"email":"h1@example.com","channels":{)"
                  R"("booking":{"realtime":true,"email":true},)"
                  R"("review":{"realtime":true,"email":true},)"
                  R"("message":{"realtime":true,"email":true},)"
                  R"("system":{"realtime":true,"email":true}},)"
                  R"("emailDelaySeconds":)"
                    + std::to_string(delay_s) + R"(,"digest":false})"};
  }

  /// Runs actors and commits until nothing is left to do.
  void settle() {
    for (;;) {
      auto ran = sched.run();
      auto committed = st.drain();
      if (ran == 0 && committed == 0)
        return;
    }
  }

  temp_dir dir;
  bellhop::storage::store st{bellhop::storage::options{dir.path}};
  caf::actor_system_config cfg;
  caf::actor_system sys{testing(cfg)};
  caf::scheduler::test_coordinator& sched
    = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  caf::scoped_actor self{sys};
  /// The mailer a `make_config` spawned, if it keeps it here (before
  /// `router`: set while the router's configuration is made).
  bellhop::mailer_actor mailer;
  bellhop::router_actor router;
};
