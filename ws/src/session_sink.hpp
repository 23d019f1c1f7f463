// What a session actor can do to its socket. One sink serves every session
// of a front end, so a session costs no sink object of its own: each call
// names its socket. The gateway's sinks post each call to the Asio thread
// (websocketpp is touched only there); tests use a sink that records the
// calls.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace bellhop::ws {

/// The socket a call is for: the gateway's handle of the connection
/// (websocketpp's connection_hdl is this type) and, for Socket.IO, the
/// session's number on it (what an ended session still sends is dropped).
struct socket_ref {
  std::weak_ptr<void> conn;
  uint64_t session_no = 0;
};

class session_sink {
public:
  virtual ~session_sink() = default;
  virtual void send_text(const socket_ref& to, std::string text) = 0;
  virtual void close(const socket_ref& to, uint16_t code, std::string reason) = 0;
  /// A WebSocket ping (keep-alive for sessions without a TTL).
  virtual void ping(const socket_ref& to) = 0;
};

} // namespace bellhop::ws
