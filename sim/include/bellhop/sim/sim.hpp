// The load simulator behind `bellhop sim`: thousands of hosts whose devices
// follow the web page's socket pattern, guests booking at a fixed open-loop
// rate, latency percentiles, and a final check that no booking answered
// `201` was lost or duplicated. See docs/simulator.md.
#pragma once

#include <cstdint>
#include <string>

namespace bellhop::sim {

/// Everything a run needs; app/sim.cpp fills it from the command line.
struct sim_config {
  std::string http_url = "http://127.0.0.1:8080";  ///< REST base URL
  std::string ws_url = "ws://127.0.0.1:8081/ws";   ///< native socket URL
  std::string jwt_secret;                          ///< HS256 shared secret

  uint32_t hosts = 1000;         ///< hosts played (all receive bookings)
  double online = 1.0;           ///< share of them with devices online
  uint32_t devices_per_host = 1; ///< sockets per online host
  double rate = 500;             ///< bookings per second (open loop)
  double duration_s = 10;        ///< how long bookings are sent
  uint32_t guests = 10000;       ///< distinct guestIds that book
  bool book_as_service = false;  ///< one service token instead of guests

  uint32_t poll_ms = 5000;       ///< count polling period of a closed device
  uint32_t ramp_ms = 1000;       ///< initial connects spread over this
  uint32_t drain_ms = 8000;      ///< wait for late deliveries at the end
  uint32_t timeout_ms = 10000;   ///< one HTTP request or handshake
  uint32_t give_up_ms = 3000;    ///< no answer at all this long: abort
  uint32_t connections = 256;    ///< keep-alive connections for bookings
  uint32_t host_connections = 32;///< keep-alive connections for hosts' REST
  bool verify = true;            ///< read every host's list at the end
  uint64_t seed = 1;             ///< host choice of each booking
  std::string run_id;            ///< prefix of hostIds ("" = random)

  std::string json_path;         ///< --json FILE ("" = none)
  std::string report_path;       ///< --report FILE.html ("" = none)
  int progress = -1;             ///< 1 in place, 0 plain lines, -1 isatty
};

/// Bookings a run plans: round(rate x duration).
inline uint64_t planned_bookings(const sim_config& c) {
  return static_cast<uint64_t>(c.rate * c.duration_s + 0.5);
}

/// Runs the simulation. Returns the exit code: 0 when every accepted
/// booking is stored exactly once, 1 on loss, duplication, an unreachable
/// server or another runtime failure (the reason is on stderr).
int run_sim(const sim_config& cfg);

} // namespace bellhop::sim
