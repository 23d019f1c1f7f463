// The REST API (Pistache): §2–§4 of the contract. Handlers run on Pistache's
// reactor threads and never wait for an actor: writes ask the router from a
// short-lived CAF actor and answer through the moved ResponseWriter; reads
// answer from an LMDB snapshot (bellhop/actors/queries.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/fwd.hpp>

#include "bellhop/actors/interfaces.hpp"
#include "bellhop/auth/jwt.hpp"

namespace bellhop::storage {
class store;
}

namespace bellhop::http {

struct rest_config {
  std::string bind = "127.0.0.1";
  uint16_t port = 8080;          ///< 0: pick a free port
  int threads = 1;               ///< Pistache reactor threads
  double rate_limit = 50;        ///< requests/s per principal, 0: off
  double booking_rate_limit = 10;  ///< POST /bookings per guest, 0: off
  std::size_t max_body = 64 * 1024;
  auth::jwt_config jwt;
  uint16_t ws_port = 0;          ///< the gateway's port, told to the web page
  /// Origins whose pages may call the API (--cors-origins, as
  /// parse_cors_origins returns them: lower-case, or "*" alone); empty:
  /// no cross-origin access.
  std::vector<std::string> cors_origins;
  bool demo = false;             ///< serve /demo and /demo/token (§9 --demo)
  std::vector<std::string> demo_hosts;  ///< the hosts /demo books with
};

/// The origins of `--cors-origins`: "*" or a comma-separated list of
/// `scheme://host[:port]`. Throws std::invalid_argument saying what is
/// wrong.
std::vector<std::string> parse_cors_origins(std::string_view list);

class rest_server {
public:
  rest_server(caf::actor_system& sys, router_actor router,
              const storage::store& st, rest_config cfg);
  ~rest_server();

  /// The gateway's port for the web page's /config.json, when it is known
  /// only after this object was made (port 0). Call before start().
  void set_ws_port(uint16_t port);
  /// Binds and starts serving on background threads. Throws on failure.
  void start();
  /// The bound port (after start).
  uint16_t port() const;
  /// From now on /readyz and every new API request answer 503
  /// (`unavailable`, Retry-After, `Connection: close`); /healthz and
  /// /metrics still answer. Safe from any thread.
  void stop_accepting();
  /// stop_accepting(), then waits, up to `grace`, until every request
  /// already handed to an actor has been answered.
  void drain(std::chrono::milliseconds grace);
  /// Stops accepting and closes connections.
  void shutdown();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace bellhop::http
