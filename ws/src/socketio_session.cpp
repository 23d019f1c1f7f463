// The Socket.IO connection state machine (see socketio_session.hpp).
#include "socketio_session.hpp"

#include <algorithm>
#include <optional>

#include "bellhop/actors/domain.hpp"
#include "bellhop/telemetry/metrics.hpp"

namespace bellhop::ws {

namespace {

using json = nlohmann::json;
using sio::packet_type;

/// A native frame's event name (as a JSON string) and data (JSON text,
/// empty when the frame has none).
struct native_event {
  std::string name;       ///< plain text
  std::string name_json;  ///< quoted
  std::string data;
};

bool plain_name(std::string_view n) {
  if (n.empty())
    return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  return true;
}

/// Splits `{"event":"<name>"[,"data":<json>]}`. Host and session actors
/// build their frames as strings of exactly this shape, so the fast path
/// only slices; anything else is parsed.
std::optional<native_event> split_native(std::string_view f) {
  constexpr std::string_view head = "{\"event\":\"";
  constexpr std::string_view data_key = "\",\"data\":";
  if (f.substr(0, head.size()) == head) {
    auto rest = f.substr(head.size());
    auto q = rest.find('"');
    auto name = rest.substr(0, q);
    if (q != std::string_view::npos && plain_name(name)) {
      auto tail = rest.substr(q);
      native_event e{std::string{name}, "\"" + std::string{name} + "\"", {}};
      if (tail == "\"}")
        return e;
      if (tail.size() > data_key.size() + 1
          && tail.substr(0, data_key.size()) == data_key
          && tail.back() == '}') {
        e.data = std::string{
          tail.substr(data_key.size(), tail.size() - data_key.size() - 1)};
        return e;
      }
    }
  }
  auto j = json::parse(f, nullptr, false);
  if (!j.is_object() || !j.contains("event") || !j["event"].is_string())
    return std::nullopt;
  native_event e;
  e.name = j["event"].get<std::string>();
  e.name_json = j["event"].dump();
  if (auto d = j.find("data"); d != j.end())
    e.data = d->dump();
  return e;
}

/// The id of a notification document: its first key (fast path), or
/// parsed. nullopt when it has none.
std::optional<uint64_t> notification_id(std::string_view doc) {
  constexpr std::string_view head = "{\"id\":";
  if (doc.substr(0, head.size()) == head) {
    uint64_t id = 0;
    auto i = head.size();
    for (; i < doc.size() && doc[i] >= '0' && doc[i] <= '9' && i < 25; ++i)
      id = id * 10 + static_cast<uint64_t>(doc[i] - '0');
    if (i > head.size() && i < doc.size() && (doc[i] == ',' || doc[i] == '}'))
      return id > 0 ? std::optional<uint64_t>{id} : std::nullopt;
  }
  auto j = json::parse(doc, nullptr, false);
  if (!j.is_object())
    return std::nullopt;
  auto i = j.find("id");
  if (i == j.end() || !i->is_number_unsigned() || i->get<uint64_t>() == 0)
    return std::nullopt;
  return i->get<uint64_t>();
}

std::string event_frame(const std::string& payload,
                        std::optional<uint64_t> ack_id = std::nullopt) {
  return sio::message_frame(
    sio::encode_packet(packet_type::event, "/", ack_id, payload));
}

} // namespace

socketio_session::socketio_session(socketio_config cfg, socketio_port& port,
                                   std::string engine_sid)
  : cfg_(cfg), port_(port), engine_sid_(std::move(engine_sid)) {
  limits_.max_size = cfg_.max_payload;
}

void socketio_session::open(clock::time_point now) {
  port_.write(sio::encode_open(engine_sid_, cfg_.ping_interval.count(),
                               cfg_.ping_timeout.count(), cfg_.max_payload));
  ping_due_ = now + cfg_.ping_interval;
  connect_due_ = now + cfg_.connect_timeout;
  rearm();
}

void socketio_session::on_text(std::string_view frame, clock::time_point now) {
  if (closed())
    return;
  // The acks the server asked for are not counted (see owed_ack in
  // session_actor.cpp): socket.io-client acks each event as it comes.
  if (!owed_ack(frame) && !take_owed_event_ack(frame) && flooding(now))
    return shut_flooding();
  if (frame.size() > cfg_.max_payload)
    return protocol_error("frame too large");
  if (attachments_left_ > 0)
    return protocol_error("expected a binary attachment");
  auto e = sio::parse_eio(frame);
  if (!e)
    return protocol_error("unknown Engine.IO packet");
  switch (e->type) {
    case sio::eio_type::pong:
      if (awaiting_pong_) {
        awaiting_pong_ = false;
        ping_due_ = now + cfg_.ping_interval;
        rearm();
      }
      return;
    case sio::eio_type::message:
      return on_packet(e->data, now);
    case sio::eio_type::close:
      return shut(sio_normal, "client close", false);
    case sio::eio_type::noop:
      return;
    default:
      // open and upgrade never come from a client; in v4 only the server
      // pings ("invalid heartbeat direction").
      return protocol_error("unexpected Engine.IO packet");
  }
}

void socketio_session::on_binary(clock::time_point now) {
  if (closed())
    return;
  if (flooding(now))
    return shut_flooding();
  if (attachments_left_ == 0)
    return protocol_error("unexpected binary frame");
  if (--attachments_left_ == 0)
    finish_binary();
}

void socketio_session::on_timer(clock::time_point now) {
  if (closed())
    return;
  armed_ = {};  // fired: nothing is armed until rearm()
  if (phase_ == phase::awaiting_connect && now >= connect_due_)
    return shut(sio_policy, "connect timeout", false);
  if (awaiting_pong_) {
    if (now >= pong_due_)
      return shut(sio_ping_timeout, "ping timeout", false);
  } else if (now >= ping_due_) {
    port_.write(std::string{sio::ping_frame});
    awaiting_pong_ = true;
    pong_due_ = now + cfg_.ping_timeout;
  }
  rearm();
}

void socketio_session::from_session(uint64_t session_no,
                                    std::string_view frame) {
  if (!connected() || session_no != session_no_)
    return;
  auto e = split_native(frame);
  if (!e)
    return;
  std::string payload = "[" + e->name_json;
  if (!e->data.empty())
    payload.append(",").append(e->data);
  payload.push_back(']');
  // Notification events ask for an ack; the client's ack is the native
  // ack of that notification.
  std::optional<uint64_t> nid;
  if (category_of_type(e->name) && !e->data.empty())
    nid = notification_id(e->data);
  if (!nid) {
    port_.write(event_frame(payload));
  } else {
    auto ack_id = next_ack_id_++;
    acks_.emplace(ack_id, *nid);
    if (acks_.size() > cfg_.max_pending_acks)
      acks_.erase(acks_.begin());
    port_.write(event_frame(payload, ack_id));
  }
  if (!greeted_) {
    // That was the session's hello: what was answered here before it
    // follows it.
    greeted_ = true;
    for (auto& f : held_)
      port_.write(std::move(f));
    held_.clear();
  }
}

void socketio_session::close_from_session(uint64_t session_no, uint16_t code,
                                          std::string reason) {
  if (!connected() || session_no != session_no_)
    return;
  shut(code, std::move(reason), true);
}

void socketio_session::on_packet(std::string_view data,
                                 clock::time_point now) {
  std::string why;
  auto p = sio::parse_packet(data, limits_, &why);
  if (!p)
    return protocol_error(why);
  if (p->nsp != "/") {
    if (p->type != packet_type::connect)
      return protocol_error("unknown namespace");
    json e{{"message", "Invalid namespace"}};
    return port_.write(sio::message_frame(sio::encode_packet(
      packet_type::connect_error, p->nsp, std::nullopt, e.dump())));
  }
  switch (p->type) {
    case packet_type::connect:
      return on_connect(*p);
    case packet_type::disconnect:
      return on_disconnect(now);
    case packet_type::connect_error:
      return protocol_error("CONNECT_ERROR from a client");
    default:
      break;
  }
  if (!connected())
    return protocol_error("not connected");
  bool ack = p->type == packet_type::ack || p->type == packet_type::binary_ack;
  if (ack && !p->has_id)
    return protocol_error("ACK without an id");
  if (p->type == packet_type::event)
    return on_event(*p);
  if (p->type == packet_type::ack)
    return on_ack(p->id);
  binary_ = std::move(*p);
  attachments_left_ = binary_.attachments;
  if (attachments_left_ == 0)
    finish_binary();
}

void socketio_session::on_connect(const sio::packet& p) {
  if (connected())
    return protocol_error("already connected");
  auto answer = port_.connect(p.has_data ? p.data : json::object(),
                              ++session_no_);
  if (!answer.ok) {
    // The client may try again on this connection until connect_due_.
    json e{{"message", answer.message}};
    return port_.write(sio::message_frame(sio::encode_packet(
      packet_type::connect_error, "/", std::nullopt, e.dump())));
  }
  phase_ = phase::connected;
  greeted_ = false;
  held_.clear();
  // The session actor reaches this connection by posting to this (the
  // Asio) thread, so its first frame (hello) comes after this reply.
  json ok{{"sid", answer.sid}};
  port_.write(sio::message_frame(
    sio::encode_packet(packet_type::connect, "/", std::nullopt, ok.dump())));
  rearm();
}

void socketio_session::on_disconnect(clock::time_point now) {
  if (!connected())
    return protocol_error("not connected");
  port_.end_session();
  phase_ = phase::awaiting_connect;
  acks_.clear();  // acks of an ended session are not counted
  connect_due_ = now + cfg_.connect_timeout;
  rearm();
}

void socketio_session::confirm_receipt(const sio::packet& p) {
  // An ack asked for confirms receipt, whatever the event; the outcome
  // comes as events.
  if (p.has_id)
    write_answer(sio::message_frame(
      sio::encode_packet(packet_type::ack, "/", p.id, "[]")));
}

void socketio_session::write_answer(std::string frame) {
  if (greeted_)
    port_.write(std::move(frame));
  else
    held_.push_back(std::move(frame));
}

void socketio_session::on_event(const sio::packet& p) {
  // [name] or [name, {fields}] becomes the native op {"op":name, fields}:
  // mark-read as in §5, and an unknown name gets §5's error event.
  confirm_receipt(p);
  const auto& args = p.data;
  if (!args[0].is_string() || args.size() > 2
      || (args.size() == 2 && !args[1].is_object()))
    return send_error_event("expected an event name and at most one object");
  auto op = args.size() == 2 ? args[1] : json::object();
  op["op"] = args[0];
  port_.to_session(op.dump());
}

void socketio_session::on_ack(uint64_t ack_id) {
  auto i = acks_.find(ack_id);
  if (i == acks_.end())
    return;  // never asked, acked already, or forgotten
  port_.to_session(R"({"op":"ack","id":)" + std::to_string(i->second) + "}");
  acks_.erase(i);
}

void socketio_session::finish_binary() {
  if (binary_.type == packet_type::binary_ack) {
    on_ack(binary_.id);
  } else {
    confirm_receipt(binary_);
    send_error_event("binary data is not supported");
  }
  binary_ = sio::packet{};
}

void socketio_session::send_error_event(const std::string& message) {
  json e = json::array(
    {"error", {{"code", "invalid_request"}, {"message", message}}});
  write_answer(event_frame(e.dump()));
}

void socketio_session::protocol_error(const std::string& why) {
  shut(sio_protocol_error, why, false);
}

void socketio_session::shut(uint16_t code, std::string reason,
                            bool disconnect_first) {
  if (closed())
    return;
  if (disconnect_first && connected())
    port_.write(sio::message_frame(
      sio::encode_packet(packet_type::disconnect, "/", std::nullopt, "")));
  phase_ = phase::closed;
  port_.close(code, std::move(reason));
}

void socketio_session::shut_flooding() {
  // Refused by the message limit, as the native paths count theirs.
  telemetry::metrics().rate_limited.inc();
  shut(sio_policy, "too many messages", true);
}

bool socketio_session::owed_ack(std::string_view frame) const {
  // "43" (an Engine.IO message holding a Socket.IO ACK of the main
  // namespace), the ack id, then its data.
  if (frame.size() < 4 || frame.substr(0, 2) != "43")
    return false;
  uint64_t id = 0;
  std::size_t i = 2;
  for (; i < frame.size() && i < 21 && frame[i] >= '0' && frame[i] <= '9'; ++i)
    id = id * 10 + static_cast<uint64_t>(frame[i] - '0');
  return i > 2 && i < frame.size() && frame[i] == '[' && acks_.count(id) > 0;
}

bool socketio_session::take_owed_event_ack(std::string_view frame) {
  // `42["ack",{"id":N}]` (blanks allowed between the tokens), the ack event
  // of §5's op, read without a JSON parse: it is checked before the
  // message is counted.
  std::size_t i = 0;
  auto blanks = [&] {
    while (i < frame.size() && (frame[i] == ' ' || frame[i] == '\t'))
      ++i;
  };
  auto take = [&](std::string_view token) {
    blanks();
    if (frame.substr(i, token.size()) != token)
      return false;
    i += token.size();
    return true;
  };
  if (frame.substr(0, 2) != "42")
    return false;
  i = 2;
  if (!take("[") || !take(R"("ack")") || !take(",") || !take("{")
      || !take(R"("id")") || !take(":"))
    return false;
  blanks();
  uint64_t id = 0;
  std::size_t digits = 0;
  for (; i < frame.size() && digits < 19 && frame[i] >= '0' && frame[i] <= '9';
       ++i, ++digits)
    id = id * 10 + static_cast<uint64_t>(frame[i] - '0');
  if (digits == 0 || !take("}") || !take("]"))
    return false;
  blanks();
  if (i != frame.size())
    return false;
  // Owed: a notification written with an ack id and not acked yet. Taken
  // here, so that its ACK packet, or a second ack event, counts.
  for (auto a = acks_.begin(); a != acks_.end(); ++a)
    if (a->second == id) {
      acks_.erase(a);
      return true;
    }
  return false;
}

bool socketio_session::flooding(clock::time_point now) {
  while (!recent_.empty() && now - recent_.front() >= std::chrono::seconds(1))
    recent_.pop_front();
  recent_.push_back(now);
  return recent_.size() > cfg_.max_messages_per_second;
}

void socketio_session::rearm() {
  if (closed())
    return;
  auto due = awaiting_pong_ ? pong_due_ : ping_due_;
  if (phase_ == phase::awaiting_connect)
    due = std::min(due, connect_due_);
  if (due != armed_) {
    armed_ = due;
    port_.set_timer(due);
  }
}

} // namespace bellhop::ws
