// The Socket.IO / Engine.IO packet codec (see socketio_codec.hpp).
#include "socketio_codec.hpp"

#include <array>

#include "bellhop/actors/parse.hpp"

namespace bellhop::ws::sio {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/// Event names a client may not use (socket.io-parser's RESERVED_EVENTS).
constexpr std::array<std::string_view, 6> reserved_events = {
  "connect",       "connect_error",  "disconnect",
  "disconnecting", "newListener",    "removeListener"};

bool is_reserved(const std::string& name) {
  for (auto r : reserved_events)
    if (name == r)
      return true;
  return false;
}

/// socket.io-parser's isPayloadValid for each packet type.
bool payload_valid(packet_type t, const nlohmann::json& j) {
  switch (t) {
    case packet_type::connect:
      return j.is_object();
    case packet_type::disconnect:
      return false;  // DISCONNECT carries no payload
    case packet_type::connect_error:
      return j.is_string() || j.is_object();
    case packet_type::event:
    case packet_type::binary_event:
      return j.is_array() && !j.empty()
             && (j[0].is_number()
                 || (j[0].is_string()
                     && !is_reserved(j[0].get<std::string>())));
    case packet_type::ack:
    case packet_type::binary_ack:
      return j.is_array();
  }
  return false;
}

bool needs_payload(packet_type t) {
  return t == packet_type::event || t == packet_type::binary_event
         || t == packet_type::ack || t == packet_type::binary_ack;
}

bool is_binary(packet_type t) {
  return t == packet_type::binary_event || t == packet_type::binary_ack;
}

} // namespace

std::optional<eio_packet> parse_eio(std::string_view frame) {
  if (frame.empty() || frame[0] < '0' || frame[0] > '6')
    return std::nullopt;
  return eio_packet{static_cast<eio_type>(frame[0] - '0'), frame.substr(1)};
}

std::string encode_open(std::string_view sid, int64_t ping_interval_ms,
                        int64_t ping_timeout_ms, std::size_t max_payload) {
  nlohmann::ordered_json j;
  j["sid"] = sid;
  j["upgrades"] = nlohmann::ordered_json::array();
  j["pingInterval"] = ping_interval_ms;
  j["pingTimeout"] = ping_timeout_ms;
  j["maxPayload"] = max_payload;
  return "0" + j.dump();
}

std::optional<packet> parse_packet(std::string_view s, const limits& lim,
                                   std::string* why) {
  auto fail = [why](const char* reason) -> std::optional<packet> {
    if (why)
      *why = reason;
    return std::nullopt;
  };
  if (s.empty())
    return fail("empty packet");
  if (s.size() > lim.max_size)
    return fail("packet too large");
  if (s[0] < '0' || s[0] > '6')
    return fail("unknown packet type");
  packet p;
  p.type = static_cast<packet_type>(s[0] - '0');
  std::size_t i = 1;
  // <attachments>- for binary packets
  if (is_binary(p.type)) {
    uint64_t n = 0;
    auto start = i;
    for (; i < s.size() && is_digit(s[i]); ++i) {
      n = n * 10 + static_cast<uint64_t>(s[i] - '0');
      if (n > lim.max_attachments)
        return fail("too many attachments");
    }
    if (i == start || i == s.size() || s[i] != '-')
      return fail("illegal attachments");
    p.attachments = static_cast<std::size_t>(n);
    ++i;
  }
  // /<namespace>, (the comma may be missing at the end of the packet)
  if (i < s.size() && s[i] == '/') {
    auto start = i;
    while (i < s.size() && s[i] != ',')
      ++i;
    p.nsp = std::string{s.substr(start, i - start)};
    if (i < s.size())
      ++i;
  }
  // <ack id>
  if (i < s.size() && is_digit(s[i])) {
    uint64_t id = 0;
    for (; i < s.size() && is_digit(s[i]); ++i) {
      id = id * 10 + static_cast<uint64_t>(s[i] - '0');
      if (id > max_ack_id)
        return fail("invalid ack id");
    }
    p.has_id = true;
    p.id = id;
  }
  // <JSON payload>
  if (i < s.size()) {
    auto rest = s.substr(i);
    if (json_too_deep(rest, lim.max_depth))
      return fail("payload nested too deeply");
    auto j = parse_json_document(rest);
    if (j.is_discarded())
      return fail("payload is not JSON");
    if (!payload_valid(p.type, j))
      return fail("invalid payload");
    p.has_data = true;
    p.data = std::move(j);
  } else if (needs_payload(p.type)) {
    return fail("missing payload");
  }
  return p;
}

std::string encode_packet(packet_type t, std::string_view nsp,
                          std::optional<uint64_t> id,
                          std::string_view payload, std::size_t attachments) {
  std::string s(1, static_cast<char>('0' + static_cast<int>(t)));
  if (is_binary(t))
    s.append(std::to_string(attachments)).push_back('-');
  if (!nsp.empty() && nsp != "/")
    s.append(nsp).push_back(',');
  if (id)
    s.append(std::to_string(*id));
  s.append(payload);
  return s;
}

std::string encode_packet(const packet& p) {
  std::optional<uint64_t> id;
  if (p.has_id)
    id = p.id;
  return encode_packet(p.type, p.nsp, id, p.has_data ? p.data.dump() : "",
                       p.attachments);
}

std::string message_frame(std::string_view sio_packet) {
  std::string f;
  f.reserve(sio_packet.size() + 1);
  f.push_back('4');
  f.append(sio_packet);
  return f;
}

} // namespace bellhop::ws::sio
