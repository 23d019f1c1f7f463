// When the sweepers trust the wall clock (actors/src/sweep_clock.hpp): the
// first pass's wait, and what counts as a step of the wall clock.
#include <chrono>

#include <catch2/catch.hpp>

#include "sweep_clock.hpp"

using namespace bellhop;
using namespace std::chrono;

namespace {

const clock_step_watch::wall_time wall0{hours(24 * 20000)};
const clock_step_watch::steady_time steady0{hours(5)};

} // namespace

TEST_CASE("sweep clock: the first pass waits five minutes, or one interval",
          "[sweep_clock]") {
  CHECK(first_sweep_after(hours(1)) == minutes(5));
  CHECK(first_sweep_after(minutes(10)) == minutes(5));
  CHECK(first_sweep_after(seconds(3)) == seconds(3));
}

TEST_CASE("sweep clock: clocks that move together are no step",
          "[sweep_clock]") {
  clock_step_watch w{wall0, steady0};
  auto gained = w.look(wall0 + hours(1) + seconds(2), steady0 + hours(1));
  CHECK(gained == seconds(2));  // a slew of an hour
  CHECK_FALSE(stepped_ahead(gained));
}

TEST_CASE("sweep clock: a wall clock gone ahead is a step, once",
          "[sweep_clock]") {
  clock_step_watch w{wall0, steady0};
  auto gained = w.look(wall0 + hours(24 * 100) + minutes(3), steady0 + minutes(3));
  CHECK(gained == hours(24 * 100));
  CHECK(stepped_ahead(gained));
  // The next look is measured from this one: a clock that stays ahead is
  // trusted again one pass later; one put back is no step ahead.
  auto steady = w.look(wall0 + hours(24 * 100) + minutes(6), steady0 + minutes(6));
  CHECK_FALSE(stepped_ahead(steady));
  auto back = w.look(wall0 + minutes(9), steady0 + minutes(9));
  CHECK(back == -hours(24 * 100));
  CHECK_FALSE(stepped_ahead(back));
}
