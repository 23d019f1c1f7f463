// Fuzzes the Socket.IO connection state machine (ws/src/socketio_session.cpp)
// the way the gateway drives it: text frames from the client (on_text, the
// real entry point of every Socket.IO packet), binary frames, timer
// expiries and the session actor's frames, against a port that checks what
// the state machine does to the world.
//
// The input is a script, one step a line:
//   b          a binary frame
//   w<ms>      the clock moves on <ms> (default 1000); the timer fires if due
//   s<k><json> the session actor sends event number k (a digit, see
//              `events`) with <json> as data (none when empty)
//   x          the session actor closes the connection
//   r          the gateway's next CONNECT answers flip (accept <-> refuse)
//   anything else is a text frame from the client, e.g. 40{"token":"t"}
// Checked: nothing is written after the close, the close comes once, every
// frame written is one the codec itself accepts, and every op handed to the
// session actor is a JSON object with a string "op".
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_check.hpp"
#include "socketio_session.hpp"

namespace {

using namespace bellhop::ws;
using namespace std::chrono_literals;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

/// Event names that host and session actors write (§5).
constexpr std::string_view events[] = {
  "hello",      "notification", "read",   "error",  "new_booking",
  "booking_cancelled", "new_review", "new_message", "system", "pong"};

struct checking_port : socketio_port {
  int closes = 0;
  bool accept = true;
  uint64_t session_no = 0;
  clock_type::time_point timer{};
  bool armed = false;

  void write(std::string frame) override {
    FUZZ_CHECK(closes == 0);
    FUZZ_CHECK(!frame.empty());
    if (frame == sio::ping_frame)
      return;
    if (frame[0] == '0') {
      FUZZ_CHECK(json::parse(frame.substr(1), nullptr, false).is_object());
      return;
    }
    FUZZ_CHECK(frame[0] == '4');
    sio::limits any;
    any.max_size = std::numeric_limits<std::size_t>::max();
    any.max_depth = std::numeric_limits<std::size_t>::max();
    std::string why;
    auto p = sio::parse_packet(std::string_view{frame}.substr(1), any, &why);
    if (!p)
      std::fprintf(stderr, "unparsable frame written (%s): %s\n", why.c_str(),
                   frame.c_str());
    FUZZ_CHECK(p.has_value());
  }
  void close(uint16_t code, std::string reason) override {
    FUZZ_CHECK(closes == 0);
    FUZZ_CHECK(code >= 1000 && code < 5000);
    ++closes;
  }
  connect_answer connect(const json& auth, uint64_t no) override {
    FUZZ_CHECK(auth.is_object());
    FUZZ_CHECK(no > session_no);
    session_no = no;
    if (!accept)
      return {false, {}, "a valid token is required"};
    return {true, "s_" + std::to_string(no), {}};
  }
  void to_session(std::string op) override {
    FUZZ_CHECK(closes == 0);
    // What on_client_text expects: an object with a string op.
    auto j = json::parse(op, nullptr, false);
    FUZZ_CHECK(j.is_object() && j.contains("op") && j["op"].is_string());
    // An ack made from an ACK packet names a notification id. (A client
    // event ["ack",{...}] is passed on as it came, keys sorted, and the
    // session actor validates it like any native op.)
    if (op.rfind(R"({"op":"ack",)", 0) == 0)
      FUZZ_CHECK(j["id"].is_number_unsigned() && j["id"].get<uint64_t>() >= 1);
  }
  void end_session() override {
  }
  void set_timer(clock_type::time_point at) override {
    timer = at;
    armed = true;
  }
};

uint64_t number(std::string_view s, uint64_t fallback) {
  if (s.empty())
    return fallback;
  uint64_t v = 0;
  for (char c : s.substr(0, 9)) {
    if (c < '0' || c > '9')
      return fallback;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  checking_port port;
  socketio_config cfg;
  cfg.ping_interval = 300ms;
  cfg.ping_timeout = 200ms;
  cfg.connect_timeout = 1000ms;
  cfg.max_payload = 4096;
  cfg.max_pending_acks = 4;
  socketio_session sio{cfg, port, "e_1"};
  auto now = clock_type::time_point{} + 1000h;
  sio.open(now);

  auto rest = bellhop::fuzz::as_text(data, size);
  while (!rest.empty() && !sio.closed()) {
    auto [line, next] = bellhop::fuzz::split_line(rest);
    rest = next;
    char op = line.empty() ? '\0' : line[0];
    if (op == 'b') {
      sio.on_binary(now);
    } else if (op == 'w') {
      now += std::chrono::milliseconds(number(line.substr(1), 1000));
      if (port.armed && now >= port.timer) {
        port.armed = false;
        sio.on_timer(now);
      }
    } else if (op == 's' && line.size() >= 2 && line[1] >= '0'
               && line[1] <= '9') {
      // In the actors' key order, {"event":..,"data":..}: the fast path.
      nlohmann::ordered_json frame{{"event", events[line[1] - '0']}};
      auto payload = line.substr(2);
      if (!payload.empty()) {
        auto d = json::parse(payload, nullptr, false);
        if (d.is_discarded())
          continue;
        frame["data"] = std::move(d);
      }
      sio.from_session(port.session_no, frame.dump());
    } else if (op == 'x') {
      sio.close_from_session(port.session_no, 4000, "ttl");
    } else if (op == 'r') {
      port.accept = !port.accept;
    } else {
      sio.on_text(line, now);
    }
    FUZZ_CHECK(sio.closed() == (port.closes == 1));
  }
  return 0;
}
