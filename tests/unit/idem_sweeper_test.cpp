// The idempotency sweeper on CAF's deterministic test coordinator: expired
// records go, live ones stay, across several chunks of a pass, on every
// interval.
#include <chrono>

#include <catch2/catch.hpp>

#include "bellhop/actors/domain.hpp"
#include "bellhop/storage/tables.hpp"
#include "deterministic_core.hpp"

using namespace bellhop;

namespace {

/// Puts idempotency records "k<i>", expired when `expired(i)`.
struct put_records final : storage::write_op {
  int count = 0;
  bool (*expired)(int) = nullptr;

  storage::status apply(storage::txn_ref t) override {
    auto now = epoch_ms(std::chrono::system_clock::now());
    for (int i = 0; i < count; ++i) {
      auto expires = expired(i) ? now - 1000 : now + 3'600'000;
      storage::put(t, t.db->idem, "k" + std::to_string(i),
                   std::to_string(expires) + "\nfp\n/bookings/x\n{}");
    }
    return storage::status::ok;
  }
  void done(storage::status) override {
  }
};

struct fixture : deterministic_core {
  fixture() : deterministic_core(std::chrono::milliseconds(60'000)) {
  }

  void put(int count, bool (*expired)(int)) {
    auto op = std::make_unique<put_records>();
    op->count = count;
    op->expired = expired;
    st.submit(std::move(op));
    st.drain();
  }

  int left(int count, bool (*expired)(int), bool want_expired) {
    auto txn = st.begin_read();
    int n = 0;
    for (int i = 0; i < count; ++i)
      if (expired(i) == want_expired
          && storage::get(txn.ref(), txn.ref().db->idem, "k" + std::to_string(i)))
        ++n;
    return n;
  }
};

bool every_third_lives(int i) {
  return i % 3 != 0;
}

} // namespace

TEST_CASE_METHOD(fixture, "expired idempotency records are swept in chunks") {
  settle();  // nothing at start-up: the first pass waits (sweep_clock.hpp)
  const int n = 2500;  // more than two chunks
  put(n, every_third_lives);
  REQUIRE(left(n, every_third_lives, true) == 1666);
  sched.advance_time(core_config{}.idem_sweep_interval);
  settle();
  CHECK(left(n, every_third_lives, true) == 0);
  CHECK(left(n, every_third_lives, false) == 834);
  // The next pass comes one interval later.
  put(n, every_third_lives);
  settle();
  CHECK(left(n, every_third_lives, true) == 1666);
  sched.advance_time(core_config{}.idem_sweep_interval);
  settle();
  CHECK(left(n, every_third_lives, true) == 0);
  CHECK(left(n, every_third_lives, false) == 834);
}
