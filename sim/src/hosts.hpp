// The hosts' devices, each following the web page's pattern (API.md §5,
// §8): open `/ws?access_token=...&after=<newest id seen>` (at first the
// host's count before the run), ack every event, get closed by the
// server's TTL, then poll `GET /notifications/count` with If-None-Match
// every poll period and reconnect with `after=` while the latestId it last
// read is above the newest id it has seen (a failed reconnect or a replay
// cut at 100 is retried, even when the count answers 304). Only a session
// that brought something new is followed by a poll at once. Every arrival is matched to
// its booking (roomId "r-<k>") in the ledger. One websocketpp client on the
// run's io_context holds every socket; all of it runs on that one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "bellhop/sim/sim.hpp"
#include "url.hpp"

namespace boost::asio {
class io_context;
}

namespace bellhop::sim {

class http_pool;
class ledger;

class devices {
public:
  /// One device per (online host, device number); `rest` carries polls.
  devices(boost::asio::io_context& io, const sim_config& cfg,
          const url& ws, http_pool& rest, ledger& led);
  ~devices();

  /// Connects every device, spread evenly over `ramp_us` from now.
  void start(int64_t ramp_us);
  /// Devices whose first connection has not opened or failed yet.
  std::size_t first_connects_pending() const;
  std::size_t count() const;
  /// Closes every socket (1000) and stops polling.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> d_;
};

} // namespace bellhop::sim
