// Fuzzes the WebSocket handshake decisions (ws/src/handshake.cpp):
// path_of, query_of, check_handshake (/ws) and check_socketio_upgrade
// (/socket.io/), which websocketpp's validate handler calls on every
// upgrade request, and check_token, which decides a Socket.IO CONNECT.
//
// The input is "<resource>\n<Authorization header value>" (no '\n': no
// header). Tokens are verified with the secret of jwt_fuzz.cpp, so the
// seeds' valid host and admin tokens (fuzz/make-jwt-seeds) get past the
// signature to the room rules.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bellhop/actors/domain.hpp"
#include "fuzz_check.hpp"
#include "handshake.hpp"

namespace {

using namespace bellhop;

void check_result(const ws::handshake_result& r) {
  if (r.status != 0) {
    FUZZ_CHECK(r.status == 400 || r.status == 401 || r.status == 403);
    FUZZ_CHECK(!r.code.empty() && !r.message.empty());
    return;
  }
  FUZZ_CHECK(!r.host_id.empty());
  FUZZ_CHECK(!r.who.sub.empty());
  if (r.who.role == auth::role::host)
    FUZZ_CHECK(r.host_id == r.who.sub);
  else
    FUZZ_CHECK(r.who.role == auth::role::admin && valid_id(r.host_id));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const auth::jwt_verifier jwt{[] {
    auth::jwt_config c;
    c.secret = "bellhop-fuzz-secret";  // as jwt_fuzz.cpp
    return c;
  }()};

  auto [resource, authorization] = fuzz::split_line(fuzz::as_text(data, size));

  auto path = ws::path_of(resource);
  FUZZ_CHECK(path.find('?') == std::string_view::npos);
  FUZZ_CHECK(path.size() <= resource.size());
  auto query = ws::query_of(resource);
  for (auto& [key, value] : query) {
    FUZZ_CHECK(!key.empty());
    FUZZ_CHECK(key.size() + value.size() <= resource.size());
  }

  auto r = ws::check_handshake(jwt, resource, authorization);
  check_result(r);
  if (r.status == 0 && r.has_after)
    FUZZ_CHECK(query.count("after") == 1);

  // A Socket.IO CONNECT: the header's value as its token, the query's
  // hostId as the room it names.
  auto named = query.find("hostId");
  auto t = ws::check_token(jwt, authorization,
                           named == query.end() ? nullptr : &named->second);
  check_result(t);
  FUZZ_CHECK(!t.has_after);

  auto sio = ws::check_socketio_upgrade(resource);
  if (sio.status == 0)
    FUZZ_CHECK(query["EIO"] == "4" && query["transport"] == "websocket");
  else
    FUZZ_CHECK(sio.status == 400);
  return 0;
}
