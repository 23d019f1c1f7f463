// Starting bellhop's actor layer: registering its message types and
// spawning the router over a store.
#pragma once

#include <chrono>

#include <caf/fwd.hpp>

#include "bellhop/actors/interfaces.hpp"

namespace bellhop::storage {
class store;
}

namespace bellhop {

struct core_config {
  /// A host actor with no work and no session stops after this long; its
  /// state reloads from LMDB when it is needed again.
  std::chrono::milliseconds host_idle_timeout{60'000};
};

/// Registers every bellhop message type with CAF. Call before creating the
/// actor system.
void add_message_types(caf::actor_system_config& cfg);

/// Spawns the router. `st` must outlive the actor system's use of it.
router_actor spawn_router(caf::actor_system& sys, storage::store& st,
                          core_config cfg);

} // namespace bellhop
