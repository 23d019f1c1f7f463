// When a sweeper that deletes by wall-clock age may trust the wall clock.
// A forward step of that clock (set wrong at boot, then by hand, or by an
// NTP step) makes every record look old, and a delete cannot be undone.
// Two guards, used by the retention and idempotency sweepers:
//  - the first pass waits a few minutes after start-up, so that a clock set
//    wrong at boot is put right (by NTP, say) before anything is deleted;
//  - a pass is skipped when the wall clock gained on the steady clock by
//    more than a margin since the previous one: it stepped ahead.
// A step back only makes a pass delete less, so it is let through. A clock
// that is wrong from boot and stays so looks like the right time: nothing
// in the process can tell (docs/decisions.md, "Clocks").
#pragma once

#include <algorithm>
#include <chrono>

#include <caf/actor_clock.hpp>

namespace bellhop {

/// The longest the first pass waits after start-up.
constexpr std::chrono::minutes first_sweep_wait{5};

/// More than this gained on the steady clock between two passes is a step
/// (NTP slews at most 0.5 ms a second: 1.8 s in an hour).
constexpr std::chrono::seconds clock_step_margin{10};

/// When the first pass runs: after `first_sweep_wait`, or after one interval
/// when that is shorter (a short interval is a test's or a bench's).
inline std::chrono::milliseconds
first_sweep_after(std::chrono::milliseconds interval) {
  return std::min<std::chrono::milliseconds>(interval, first_sweep_wait);
}

/// The wall clock against the steady clock, from one look to the next.
class clock_step_watch {
public:
  using wall_time = std::chrono::system_clock::time_point;
  using steady_time = caf::actor_clock::time_point;

  clock_step_watch(wall_time wall, steady_time steady)
    : wall_(wall), steady_(steady) {
  }

  /// How much the wall clock gained on the steady clock since the last look
  /// (negative: it fell behind). This look is the next one's reference.
  std::chrono::milliseconds look(wall_time wall, steady_time steady) {
    auto gained = (wall - wall_) - (steady - steady_);
    wall_ = wall;
    steady_ = steady;
    return std::chrono::duration_cast<std::chrono::milliseconds>(gained);
  }

private:
  wall_time wall_;
  steady_time steady_;
};

/// True when `gained` (from clock_step_watch::look) is a step ahead.
inline bool stepped_ahead(std::chrono::milliseconds gained) {
  return gained > clock_step_margin;
}

} // namespace bellhop
