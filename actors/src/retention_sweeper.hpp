// Retention (`--retention`): deletes the notifications that were read longer
// ago than the retention period, and the audit entries older than it, so that
// a store under steady traffic stops growing. Unread notifications are never
// deleted, whatever their age; nor are counters, unread marks, calendars,
// bookings, preferences or anything an email still needs. Off by default.
//
// Ages are by the wall clock, so the first pass waits a few minutes after
// start-up and a pass is skipped when that clock stepped ahead
// (sweep_clock.hpp): a delete by a clock running ahead cannot be undone.
//
// A pass walks the notes table (every host's records) in chunks. Each chunk
// is read on a snapshot on the sweeper's own thread, so the records it keeps
// cost the writer nothing; a chunk with something to delete becomes one
// write op, which decides again, inside its transaction, for each record it
// deletes. A read notification never becomes unread and its readAt never
// changes, so the second look agrees with the first unless the record is
// gone. Nothing here touches host actor state: ids, counts and the unread
// index are unchanged by deleting read notifications.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <caf/event_based_actor.hpp>

#include "bellhop/storage/store.hpp"

namespace bellhop {

/// Records looked at per chunk.
constexpr std::size_t retention_chunk = 1000;

/// What is older than the cutoffs goes.
struct retention_cutoff {
  std::string read_before;  ///< RFC 3339 (format_time): readAt earlier goes
  uint64_t audit_before_us = 0;  ///< audit entries earlier than this go
};

/// The cutoff `retention` before `now`.
retention_cutoff retention_cutoff_at(std::chrono::system_clock::time_point now,
                                     std::chrono::milliseconds retention);

/// True when the record (key, value) of the notes table is a read
/// notification or an audit entry older than `cut`.
bool retention_expired(std::string_view key, std::string_view value,
                       const retention_cutoff& cut);

/// The time between passes: a tenth of the retention, from 1 s to 1 h.
std::chrono::milliseconds retention_interval(std::chrono::milliseconds retention);

caf::behavior retention_sweeper(caf::event_based_actor* self, storage::store* st,
                                std::chrono::milliseconds retention);

} // namespace bellhop
