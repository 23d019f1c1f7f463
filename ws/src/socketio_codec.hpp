// The packets of Socket.IO v5 over Engine.IO v4 on the WebSocket transport
// (§6), as pure functions of strings: one text frame is one Engine.IO
// packet, and an Engine.IO message ("4...") carries one Socket.IO packet.
// The parser follows socket.io-parser's grammar and is stricter where that
// one is loose (see parse_packet); every input is bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace bellhop::ws::sio {

// ---------------------------------------------------------------- Engine.IO

/// Engine.IO v4 packet types: the first character of a text frame.
enum class eio_type : uint8_t {
  open = 0,
  close = 1,
  ping = 2,
  pong = 3,
  message = 4,
  upgrade = 5,
  noop = 6,
};

struct eio_packet {
  eio_type type = eio_type::noop;
  std::string_view data;  ///< the rest of the frame (a view into it)
};

/// Parses one text frame; nullopt when it is empty or its type unknown.
std::optional<eio_packet> parse_eio(std::string_view frame);

/// The open packet: `0{"sid":..,"upgrades":[],"pingInterval":..,
/// "pingTimeout":..,"maxPayload":..}` (no upgrades: WebSocket only).
std::string encode_open(std::string_view sid, int64_t ping_interval_ms,
                        int64_t ping_timeout_ms, std::size_t max_payload);

inline constexpr std::string_view ping_frame = "2";

// ---------------------------------------------------------------- Socket.IO

/// Socket.IO v5 packet types.
enum class packet_type : uint8_t {
  connect = 0,
  disconnect = 1,
  event = 2,
  ack = 3,
  connect_error = 4,
  binary_event = 5,
  binary_ack = 6,
};

/// One decoded Socket.IO packet.
struct packet {
  packet_type type = packet_type::connect;
  std::string nsp = "/";
  std::size_t attachments = 0;  ///< binary_event and binary_ack only
  bool has_id = false;
  uint64_t id = 0;  ///< the ack id, when has_id
  bool has_data = false;
  nlohmann::json data;  ///< the payload, when has_data
};

/// Bounds of the parser. Over any of them a packet is refused.
struct limits {
  std::size_t max_size = 64 * 1024;  ///< bytes of one packet
  std::size_t max_depth = 32;        ///< nesting of arrays and objects
  std::size_t max_attachments = 16;  ///< binary attachments of one packet
};

/// Ack ids are JavaScript numbers: at most 2^53 - 1.
inline constexpr uint64_t max_ack_id = (uint64_t{1} << 53) - 1;

/// Decodes the data of an Engine.IO message. On failure: nullopt, and a
/// short reason in `why` when it is given. Stricter than socket.io-parser:
/// the attachment count needs a digit, an ack id is a safe integer, and
/// EVENT and ACK packets need their array payload.
std::optional<packet> parse_packet(std::string_view s, const limits& lim = {},
                                   std::string* why = nullptr);

/// Encodes a packet whose payload is JSON text already (empty: none).
/// Returns the Socket.IO packet, without Engine.IO's "4".
std::string encode_packet(packet_type t, std::string_view nsp,
                          std::optional<uint64_t> id,
                          std::string_view payload,
                          std::size_t attachments = 0);
/// The same for a decoded packet (its data serialised).
std::string encode_packet(const packet& p);

/// The text frame that carries a Socket.IO packet: "4" + packet.
std::string message_frame(std::string_view sio_packet);

} // namespace bellhop::ws::sio
