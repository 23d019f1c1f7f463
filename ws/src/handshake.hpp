// The WebSocket handshake decision (§2, §5), as a pure function of the
// request's path, query and Authorization header: who is connecting, to
// which host's room, from which id to replay — or the HTTP status to refuse
// with. Local work only: websocketpp's validate handler must decide at once.
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

/// Decides on a `/ws` upgrade. `authorization` is the header's value ("" if
/// absent). Session limits are checked by the caller.
handshake_result check_handshake(const auth::jwt_verifier& jwt,
                                 std::string_view resource,
                                 std::string_view authorization);

} // namespace bellhop::ws
