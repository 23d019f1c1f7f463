// One WebSocket session: it joins its host's room through the router, writes
// hello, the replay and live frames to its socket, answers the client's ops,
// and supervises its own lifetime — TTL (4000), close on delivery (4001),
// token expiry (4003), flooding (1008) — with CAF timers. There is one per
// socket, most of them idle: the state keeps what only an active session
// needs on the heap, allocated when first needed.
//
// A TTL or delivery close first waits for the acks of the notifications it
// wrote in the last `ack_grace`, until each is `ack_grace` old: websocketpp
// drops every data frame that comes after the server's close frame, so an
// ack on its way would be lost and the device that got the notification
// would be emailed it too (§7). Older unacked frames are not waited for.
#pragma once

#include <chrono>
#include <array>
#include <deque>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "bellhop/actors/interfaces.hpp"
#include "bellhop/auth/rate_limiter.hpp"
#include "session_sink.hpp"

namespace bellhop::ws {

/// How long after writing a notification a TTL or delivery close still
/// waits for its ack.
constexpr std::chrono::milliseconds ack_grace{500};

/// Close codes of §5.
enum close_code : uint16_t {
  going_away = 1001,
  policy_violation = 1008,
  internal_error = 1011,
  ttl_expired = 4000,
  delivered = 4001,
  token_expired = 4003,
};

struct session_config {
  std::string session_id;
  std::string host_id;
  std::string by;  ///< the principal's sub, for mark-read records
  const char* via = "ws";  ///< the protocol, for the audit log (a literal)
  bool has_after = false;
  uint64_t after = 0;
  std::chrono::milliseconds ttl{3000};  ///< 0: no TTL, keep-alive pings
  bool close_on_delivery = false;
  std::chrono::milliseconds token_left{0};  ///< until exp + leeway
  std::size_t max_messages_per_second = 20;
  socket_ref socket;  ///< what the sink's calls name
  /// The gateway's budget, per host, of acks of notifications not written
  /// on the socket they come on (null: no limit). Shared by the sessions,
  /// which run on any CAF worker: the limiter locks its own shards.
  std::shared_ptr<auth::rate_limiter> foreign_acks;
};

/// Arrival times of the latest client messages, a ring: the flood check
/// looks at the oldest of the last `max`.
struct flood_ring {
  std::array<caf::actor_clock::time_point, 20> at{};
  std::size_t count = 0;  ///< messages seen, for the ring's index
};

struct session_state {
  static inline const char* name = "bellhop.session";

  // CAF destroys the state when the actor ends (on its worker thread): the
  // count of session actors alive follows them (session_actors_alive).
  session_state();
  ~session_state();
  session_state(const session_state&) = delete;
  session_state& operator=(const session_state&) = delete;

  session_config cfg;
  std::shared_ptr<session_sink> sink;  ///< shared by the front end's sessions
  router_actor router;
  bool closing = false;     ///< close requested; frames are dropped
  /// A TTL or delivery close waits for the acks of what was written in the
  /// last `ack_grace`: no new frame is written meanwhile.
  bool draining = false;
  uint16_t drain_code = 0;  ///< the close that follows the wait
  bool expiry_set = false;  ///< the token-expiry message is scheduled
  /// Frames that came before hello (client ops wait in the mailbox).
  std::vector<frame_msg> early;
  uint64_t last_sent = 0;        ///< newest notification id written
  caf::actor_clock::time_point token_deadline;  ///< exp + leeway
  /// Close on delivery only: the ids written on this socket.
  std::unique_ptr<std::unordered_set<uint64_t>> delivered;
  /// With a TTL or close on delivery: notifications written in the last
  /// `ack_grace` and not acked yet, oldest first.
  std::unique_ptr<std::deque<std::pair<uint64_t, caf::actor_clock::time_point>>>
    fresh;
  /// From the first client message on.
  std::unique_ptr<flood_ring> recent;
  /// While notifications written on the socket are not acked: their ids,
  /// oldest first (at most max_awaiting). Their acks do not count as
  /// messages for the flood check: the server asked for them.
  std::unique_ptr<std::vector<uint64_t>> awaiting_ack;
};

caf::behavior session(caf::stateful_actor<session_state>* self,
                      session_config cfg, std::shared_ptr<session_sink> sink,
                      router_actor router);

/// Session actors not ended yet, in the whole process (thread-safe). Every
/// ack a session received has been passed on to the router by the time it
/// ends, so the stop waits for this to reach 0 before the router's exit.
int64_t session_actors_alive();

} // namespace bellhop::ws
