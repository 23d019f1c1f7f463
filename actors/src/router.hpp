// The router: the one actor that knows where each host actor is. It spawns a
// host actor on first use, forwards requests to it (the host answers the
// original sender directly), and lets idle host actors retire.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include <caf/message.hpp>

#include "bellhop/actors/core.hpp"
#include "bellhop/actors/interfaces.hpp"

namespace bellhop {

struct router_state {
  static inline const char* name = "bellhop.router";

  struct entry {
    host_actor handle;
    uint64_t forwarded = 0;  ///< requests forwarded to this incarnation
  };

  storage::store* store = nullptr;
  core_config cfg;
  std::unordered_map<std::string, entry> hosts;
  std::unordered_map<caf::actor_addr, std::string> names;  ///< for down msgs
  /// Hosts whose actor failed while its writes may still be queued at the
  /// writer: until they are settled (writes_settled) a new actor would read
  /// stale state (its next id, its pending stays) and could hand out an id
  /// or a room twice. Requests get 503 meanwhile; acks and wakes wait here.
  std::unordered_map<std::string, std::vector<caf::message>> recovering;
};

/// After a host actor failed: hands the outbox entries of `host_id` to the
/// mailer (it skips those it has; entries the failed actor committed but
/// never handed over would otherwise wait for a restart), and tells whether
/// the host has email waits, which only a running actor times. Throws what
/// a read of the store throws. (mailer.cpp)
bool resume_host_email(storage::store& st, const std::string& host_id,
                       const mailer_actor& mailer);

router_actor::behavior_type
router(router_actor::stateful_pointer<router_state> self, storage::store* st,
       core_config cfg);

} // namespace bellhop
