// The guests: `POST /bookings` at a fixed rate, open loop. Booking k is
// due at t0 + k / rate whatever happened to the ones before it, and its
// latency is measured from that due time, so a slow server shows as
// latency (and queueing in the pool), never as a lower rate. Each booking
// has its own room (`r-<k>`), so none can overlap another.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bellhop/sim/sim.hpp"

namespace boost::asio {
class io_context;
}

namespace bellhop::sim {

class http_pool;
class ledger;

class guests {
public:
  /// `tokens`: the Authorization values to book with, used in turn (one
  /// per guest, or a single service token).
  guests(boost::asio::io_context& io, const sim_config& cfg, http_pool& pool,
         ledger& led, std::vector<std::string> tokens);
  ~guests();

  /// Plans every booking (hosts chosen now, by the seed) and starts
  /// sending at `t0_us` on the run clock.
  void start(int64_t t0_us);
  /// Sends nothing more (Ctrl-C, abort).
  void stop();
  /// Every planned booking was sent (or stop() was called).
  bool done_sending() const;
  /// Bookings sent and not yet answered.
  std::size_t in_flight() const;

private:
  struct impl;
  std::unique_ptr<impl> d_;
};

} // namespace bellhop::sim
