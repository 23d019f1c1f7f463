// Fuzzes websocketpp's side of a WebSocket connection as the gateway runs
// it (ws/src/server_config.hpp: the iostream transport, no locks): the
// HTTP upgrade request and then RFC 6455 frames, read by a server
// connection in pieces, as tcp_link::feed hands them over. Sockets and the
// gateway's handlers are left out: the validate handler takes any version
// 13 upgrade of /ws with the gateway's message limit, and what the
// connection writes is dropped. websocketpp is header-only, so all of its
// parsing is instrumented.
//
// The input's first byte seeds the cuts, as in request_input_fuzz.cpp: the
// rest is fed in pieces of 1 to 64 bytes, or (a seed over 239) at once.
// Checks: no message over the limit is handed on, and a connection that
// is closed takes no more bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "server_config.hpp"

namespace {

using bellhop::ws::server;
using websocketpp::connection_hdl;

constexpr std::size_t max_client_message = 16 * 1024;  // as gateway.cpp

server& endpoint() {
  static server srv = [] {
    server s;
    s.clear_access_channels(websocketpp::log::alevel::all);
    s.clear_error_channels(websocketpp::log::elevel::all);
    s.set_user_agent("bellhop");
    return s;
  }();
  return srv;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  uint8_t seed = data[0];
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

  auto con = endpoint().get_connection();
  auto* raw = con.get();
  con->set_validate_handler([raw](connection_hdl) {
    if (raw->get_request_header("Sec-WebSocket-Version").empty()
        || raw->get_resource().rfind("/ws", 0) != 0)
      return false;
    raw->set_max_message_size(max_client_message);
    return true;
  });
  con->set_message_handler([](connection_hdl, server::message_ptr m) {
    FUZZ_CHECK(m->get_payload().size() <= max_client_message);
  });
  con->set_write_handler(
    [](connection_hdl, const char*, std::size_t) { return std::error_code{}; });
  con->set_vector_write_handler(
    [](connection_hdl, const std::vector<websocketpp::transport::buffer>&) {
      return std::error_code{};
    });
  con->set_shutdown_handler([](connection_hdl) { return std::error_code{}; });
  con->start();

  uint32_t rng = seed * 2654435761u + 1;
  std::size_t at = 0;
  using websocketpp::session::state::closed;
  while (at < bytes.size() && con->get_state() != closed) {
    std::size_t piece = bytes.size() - at;
    if (seed < 240) {
      rng = rng * 1103515245u + 12345u;
      piece = std::min<std::size_t>(piece, 1 + (rng >> 16) % 64);
    }
    // As tcp_link::feed: websocketpp takes part of a piece at a time, and
    // nothing once it stops reading.
    const char* p = bytes.data() + at;
    std::size_t left = piece;
    while (left > 0 && con->get_state() != closed) {
      auto n = con->read_some(p, left);
      FUZZ_CHECK(n <= left);
      if (n == 0)
        break;
      p += n;
      left -= n;
    }
    at += piece;
  }
  con->eof();
  return 0;
}
