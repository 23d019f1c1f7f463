// The Socket.IO connection state machine against a recording port and a
// hand-driven clock: handshake, CONNECT and its refusals, the heartbeat,
// the translation of native frames and ops, acks, and every way the
// connection closes.
#include <algorithm>

#include <catch2/catch.hpp>

#include "bellhop/telemetry/metrics.hpp"
#include "socketio_session.hpp"

using namespace bellhop::ws;
using namespace std::chrono_literals;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

namespace {

struct recording_port : socketio_port {
  std::vector<std::string> frames;
  std::vector<std::string> ops;
  std::vector<json> auths;
  std::vector<std::pair<uint16_t, std::string>> closes;
  int ended = 0;
  clock_type::time_point timer{};
  connect_answer answer{true, "s_1", {}};

  void write(std::string frame) override {
    frames.push_back(std::move(frame));
  }
  void close(uint16_t code, std::string reason) override {
    closes.emplace_back(code, std::move(reason));
  }
  uint64_t session_no = 0;  ///< the last CONNECT's
  connect_answer connect(const json& auth, uint64_t no) override {
    auths.push_back(auth);
    session_no = no;
    return answer;
  }
  void to_session(std::string op) override {
    ops.push_back(std::move(op));
  }
  void end_session() override {
    ++ended;
  }
  void set_timer(clock_type::time_point at) override {
    timer = at;
  }
};

struct fixture {
  recording_port port;
  socketio_config cfg = [] {
    socketio_config c;
    c.ping_interval = 300ms;
    c.ping_timeout = 200ms;
    c.connect_timeout = 1000ms;
    c.max_pending_acks = 4;
    return c;
  }();
  socketio_session sio{cfg, port, "e_1"};
  clock_type::time_point now = clock_type::now();

  fixture() {
    sio.open(now);
  }
  void text(const std::string& frame) {
    sio.on_text(frame, now);
  }
  /// Moves the clock on, firing the timer whenever it is due; a live
  /// client answers each ping at once.
  void advance(std::chrono::milliseconds d, bool live = false) {
    auto until = now + d;
    while (port.timer <= until && !sio.closed()) {
      now = port.timer;
      auto before = port.timer;
      sio.on_timer(now);
      if (live && !sio.closed() && last() == "2")
        sio.on_text("3", now);
      if (port.timer == before)
        break;
    }
    now = until;
  }
  /// CONNECT, and the session's first frame, its hello.
  void connect() {
    text(R"(40{"token":"t"})");
    REQUIRE(sio.connected());
    hello();
  }
  void hello() {
    sio.from_session(port.session_no, R"({"event":"hello","data":{}})");
  }
  const std::string& last() const {
    return port.frames.back();
  }
  bool closed_with(uint16_t code) const {
    return sio.closed() && port.closes.size() == 1
           && port.closes[0].first == code;
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "the open packet comes first, without upgrades") {
  REQUIRE(port.frames.size() == 1);
  CHECK(port.frames[0]
        == R"(0{"sid":"e_1","upgrades":[],"pingInterval":300,)"
           R"("pingTimeout":200,"maxPayload":65536})");
}

TEST_CASE_METHOD(fixture, "CONNECT with a token starts a session") {
  text(R"(40{"token":"abc"})");
  REQUIRE(port.auths.size() == 1);
  CHECK(port.auths[0] == json{{"token", "abc"}});
  CHECK(last() == R"(40{"sid":"s_1"})");
  CHECK(sio.connected());
}

TEST_CASE_METHOD(fixture, "CONNECT without a payload authorises an empty one") {
  text("40");
  REQUIRE(port.auths.size() == 1);
  CHECK(port.auths[0] == json::object());
}

TEST_CASE_METHOD(fixture, "a refused CONNECT: CONNECT_ERROR, then a retry") {
  port.answer = {false, {}, "unauthorized"};
  text(R"(40{"token":"bad"})");
  CHECK(last() == R"(44{"message":"unauthorized"})");
  CHECK_FALSE(sio.connected());
  CHECK_FALSE(sio.closed());
  port.answer = {true, "s_2", {}};
  text(R"(40{"token":"good"})");
  CHECK(last() == R"(40{"sid":"s_2"})");
}

TEST_CASE_METHOD(fixture, "another namespace is refused, the socket stays") {
  text("40/admin,");
  CHECK(last() == R"(44/admin,{"message":"Invalid namespace"})");
  text("40/random");
  CHECK(last() == R"(44/random,{"message":"Invalid namespace"})");
  CHECK(port.auths.empty());
  CHECK_FALSE(sio.closed());
}

TEST_CASE_METHOD(fixture, "without CONNECT the connect timeout closes") {
  advance(999ms, true);  // pongs do not count as CONNECT
  CHECK(std::count(port.frames.begin(), port.frames.end(), "2") == 3);
  CHECK_FALSE(sio.closed());
  advance(1ms, true);
  CHECK(closed_with(sio_policy));
}

TEST_CASE_METHOD(fixture, "a first packet that is not CONNECT closes") {
  text(R"(42["mark-read",{"ids":[1]}])");
  CHECK(closed_with(sio_protocol_error));
  CHECK(port.ops.empty());
}

TEST_CASE_METHOD(fixture, "an invalid handshake closes (the suite's 4abc)") {
  text("4abc");
  CHECK(closed_with(sio_protocol_error));
}

TEST_CASE_METHOD(fixture, "the server pings; a missed pong closes") {
  connect();
  advance(299ms);
  CHECK(last() != "2");
  advance(1ms);
  CHECK(last() == "2");
  advance(100ms);
  text("3");
  advance(299ms);
  CHECK(std::count(port.frames.begin(), port.frames.end(), "2") == 1);
  advance(1ms);
  CHECK(std::count(port.frames.begin(), port.frames.end(), "2") == 2);
  advance(199ms);
  CHECK_FALSE(sio.closed());
  advance(1ms);
  CHECK(closed_with(sio_ping_timeout));
}

TEST_CASE_METHOD(fixture, "pings run before CONNECT too") {
  advance(300ms);
  CHECK(last() == "2");
  text("3");
  CHECK_FALSE(sio.closed());
}

TEST_CASE_METHOD(fixture, "a client ping is the wrong heartbeat direction") {
  text("2");
  CHECK(closed_with(sio_protocol_error));
}

TEST_CASE_METHOD(fixture, "native frames become events") {
  connect();
  sio.from_session(1, R"({"event":"hello","data":{"sessionId":"s_1"}})");
  CHECK(last() == R"(42["hello",{"sessionId":"s_1"}])");
  sio.from_session(1, R"({"event":"pong"})");
  CHECK(last() == R"(42["pong"])");
  sio.from_session(1, R"({"event":"read","data":{"ids":[1],"upTo":null}})");
  CHECK(last() == R"(42["read",{"ids":[1],"upTo":null}])");
  // Not in the fast path's shape: parsed.
  sio.from_session(1, R"({ "event": "error", "data": {"code": "x"} })");
  CHECK(last() == R"(42["error",{"code":"x"}])");
}

TEST_CASE_METHOD(fixture, "notification events ask for an ack that counts") {
  connect();
  sio.from_session(1,
                   R"({"event":"new_booking","data":{"id":17,"hostId":"h1"}})");
  CHECK(last() == R"(420["new_booking",{"id":17,"hostId":"h1"}])");
  sio.from_session(1, R"({"event":"system","data":{"hostId":"h1","id":18}})");
  CHECK(last() == R"(421["system",{"hostId":"h1","id":18}])");
  text("431[]");
  text("430[]");
  REQUIRE(port.ops.size() == 2);
  CHECK(port.ops[0] == R"({"op":"ack","id":18})");
  CHECK(port.ops[1] == R"({"op":"ack","id":17})");
  text("430[]");  // twice: once only
  text("4399[]");  // never sent: ignored
  CHECK(port.ops.size() == 2);
  CHECK_FALSE(sio.closed());
}

TEST_CASE_METHOD(fixture, "the acks the server asked for do not count as "
                          "frames for the 1008 limit") {
  connect();
  now += 1000ms;  // CONNECT was a frame too
  for (int id = 1; id <= 4; ++id)
    sio.from_session(1, "{\"event\":\"new_message\",\"data\":{\"id\":"
                          + std::to_string(id) + "}}");
  for (int i = 0; i < 20; ++i)
    text("3");
  for (int ack = 0; ack < 4; ++ack)
    text("43" + std::to_string(ack) + "[]");
  CHECK(port.ops.size() == 4);
  CHECK_FALSE(sio.closed());
  text("430[]");  // acked already: a frame like any other, one too many
  CHECK(closed_with(sio_policy));
}

TEST_CASE_METHOD(fixture, "an ack event of a notification sent here does not "
                          "count either, once") {
  connect();
  now += 1000ms;
  for (int id = 1; id <= 4; ++id)
    sio.from_session(1, "{\"event\":\"new_message\",\"data\":{\"id\":"
                          + std::to_string(id) + "}}");
  for (int i = 0; i < 20; ++i)
    text("3");
  text(R"(42["ack",{"id":1}])");
  text(R"(42[ "ack" , { "id" : 2 } ])");  // blanks, as other clients write it
  text(R"(42["ack",{"id":3}])");
  text("433[]");  // the ACK packet of id 4's event
  CHECK(port.ops.size() == 4);
  CHECK_FALSE(sio.closed());
  text("432[]");  // id 3's event, acked already by the ack event: counts
  CHECK(closed_with(sio_policy));
}

TEST_CASE_METHOD(fixture, "pending acks are bounded; the oldest is forgotten") {
  connect();
  for (int id = 1; id <= 5; ++id)
    sio.from_session(1, "{\"event\":\"new_message\",\"data\":{\"id\":"
                          + std::to_string(id) + "}}");
  text("430[]");  // forgotten (max_pending_acks is 4)
  text("434[]");
  REQUIRE(port.ops.size() == 1);
  CHECK(port.ops[0] == R"({"op":"ack","id":5})");
}

TEST_CASE_METHOD(fixture, "an ack with arguments, or in binary, counts too") {
  connect();
  sio.from_session(1, R"({"event":"new_review","data":{"id":3}})");
  sio.from_session(1, R"({"event":"new_review","data":{"id":4}})");
  text(R"(430["ok",{"x":1}])");
  text(R"(461-1[{"_placeholder":true,"num":0}])");
  CHECK(port.ops.size() == 1);
  sio.on_binary(now);
  REQUIRE(port.ops.size() == 2);
  CHECK(port.ops[1] == R"({"op":"ack","id":4})");
}

TEST_CASE_METHOD(fixture, "mark-read and other events become native ops") {
  connect();
  text(R"(42["mark-read",{"ids":[17]}])");
  text(R"(42["mark-read",{"all":true,"op":"ping"}])");
  text(R"(42["ping"])");
  REQUIRE(port.ops.size() == 3);
  CHECK(json::parse(port.ops[0]) == json{{"op", "mark-read"}, {"ids", {17}}});
  CHECK(json::parse(port.ops[1]) == json{{"op", "mark-read"}, {"all", true}});
  CHECK(json::parse(port.ops[2]) == json{{"op", "ping"}});
  text(R"(427["mark-read",{"upTo":3}])");
  CHECK(last() == "437[]");  // receipt
}

TEST_CASE_METHOD(fixture, "events of another shape get the error event") {
  connect();
  text(R"(42["mark-read",[1,2]])");
  text(R"(42[5,{}])");
  text(R"(42["a",{},{}])");
  CHECK(port.ops.empty());
  CHECK(std::count_if(port.frames.begin(), port.frames.end(), [](auto& f) {
          return f.rfind(R"(42["error",{"code":"invalid_request")", 0) == 0;
        })
        == 3);
  CHECK_FALSE(sio.closed());
  // One that asked for an ack gets it all the same: it was received.
  text(R"(429[7])");
  CHECK(std::count(port.frames.begin(), port.frames.end(), "439[]") == 1);
}

TEST_CASE_METHOD(fixture, "answers to packets sent with CONNECT come after "
                          "the session's hello") {
  // §5, §6: hello is the first event. A client that sends events right
  // behind its CONNECT gets their receipts and errors after it.
  text(R"(40{"token":"t"})");
  text(R"(421["ping"])");
  text(R"(42[1])");
  auto before = port.frames.size();
  CHECK(port.frames.back() == R"(40{"sid":"s_1"})");
  hello();
  REQUIRE(port.frames.size() == before + 3);
  CHECK(port.frames[before].rfind(R"(42["hello",)", 0) == 0);
  CHECK(port.frames[before + 1] == "431[]");
  CHECK(port.frames[before + 2].rfind(R"(42["error",)", 0) == 0);
  // After hello, answers go at once.
  text(R"(422["ping"])");
  CHECK(last() == "432[]");
  SECTION("a new session on the connection waits for its own hello") {
    text("41");
    text(R"(40{"token":"t"})");
    text(R"(423["ping"])");
    auto n = port.frames.size();
    hello();
    REQUIRE(port.frames.size() == n + 2);
    CHECK(port.frames[n + 1] == "433[]");
  }
}

TEST_CASE_METHOD(fixture, "a payload that is not a non-empty array closes") {
  connect();
  SECTION("an object") {
    text("42{}");
  }
  SECTION("an empty array") {
    text("42[]");
  }
  SECTION("none") {
    text("42");
  }
  SECTION("a bad ack id") {
    text(R"(42abc["message-with-ack",1,"2",{"3":[false]}])");
  }
  SECTION("an ACK without id") {
    text("43[]");
  }
  CHECK(closed_with(sio_protocol_error));
}

TEST_CASE_METHOD(fixture, "the session's close sends DISCONNECT first") {
  connect();
  sio.close_from_session(1, 4000, "ttl");
  CHECK(last() == "41");
  REQUIRE(port.closes.size() == 1);
  CHECK(port.closes[0] == std::make_pair(uint16_t{4000}, std::string{"ttl"}));
  sio.from_session(1, R"({"event":"pong"})");  // nothing after the close
  CHECK(last() == "41");
}

TEST_CASE_METHOD(fixture, "the client's DISCONNECT ends the session only") {
  connect();
  text("41");
  CHECK(port.ended == 1);
  CHECK_FALSE(sio.closed());
  CHECK_FALSE(sio.connected());
  auto n = port.frames.size();
  sio.from_session(1, R"({"event":"pong"})");  // the old session: dropped
  sio.close_from_session(1, 4000, "ttl");
  CHECK(port.frames.size() == n);
  CHECK(port.closes.empty());
  port.answer = {true, "s_2", {}};
  text("40{\"token\":\"t\"}");  // a new session, number 2
  sio.from_session(2, R"({"event":"pong"})");
  CHECK(last() == R"(42["pong"])");
}

TEST_CASE_METHOD(fixture, "after DISCONNECT the connect timeout runs again") {
  connect();
  advance(250ms, true);
  text("41");
  advance(999ms, true);
  CHECK_FALSE(sio.closed());
  advance(1ms, true);
  CHECK(closed_with(sio_policy));
}

TEST_CASE_METHOD(fixture, "packets that are invalid in their state close") {
  SECTION("DISCONNECT before CONNECT") {
    text("41");
  }
  SECTION("CONNECT twice") {
    connect();
    text("40");
  }
  SECTION("CONNECT_ERROR from the client") {
    text(R"(44{"message":"x"})");
  }
  SECTION("an event to another namespace") {
    connect();
    text(R"(42/admin,["x"])");
  }
  SECTION("Engine.IO open or upgrade") {
    text("5");
  }
  SECTION("an unknown Engine.IO type") {
    text("9");
  }
  SECTION("an empty frame") {
    text("");
  }
  SECTION("a binary frame nobody announced") {
    connect();
    sio.on_binary(now);
  }
  SECTION("text while attachments are due") {
    connect();
    text(R"(452-["x",{"_placeholder":true,"num":0},)"
         R"({"_placeholder":true,"num":1}])");
    sio.on_binary(now);
    text(R"(42["ping"])");
  }
  CHECK(closed_with(sio_protocol_error));
}

TEST_CASE_METHOD(fixture, "a binary event is read, then refused by an event") {
  connect();
  text(R"(451-["x",{"_placeholder":true,"num":0}])");
  sio.on_binary(now);
  CHECK(last().rfind(R"(42["error",)", 0) == 0);
  CHECK(port.ops.empty());
  CHECK_FALSE(sio.closed());
  // With an ack id, its receipt is acknowledged too.
  text(R"(451-3["x",{"_placeholder":true,"num":0}])");
  sio.on_binary(now);
  CHECK(std::count(port.frames.begin(), port.frames.end(), "433[]") == 1);
  CHECK(last().rfind(R"(42["error",)", 0) == 0);
}

TEST_CASE_METHOD(fixture, "Engine.IO close and noop") {
  text("6");
  CHECK_FALSE(sio.closed());
  text("1");
  CHECK(closed_with(sio_normal));
}

TEST_CASE_METHOD(fixture, "frames over maxPayload close") {
  connect();
  text("42[\"x\",\"" + std::string(cfg.max_payload, 'a') + "\"]");
  CHECK(closed_with(sio_protocol_error));
}

TEST_CASE_METHOD(fixture, "more than 20 frames in a second close with 1008") {
  connect();
  now += 1000ms;  // CONNECT was a frame too
  for (int i = 0; i < 20; ++i)
    text("3");
  CHECK_FALSE(sio.closed());
  now += 1000ms;
  for (int i = 0; i < 20; ++i)
    text("3");
  CHECK_FALSE(sio.closed());
  auto refused = bellhop::telemetry::metrics().rate_limited.value();
  text("3");
  CHECK(last() == "41");
  CHECK(closed_with(sio_policy));
  CHECK(bellhop::telemetry::metrics().rate_limited.value() == refused + 1);
}

TEST_CASE_METHOD(fixture, "binary frames count toward the 1008 limit too") {
  connect();
  now += 1000ms;
  std::string announce = R"(4516-["x")";
  for (int i = 0; i < 16; ++i)
    announce += R"(,{"_placeholder":true,"num":)" + std::to_string(i) + "}";
  announce += "]";
  auto refused = bellhop::telemetry::metrics().rate_limited.value();
  // Two events of 16 attachments: the 21st frame is a binary one.
  for (int event = 0; event < 2 && !sio.closed(); ++event) {
    text(announce);
    for (int i = 0; i < 16 && !sio.closed(); ++i)
      sio.on_binary(now);
  }
  CHECK(closed_with(sio_policy));
  CHECK(bellhop::telemetry::metrics().rate_limited.value() == refused + 1);
}
