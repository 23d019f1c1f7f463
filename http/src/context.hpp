// What every REST handler shares: the actor system and router, the asking
// actors, the read queries, the JWT verifier, the rate limiters and the
// configuration. Read-only after start, except the rate limiters and the
// asking actors' pool (internally locked).
#pragma once

#include <atomic>
#include <cstddef>

#include <caf/actor_system.hpp>

#include "asker.hpp"
#include "bellhop/actors/queries.hpp"
#include "bellhop/http/rest_server.hpp"
#include "bellhop/auth/rate_limiter.hpp"

namespace bellhop::http {

/// Idle asking actors kept for the next asks (asker.hpp): more than the
/// requests usually in flight at once.
constexpr std::size_t max_idle_askers = 1024;

struct context {
  context(caf::actor_system& sys, router_actor router, const storage::store& st,
          rest_config config)
    : sys(sys),
      router(std::move(router)),
      asks(sys, max_idle_askers),
      queries(st),
      cfg(std::move(config)),
      jwt(cfg.jwt),
      rest_limit(cfg.rate_limit, cfg.rate_limit * 2),
      booking_limit(cfg.booking_rate_limit, cfg.booking_rate_limit * 2) {
  }

  caf::actor_system& sys;
  router_actor router;
  asker asks;
  host_queries queries;
  rest_config cfg;
  auth::jwt_verifier jwt;
  auth::rate_limiter rest_limit;
  auth::rate_limiter booking_limit;
  std::atomic<bool> ready{true};
  /// Requests in a handler plus asks not yet answered (drain() waits for 0).
  std::atomic<int64_t> in_flight{0};
};

} // namespace bellhop::http
