// Fuzzes the Socket.IO / Engine.IO packet codec (ws/src/socketio_codec.cpp):
// parse_eio on the input as a text frame, and parse_packet on it as the
// Socket.IO packet inside an Engine.IO message (the frame without its
// leading "4"). Whatever parse_packet accepts must keep its documented
// bounds and survive encode_packet -> parse_packet unchanged.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "fuzz_check.hpp"
#include "socketio_codec.hpp"

namespace {

using namespace bellhop::ws;
using sio::packet_type;

bool is_binary(packet_type t) {
  return t == packet_type::binary_event || t == packet_type::binary_ack;
}

std::size_t depth_of(const nlohmann::json& j) {
  if (!j.is_structured())
    return 0;
  std::size_t d = 0;
  for (auto& x : j)
    d = std::max(d, depth_of(x));
  return d + 1;
}

void check_packet(const sio::packet& p, const sio::limits& lim) {
  FUZZ_CHECK(static_cast<int>(p.type) <= 6);
  FUZZ_CHECK(!p.nsp.empty() && p.nsp[0] == '/');
  FUZZ_CHECK(p.nsp.find(',') == std::string::npos);
  FUZZ_CHECK(!p.has_id || p.id <= sio::max_ack_id);
  FUZZ_CHECK(p.attachments <= lim.max_attachments);
  FUZZ_CHECK(is_binary(p.type) || p.attachments == 0);
  switch (p.type) {
    case packet_type::event:
    case packet_type::binary_event:
      FUZZ_CHECK(p.has_data && p.data.is_array() && !p.data.empty());
      break;
    case packet_type::ack:
    case packet_type::binary_ack:
      FUZZ_CHECK(p.has_data && p.data.is_array());
      break;
    case packet_type::connect:
      FUZZ_CHECK(!p.has_data || p.data.is_object());
      break;
    case packet_type::disconnect:
      FUZZ_CHECK(!p.has_data);
      break;
    case packet_type::connect_error:
      FUZZ_CHECK(!p.has_data || p.data.is_string() || p.data.is_object());
      break;
  }
  if (p.has_data)
    FUZZ_CHECK(depth_of(p.data) <= lim.max_depth);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  auto text = bellhop::fuzz::as_text(data, size);

  if (auto e = sio::parse_eio(text)) {
    FUZZ_CHECK(!text.empty() && static_cast<int>(e->type) == text[0] - '0');
    FUZZ_CHECK(e->data.size() + 1 == text.size());
  } else {
    FUZZ_CHECK(text.empty() || text[0] < '0' || text[0] > '6');
  }

  const sio::limits lim;
  std::string why;
  auto p = sio::parse_packet(text, lim, &why);
  if (!p) {
    FUZZ_CHECK(!why.empty());
    return 0;
  }
  check_packet(*p, lim);

  // Encoding what was decoded gives the same packet back. The encoding may
  // be longer (1E5 becomes 100000.0), so its size is not bounded here.
  sio::limits any_size = lim;
  any_size.max_size = std::numeric_limits<std::size_t>::max();
  auto again = sio::parse_packet(sio::encode_packet(*p), any_size, &why);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->type == p->type && again->nsp == p->nsp);
  FUZZ_CHECK(again->attachments == p->attachments);
  FUZZ_CHECK(again->has_id == p->has_id && again->id == p->id);
  FUZZ_CHECK(again->has_data == p->has_data && again->data == p->data);

  auto frame = sio::message_frame(sio::encode_packet(*p));
  auto e = sio::parse_eio(frame);
  FUZZ_CHECK(e && e->type == sio::eio_type::message);
  return 0;
}
