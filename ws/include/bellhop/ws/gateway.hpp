// The WebSocket gateway (websocketpp on its own Asio io_context): `/ws`
// (§5) and `/socket.io/` (§6), the handshake with its JWT check, one
// session actor per connection, and the bridge between session actors and
// sockets. See docs/architecture.md for its threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "bellhop/actors/interfaces.hpp"
#include "bellhop/auth/jwt.hpp"

namespace bellhop::ws {

struct gateway_config {
  std::string bind = "127.0.0.1";
  uint16_t port = 8081;  ///< 0: pick a free port
  uint32_t ttl_ms = 3000;  ///< close each session after this long; 0: never
  bool close_on_delivery = false;
  std::size_t max_sessions_per_host = 16;
  /// New sessions a second per principal and host room (bursts of twice
  /// as many); 0: no limit. A client that reconnects in a loop would
  /// otherwise make the host actor replay (and audit) up to 100
  /// notifications for each `after=` it sends.
  double new_sessions_per_second = 10;
  /// Open WebSocket connections in all (each is a file): past it, new
  /// handshakes get 503, so that the process never runs out of files (its
  /// accept loops would spin, and REST would stop answering). Connections
  /// that have not finished their handshake count too: past the limit and
  /// a margin for those 503s, a new connection is closed as it comes.
  std::size_t max_connections = 18'000;
  auth::jwt_config jwt;
  // Socket.IO (§6): the Engine.IO heartbeat, the wait for CONNECT and the
  // largest frame a client may send (the open packet's maxPayload).
  std::chrono::milliseconds sio_ping_interval{25000};
  std::chrono::milliseconds sio_ping_timeout{20000};
  std::chrono::milliseconds sio_connect_timeout{10000};
  std::size_t sio_max_payload = 64 * 1024;
};

class gateway {
public:
  gateway(caf::actor_system& sys, router_actor router, gateway_config cfg);
  ~gateway();

  /// Binds and starts the Asio thread. Throws on failure.
  void start();
  uint16_t port() const;
  /// Closes every session with 1001 and stops the Asio thread.
  void shutdown();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace bellhop::ws
