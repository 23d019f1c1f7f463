// The idempotency sweeper: deletes idempotency records whose 24 hours are
// over, so that the table holds only a day of keys. Records are keyed by
// principal and key, not by time, so each pass walks the whole table in
// chunks, one write op per chunk (each chunk a short part of a group
// commit, never one long transaction). The first pass runs a few minutes
// after start-up, then one every `core_config::idem_sweep_interval`; a pass
// is skipped when the wall clock stepped ahead (sweep_clock.hpp). Expired
// records are ignored by the host actors anyway; sweeping only reclaims
// their space.
#pragma once

#include <chrono>

#include <caf/event_based_actor.hpp>

#include "bellhop/storage/store.hpp"

namespace bellhop {

/// Records looked at per write op.
constexpr std::size_t idem_sweep_chunk = 1000;

caf::behavior idem_sweeper(caf::event_based_actor* self, storage::store* st,
                           std::chrono::milliseconds interval);

} // namespace bellhop
