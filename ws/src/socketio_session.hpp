// Socket.IO on one WebSocket connection (§6): the Engine.IO open packet and
// heartbeat, the Socket.IO CONNECT, and the translation between Socket.IO
// packets and the native frames and ops of the session actor, which does
// not know which protocol its client speaks. A plain state machine that
// knows neither websocketpp nor CAF: the gateway feeds it frames, timer
// expiries and the session actor's output, all on the Asio thread, and it
// acts through a socketio_port.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "socketio_codec.hpp"

namespace bellhop::ws {

struct socketio_config {
  std::chrono::milliseconds ping_interval{25000};
  std::chrono::milliseconds ping_timeout{20000};
  /// A connection without a session (before its first CONNECT, after a
  /// DISCONNECT) is closed after this long.
  std::chrono::milliseconds connect_timeout{10000};
  std::size_t max_payload = 64 * 1024;  ///< bytes of one frame
  std::size_t max_messages_per_second = 20;
  /// Notification events awaiting the client's ack; over this the oldest
  /// is forgotten (its late ack is then ignored). The native session
  /// remembers as many (session_actor.cpp, max_awaiting).
  std::size_t max_pending_acks = 1024;
};

/// The gateway's answer to a CONNECT.
struct connect_answer {
  bool ok = false;
  std::string sid;      ///< ok: the new session's id
  std::string message;  ///< refused: the CONNECT_ERROR message
};

/// What a Socket.IO connection does to the world. The gateway implements
/// it; every call comes on the Asio thread.
class socketio_port {
public:
  virtual ~socketio_port() = default;
  /// Writes one text frame.
  virtual void write(std::string frame) = 0;
  /// Closes the WebSocket (the session, if any, ends with it).
  virtual void close(uint16_t code, std::string reason) = 0;
  /// Authorises `auth` (the CONNECT payload) and, if it may, starts
  /// session number `session_no`, whose output comes back tagged with it.
  virtual connect_answer connect(const nlohmann::json& auth,
                                 uint64_t session_no)
    = 0;
  /// Hands a native op (`{"op":...}`) to the session actor.
  virtual void to_session(std::string op) = 0;
  /// Ends the session actor; the socket stays open.
  virtual void end_session() = 0;
  /// (Re)arms the connection's one timer: on_timer is due at `at`.
  virtual void set_timer(std::chrono::steady_clock::time_point at) = 0;
};

/// Close codes of the Socket.IO layer (the session's own are in
/// session_actor.hpp).
enum sio_close_code : uint16_t {
  sio_normal = 1000,
  sio_ping_timeout = 1001,  ///< as websocketpp's own pong timeout
  sio_protocol_error = 1002,
  sio_policy = 1008,  ///< flooding, connect timeout
};

class socketio_session {
public:
  using clock = std::chrono::steady_clock;

  socketio_session(socketio_config cfg, socketio_port& port,
                   std::string engine_sid);

  /// The WebSocket is open: writes the open packet and arms the timers.
  void open(clock::time_point now);
  /// A text frame from the client.
  void on_text(std::string_view frame, clock::time_point now);
  /// A binary frame from the client (only attachments are expected).
  void on_binary(clock::time_point now);
  /// The port's timer fired.
  void on_timer(clock::time_point now);

  // From the session actor (its sink), tagged with its session number;
  // output of a session that has ended is dropped.
  /// A native frame `{"event":"<name>","data":<json>}` to translate.
  void from_session(uint64_t session_no, std::string_view frame);
  /// The session ends the connection: DISCONNECT, then the close.
  void close_from_session(uint64_t session_no, uint16_t code,
                          std::string reason);

  bool closed() const {
    return phase_ == phase::closed;
  }
  bool connected() const {
    return phase_ == phase::connected;
  }

private:
  enum class phase { awaiting_connect, connected, closed };

  void on_packet(std::string_view data, clock::time_point now);
  void on_connect(const sio::packet& p);
  void on_disconnect(clock::time_point now);
  /// Acknowledges an event that asked for an ack, on receipt.
  void confirm_receipt(const sio::packet& p);
  void on_event(const sio::packet& p);
  void on_ack(uint64_t ack_id);
  void finish_binary();
  void send_error_event(const std::string& message);
  /// Writes an answer made here (an event's ack, an error event): after
  /// the session's `hello`, which §5 and §6 make the first event.
  void write_answer(std::string frame);
  void protocol_error(const std::string& why);
  void shut(uint16_t code, std::string reason, bool disconnect_first);
  bool flooding(clock::time_point now);
  /// Closes with 1008 (after 41), counted in bellhop_rate_limited_total.
  void shut_flooding();
  /// The frame is the ACK of an event that asked for one and is not acked
  /// yet: it does not count for the flood check.
  bool owed_ack(std::string_view frame) const;
  /// An ack event (`42["ack",{"id":N}]`) of a notification written here and
  /// not acked yet: not counted either; the notification is no longer owed.
  bool take_owed_event_ack(std::string_view frame);
  void rearm();

  socketio_config cfg_;
  socketio_port& port_;
  std::string engine_sid_;
  sio::limits limits_;
  phase phase_ = phase::awaiting_connect;
  uint64_t session_no_ = 0;  ///< the current (or last) session's number
  /// The current session has written its first frame (`hello`); until
  /// then the answers made here wait in held_ (a few: the flood limit
  /// bounds them).
  bool greeted_ = false;
  std::vector<std::string> held_;

  // Deadlines; rearm() keeps the port's timer on the earliest.
  clock::time_point connect_due_{};  ///< while awaiting_connect
  clock::time_point ping_due_{};     ///< next ping, while !awaiting_pong_
  clock::time_point pong_due_{};     ///< while awaiting_pong_
  bool awaiting_pong_ = false;
  clock::time_point armed_{};  ///< what the port's timer is set to

  /// A binary packet whose attachments are still coming (they are read
  /// and dropped: bellhop takes no binary data).
  std::size_t attachments_left_ = 0;
  sio::packet binary_;

  /// Ack id -> notification id, for events awaiting the client's ack.
  /// Ids grow, so begin() is the oldest. O(log n) per event and ack.
  std::map<uint64_t, uint64_t> acks_;
  uint64_t next_ack_id_ = 0;

  std::deque<clock::time_point> recent_;  ///< client frames, last second
};

} // namespace bellhop::ws
