// The run's clock: microseconds on the steady clock since the process
// started the simulation. Every time the simulator records (scheduled send
// times, answers, socket arrivals) is on this clock.
#pragma once

#include <chrono>
#include <cstdint>

namespace bellhop::sim {

using steady = std::chrono::steady_clock;

/// The steady-clock time that the run clock calls 0.
inline steady::time_point run_epoch() {
  static const steady::time_point epoch = steady::now();
  return epoch;
}

inline int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
           steady::now() - run_epoch())
    .count();
}

inline steady::time_point at_us(int64_t us) {
  return run_epoch() + std::chrono::microseconds(us);
}

} // namespace bellhop::sim
