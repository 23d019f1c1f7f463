// The idempotency sweeper (idem_sweeper.hpp) and its write op. The op runs
// on the writer thread; it tells the sweeper by message where to go on.
#include "idem_sweeper.hpp"
#include "sweep_clock.hpp"

#include <caf/send.hpp>

#include "bellhop/actors/domain.hpp"
#include "bellhop/actors/messages.hpp"
#include "bellhop/storage/tables.hpp"
#include "bellhop/telemetry/log.hpp"
#include "write_ops.hpp"

namespace bellhop {

namespace {

/// Deletes the expired records among the next `idem_sweep_chunk` from `from`.
struct idem_sweep_op final : storage::write_op {
  caf::actor sweeper;
  std::string from;
  int64_t now_ms = 0;

  storage::status apply(storage::txn_ref t) override {
    std::vector<std::string> expired;
    {
      // Collect first, then delete: no writes under an open cursor.
      storage::cursor cur{t, t.db->idem};
      bool ok = from.empty() ? cur.first() : cur.seek(from);
      std::size_t seen = 0;
      for (; ok && seen < idem_sweep_chunk; ok = cur.next(), ++seen) {
        auto rec = idem_record::decode(cur.value());
        if (!rec || rec->expires_ms <= now_ms)
          expired.emplace_back(cur.key());
      }
      progress_.finished = !ok;
      if (ok)
        progress_.next = std::string{cur.key()};
    }
    for (auto& key : expired)
      storage::del(t, t.db->idem, key);
    progress_.removed = expired.size();
    return storage::status::ok;
  }

  void done(storage::status result) override {
    if (result != storage::status::ok) {
      // Nothing was deleted; the next pass tries again.
      progress_ = sweep_progress{{}, 0, true};
    }
    caf::anon_send(sweeper, std::move(progress_));
  }

private:
  sweep_progress progress_;
};

/// A pass in progress: its time, fixed at its start, and what it deleted.
struct idem_pass {
  int64_t now_ms = 0;
  uint64_t removed = 0;
};

void submit_chunk(caf::event_based_actor* self, storage::store* st,
                  int64_t now_ms, std::string from) {
  auto op = std::make_unique<idem_sweep_op>();
  op->sweeper = caf::actor_cast<caf::actor>(self);
  op->from = std::move(from);
  op->now_ms = now_ms;
  st->submit(std::move(op));
}

} // namespace

caf::behavior idem_sweeper(caf::event_based_actor* self, storage::store* st,
                           std::chrono::milliseconds interval) {
  auto pass = std::make_shared<idem_pass>();
  auto clock = std::make_shared<clock_step_watch>(
    std::chrono::system_clock::now(), self->clock().now());
  // Not at once: a clock set wrong at boot gets time to be put right.
  self->delayed_send(self, first_sweep_after(interval), sweep_atom::value);
  return {
    [=](sweep_atom) {
      auto now = std::chrono::system_clock::now();
      auto gained = clock->look(now, self->clock().now());
      if (stepped_ahead(gained)) {
        // Records a day old by that clock may be minutes old: wait for the
        // next pass, by when the clock may be put back (sweep_clock.hpp).
        telemetry::log(telemetry::level::warn,
                       "idempotency sweep: the wall clock stepped ahead; "
                       "pass skipped",
                       {{"aheadMs", static_cast<int64_t>(gained.count())}});
        self->delayed_send(self, interval, sweep_atom::value);
        return;
      }
      *pass = idem_pass{epoch_ms(now), 0};
      submit_chunk(self, st, pass->now_ms, {});
    },
    [=](sweep_progress& p) {
      pass->removed += p.removed;
      if (!p.finished) {
        submit_chunk(self, st, pass->now_ms, std::move(p.next));
        return;
      }
      if (pass->removed > 0)
        telemetry::log(telemetry::level::info, "idempotency records swept",
                       {{"removed", static_cast<int64_t>(pass->removed)}});
      self->delayed_send(self, interval, sweep_atom::value);
    },
  };
}

} // namespace bellhop
