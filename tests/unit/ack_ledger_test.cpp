// The ledger of notifications a session wrote and awaits the ack of: an id
// is taken once, only if written, whatever the order of the acks and
// however many are in flight.
#include <catch2/catch.hpp>

#include "ack_ledger.hpp"

using bellhop::ws::ack_ledger;

TEST_CASE("only ids written are taken, each once") {
  ack_ledger l;
  CHECK_FALSE(l.take(1));
  for (uint64_t id : {3, 4, 5})
    l.written(id);
  CHECK_FALSE(l.take(2));
  CHECK_FALSE(l.take(6));
  CHECK_FALSE(l.take(999999));
  CHECK(l.take(4));
  CHECK_FALSE(l.take(4));
  CHECK(l.take(3));
  CHECK(l.take(5));
  CHECK_FALSE(l.take(3));
  CHECK(l.empty());
}

TEST_CASE("consecutive ids are one run; ids the host skipped are not owed") {
  ack_ledger l;
  for (uint64_t id = 1; id <= 1000; ++id)
    l.written(id);
  CHECK(l.runs() == 1);
  l.written(1002);  // 1001 was not written here
  CHECK(l.runs() == 2);
  CHECK_FALSE(l.take(1001));
  CHECK(l.take(1002));
  CHECK(l.take(1));  // the oldest still counts, however many came after
  CHECK(l.runs() == 1);
}

TEST_CASE("acks out of order split runs and still count once each") {
  ack_ledger l;
  for (uint64_t id = 1; id <= 9; ++id)
    l.written(id);
  for (uint64_t id : {5, 2, 8})
    CHECK(l.take(id));
  CHECK(l.runs() == 4);  // 1, 3-4, 6-7, 9
  for (uint64_t id : {5, 2, 8})
    CHECK_FALSE(l.take(id));
  for (uint64_t id : {1, 3, 4, 6, 7, 9})
    CHECK(l.take(id));
  CHECK(l.empty());
}

TEST_CASE("an id that does not grow is ignored") {
  ack_ledger l;
  l.written(5);
  l.written(5);
  l.written(3);
  CHECK_FALSE(l.take(3));
  CHECK(l.take(5));
  CHECK_FALSE(l.take(5));
}

TEST_CASE("past max_runs the oldest run is forgotten, never counted twice") {
  ack_ledger l;
  // Every other id: a run each.
  for (uint64_t i = 0; i <= ack_ledger::max_runs; ++i)
    l.written(2 * i + 1);
  CHECK(l.runs() == ack_ledger::max_runs);
  CHECK_FALSE(l.take(1));  // the oldest run went
  CHECK(l.take(3));
  CHECK(l.take(2 * ack_ledger::max_runs + 1));
}
