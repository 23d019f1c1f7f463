// The retention sweeper (retention_sweeper.hpp) and its delete op. The
// sweeper reads chunks on snapshots on a CAF worker; the op runs on the
// writer thread and tells the sweeper by message where to go on.
#include "retention_sweeper.hpp"
#include "sweep_clock.hpp"

#include <algorithm>
#include <memory>
#include <vector>

#include <caf/send.hpp>

#include "bellhop/actors/domain.hpp"
#include "bellhop/actors/messages.hpp"
#include "bellhop/storage/tables.hpp"
#include "bellhop/telemetry/log.hpp"
#include "bellhop/telemetry/metrics.hpp"

namespace bellhop {

namespace {

/// A read notification's JSON ends with this, the time, and "\"}".
constexpr std::string_view read_marker = ",\"readAt\":\"";
constexpr std::size_t rfc3339_ms_size = 24;  // 2026-11-28T10:00:00.123Z

/// Deletes the chunk's expired records that are still expired.
struct retention_op final : storage::write_op {
  caf::actor sweeper;
  std::vector<std::string> keys;
  retention_cutoff cut;
  sweep_progress progress;  ///< where the pass goes on, sent back in done()

  storage::status apply(storage::txn_ref t) override {
    progress.removed = 0;
    for (auto& key : keys) {
      auto value = storage::get(t, t.db->notes, key);
      if (value && retention_expired(key, *value, cut)) {
        storage::del(t, t.db->notes, key);
        ++progress.removed;
      }
    }
    return storage::status::ok;
  }

  void done(storage::status result) override {
    if (result != storage::status::ok) {
      // Nothing of this chunk was deleted; the next pass tries again.
      telemetry::log(telemetry::level::warn,
                     "retention: deleting old records failed; next pass retries",
                     {{"storage", std::string_view{result == storage::status::full
                                                     ? "full"
                                                     : "failed"}}});
      progress = sweep_progress{{}, 0, true};
    }
    caf::anon_send(sweeper, std::move(progress));
  }
};

struct sweeper_state {
  sweeper_state(storage::store* st, std::chrono::milliseconds retention,
                clock_step_watch clock)
    : store(st), retention(retention), clock(clock) {
  }

  storage::store* store = nullptr;
  std::chrono::milliseconds retention{0};
  clock_step_watch clock;  ///< the wall clock since the last pass (or start)
  retention_cutoff cut;  ///< fixed for the whole pass
  uint64_t removed = 0;  ///< in this pass
};

/// Reads the chunk from `from` on a snapshot; submits the expired keys, or
/// goes straight on to the next chunk (or the end of the pass) by message.
void sweep_chunk(caf::event_based_actor* self, sweeper_state& s,
                 std::string from) {
  auto op = std::make_unique<retention_op>();
  op->sweeper = caf::actor_cast<caf::actor>(self);
  op->cut = s.cut;
  try {
    auto txn = s.store->begin_read();
    storage::cursor cur{txn.ref(), txn.ref().db->notes};
    bool ok = from.empty() ? cur.first() : cur.seek(from);
    for (std::size_t seen = 0; ok && seen < retention_chunk;
         ok = cur.next(), ++seen)
      if (retention_expired(cur.key(), cur.value(), s.cut))
        op->keys.emplace_back(cur.key());
    op->progress.finished = !ok;
    if (ok)
      op->progress.next = std::string{cur.key()};
  } catch (const std::exception& e) {
    // An exception would end this actor, and with it the router it is
    // linked to: end the pass instead; the next one tries again.
    telemetry::log(telemetry::level::warn,
                   "retention: reading the store failed; next pass retries",
                   {{"error", std::string_view{e.what()}}});
    self->send(self, sweep_progress{{}, 0, true});
    return;
  }
  if (op->keys.empty()) {
    self->send(self, std::move(op->progress));
    return;
  }
  s.store->submit(std::move(op));
}

void start_pass(caf::event_based_actor* self, sweeper_state& s) {
  auto now = std::chrono::system_clock::now();
  auto gained = s.clock.look(now, self->clock().now());
  if (stepped_ahead(gained)) {
    // Its cutoff would be that much too late: wait for the next pass, by
    // when the clock may be put back (sweep_clock.hpp).
    telemetry::log(telemetry::level::warn,
                   "retention: the wall clock stepped ahead; pass skipped",
                   {{"aheadMs", static_cast<int64_t>(gained.count())}});
    self->delayed_send(self, retention_interval(s.retention), sweep_atom::value);
    return;
  }
  s.cut = retention_cutoff_at(now, s.retention);
  s.removed = 0;
  sweep_chunk(self, s, {});
}

} // namespace

retention_cutoff retention_cutoff_at(std::chrono::system_clock::time_point now,
                                     std::chrono::milliseconds retention) {
  auto before = now - retention;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
              before.time_since_epoch())
              .count();
  return {format_time(before), static_cast<uint64_t>(std::max<int64_t>(us, 0))};
}

bool retention_expired(std::string_view key, std::string_view value,
                       const retention_cutoff& cut) {
  // Host ids never contain bytes below '-': the first \0 or \1 ends it.
  auto end = key.find_first_of(std::string_view{"\0\1", 2});
  if (end == std::string_view::npos)
    return false;
  if (key[end] == '\0') {
    if (key.size() != end + 1 + 8)
      return false;  // the counters record, not a notification
    constexpr auto tail = read_marker.size() + rfc3339_ms_size + 2;
    if (value.size() < tail || value.substr(value.size() - 2) != "\"}"
        || value.substr(value.size() - tail, read_marker.size()) != read_marker)
      return false;  // unread (or not a notification document)
    auto read_at = value.substr(value.size() - 2 - rfc3339_ms_size,
                                rfc3339_ms_size);
    return read_at < cut.read_before;
  }
  // host \1 'A' micros(BE64) seq(BE64): an audit entry (note_key_id reads
  // the last 8 bytes of what it is given: here, the micros).
  if (key.size() == end + 2 + 16 && key[end + 1] == 'A')
    return storage::note_key_id(key.substr(0, end + 2 + 8)) < cut.audit_before_us;
  return false;
}

std::chrono::milliseconds retention_interval(std::chrono::milliseconds retention) {
  using namespace std::chrono;
  return std::clamp<milliseconds>(retention / 10, seconds(1), hours(1));
}

caf::behavior retention_sweeper(caf::event_based_actor* self, storage::store* st,
                                std::chrono::milliseconds retention) {
  auto s = std::make_shared<sweeper_state>(
    st, retention,
    clock_step_watch{std::chrono::system_clock::now(), self->clock().now()});
  // Not at once: a clock set wrong at boot gets time to be put right.
  self->delayed_send(self, first_sweep_after(retention_interval(retention)),
                     sweep_atom::value);
  return {
    [=](sweep_atom) { start_pass(self, *s); },
    [=](sweep_progress& p) {
      s->removed += p.removed;
      telemetry::metrics().retention_deleted.inc(p.removed);
      if (!p.finished) {
        sweep_chunk(self, *s, std::move(p.next));
        return;
      }
      if (s->removed > 0)
        telemetry::log(telemetry::level::info, "retention: old records deleted",
                       {{"removed", static_cast<int64_t>(s->removed)},
                        {"readBefore", std::string_view{s->cut.read_before}}});
      self->delayed_send(self, retention_interval(s->retention),
                         sweep_atom::value);
    },
  };
}

} // namespace bellhop
