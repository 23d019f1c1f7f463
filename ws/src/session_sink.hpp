// What a session actor can do to its socket. The gateway's sink posts each
// call to the Asio thread (websocketpp is touched only there); tests use a
// sink that records the calls.
#pragma once

#include <cstdint>
#include <string>

namespace bellhop::ws {

class session_sink {
public:
  virtual ~session_sink() = default;
  virtual void send_text(std::string text) = 0;
  virtual void close(uint16_t code, std::string reason) = 0;
  /// A WebSocket ping (keep-alive for sessions without a TTL).
  virtual void ping() = 0;
};

} // namespace bellhop::ws
