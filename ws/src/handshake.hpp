// The WebSocket handshake decisions (§2, §5, §6), as pure functions of the
// request's path, query and Authorization header (or a Socket.IO CONNECT's
// token): who is connecting, to which host's room, from which id to replay
// — or the HTTP status to refuse with. Local work only: websocketpp's
// validate handler must decide at once.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "bellhop/auth/jwt.hpp"

namespace bellhop::ws {

struct handshake_result {
  int status = 0;  ///< 0: accepted, else the HTTP status to refuse with
  std::string code;     ///< error code for a refusal
  std::string message;  ///< error message for a refusal
  auth::principal who;
  std::string host_id;
  bool has_after = false;
  uint64_t after = 0;
};

/// Splits "path?query" and decodes the query's percent-escapes and '+'.
std::string_view path_of(std::string_view resource);
std::map<std::string, std::string> query_of(std::string_view resource);

/// Who may join which host's room, for both protocols: a host its own
/// (`named_host`, when not null, must be its sub), an admin the host it
/// names. 401 for a bad token, 403 for another role or another host's
/// room, 400 for an admin without a valid host. Sets `who` and `host_id`.
handshake_result check_token(const auth::jwt_verifier& jwt,
                             std::string_view token,
                             const std::string* named_host);

/// Decides on a `/ws` upgrade. `authorization` is the header's value ("" if
/// absent). Session limits are checked by the caller.
handshake_result check_handshake(const auth::jwt_verifier& jwt,
                                 std::string_view resource,
                                 std::string_view authorization);

/// Decides on a `/socket.io/` upgrade: Engine.IO 4 over the WebSocket
/// transport only (`EIO=4`, `transport=websocket`), else 400. The token
/// comes later, in the CONNECT packet (check_token).
handshake_result check_socketio_upgrade(std::string_view resource);

} // namespace bellhop::ws
