// The Socket.IO / Engine.IO packet codec: every packet type both ways,
// malformed and oversized input, and the packets of socket.io-protocol's
// own test suite that a WebSocket-only server meets.
#include <catch2/catch.hpp>

#include "socketio_codec.hpp"

using namespace bellhop::ws::sio;
using json = nlohmann::json;

namespace {

packet parse_ok(std::string_view s) {
  std::string why;
  auto p = parse_packet(s, limits{}, &why);
  INFO("packet: " << s << " why: " << why);
  REQUIRE(p);
  return *p;
}

bool refused(std::string_view s, const limits& lim = {}) {
  return !parse_packet(s, lim);
}

// The suite's binary placeholders.
const std::string ph0 = R"({"_placeholder":true,"num":0})";
const std::string ph1 = R"({"_placeholder":true,"num":1})";

} // namespace

TEST_CASE("Engine.IO packet types") {
  const char* frames[] = {"0", "1", "2", "3", "4x", "5", "6"};
  for (int t = 0; t <= 6; ++t) {
    auto p = parse_eio(frames[t]);
    REQUIRE(p);
    CHECK(static_cast<int>(p->type) == t);
  }
  CHECK(parse_eio("2probe")->data == "probe");
  CHECK(parse_eio("42[\"a\"]")->data == "2[\"a\"]");
  CHECK_FALSE(parse_eio(""));
  CHECK_FALSE(parse_eio("7"));
  CHECK_FALSE(parse_eio("b4AQID"));  // base64 binary is polling-only
}

TEST_CASE("the open packet") {
  CHECK(encode_open("e_1", 25000, 20000, 65536)
        == R"(0{"sid":"e_1","upgrades":[],"pingInterval":25000,)"
           R"("pingTimeout":20000,"maxPayload":65536})");
}

TEST_CASE("CONNECT, with and without a payload or a namespace") {
  auto p = parse_ok("0");
  CHECK(p.type == packet_type::connect);
  CHECK(p.nsp == "/");
  CHECK_FALSE(p.has_data);

  p = parse_ok(R"(0{"token":"123"})");
  CHECK(p.data == json{{"token", "123"}});

  p = parse_ok("0/custom,");
  CHECK(p.nsp == "/custom");
  CHECK_FALSE(p.has_data);

  p = parse_ok(R"(0/custom,{"token":"abc"})");
  CHECK(p.nsp == "/custom");
  CHECK(p.data == json{{"token", "abc"}});

  p = parse_ok("0/random");  // the suite's "40/random": no comma at the end
  CHECK(p.nsp == "/random");

  CHECK(refused("0[]"));        // the auth payload is an object
  CHECK(refused(R"(0"tok")"));
  CHECK(refused("0{"));
}

TEST_CASE("DISCONNECT") {
  CHECK(parse_ok("1").type == packet_type::disconnect);
  CHECK(parse_ok("1/custom,").nsp == "/custom");
  CHECK(refused("1{}"));
  CHECK(refused("1[]"));
}

TEST_CASE("EVENT, with and without an ack id") {
  auto p = parse_ok(R"(2["message",1,"2",{"3":[true]}])");
  CHECK(p.type == packet_type::event);
  CHECK_FALSE(p.has_id);
  CHECK(p.data == json::parse(R"(["message",1,"2",{"3":[true]}])"));

  p = parse_ok(R"(2456["message-with-ack",1,"2",{"3":[false]}])");
  CHECK(p.has_id);
  CHECK(p.id == 456);

  p = parse_ok(R"(2/admin,7["mark-read",{"ids":[1]}])");
  CHECK(p.nsp == "/admin");
  CHECK(p.id == 7);

  CHECK(parse_ok("2[1]").data[0] == 1);  // numeric names parse
  CHECK(parse_ok(R"(2 ["x"])").data[0] == "x");  // JSON white space
}

TEST_CASE("EVENT payloads that close the connection") {
  CHECK(refused("2{}"));          // invalid payload format
  CHECK(refused("2"));            // no payload
  CHECK(refused("2[]"));          // empty array
  CHECK(refused("2[{}]"));        // the name is a string or a number
  CHECK(refused("2[null]"));
  CHECK(refused(R"(2"x")"));
  CHECK(refused(R"(2abc["message-with-ack",1,"2",{"3":[false]}])"));  // ack id
  CHECK(refused(R"(2["x")"));     // not JSON
  CHECK(refused(R"(2["x"]])"));   // trailing garbage
  CHECK(refused(std::string{R"(2["x"])"} + '\0' + "]]"));  // after a NUL too
  for (auto name : {"connect", "connect_error", "disconnect", "disconnecting",
                    "newListener", "removeListener"})
    CHECK(refused("2[\"" + std::string{name} + "\"]"));
}

TEST_CASE("ACK") {
  auto p = parse_ok(R"(3456[1,"2",{"3":[false]}])");
  CHECK(p.type == packet_type::ack);
  CHECK(p.id == 456);
  CHECK(p.data.size() == 3);
  CHECK(parse_ok("30[]").id == 0);
  CHECK(refused("3{}"));
  CHECK(refused("31"));     // the arguments array is required
  CHECK(refused("31\"x\""));
}

TEST_CASE("CONNECT_ERROR") {
  auto p = parse_ok(R"(4{"message":"unauthorized"})");
  CHECK(p.type == packet_type::connect_error);
  CHECK(p.data["message"] == "unauthorized");
  CHECK(parse_ok(R"(4"bad")").data == "bad");
  CHECK(parse_ok(R"(4/random,{"message":"Invalid namespace"})").nsp
        == "/random");
  CHECK(refused("4[]"));
  CHECK(refused("4abc"));  // the suite's "4abc" is an unknown type anyway
}

TEST_CASE("BINARY_EVENT and BINARY_ACK") {
  auto p = parse_ok(R"(52-["message",1,)" + ph0 + "," + ph1 + "]");
  CHECK(p.type == packet_type::binary_event);
  CHECK(p.attachments == 2);
  CHECK_FALSE(p.has_id);

  p = parse_ok(R"(52-789["message-with-ack",)" + ph0 + "]");
  CHECK(p.id == 789);

  p = parse_ok("62-789[1," + ph0 + "," + ph1 + "]");
  CHECK(p.type == packet_type::binary_ack);
  CHECK(p.attachments == 2);
  CHECK(p.id == 789);

  p = parse_ok(R"(51-/admin,["x",)" + ph0 + "]");
  CHECK(p.nsp == "/admin");

  CHECK(refused(R"(5-["x"])"));     // a count is required
  CHECK(refused(R"(52["x"])"));     // and its '-'
  CHECK(refused(R"(5x-["x"])"));
  CHECK(refused("52-"));            // and the payload
  CHECK(refused(R"(517-["x"])"));   // over limits::max_attachments
}

TEST_CASE("unknown types and malformed packets") {
  CHECK(refused(""));
  CHECK(refused("abc"));  // the suite's "4abc" after Engine.IO's "4"
  CHECK(refused("7"));
  CHECK(refused("9[]"));
  CHECK(refused("/"));
}

TEST_CASE("ack ids are bounded") {
  CHECK(parse_ok("39007199254740991[]").id == max_ack_id);
  CHECK(refused("39007199254740992[]"));
  CHECK(refused("3999999999999999999999999[]"));
}

TEST_CASE("packets are bounded in size and nesting") {
  limits lim;
  lim.max_size = 64;
  std::string big = R"(2["x",")" + std::string(60, 'a') + "\"]";
  CHECK(refused(big, lim));
  CHECK_FALSE(refused(R"(2["x","a"])", lim));

  std::string deep =
    "2[\"x\"," + std::string(40, '[') + std::string(40, ']') + "]";
  CHECK(refused(deep));
  std::string in_string = "2[\"x\",\"" + std::string(40, '[') + "\"]";
  CHECK_FALSE(refused(in_string));  // brackets in strings do not nest
}

TEST_CASE("encoding every packet type") {
  CHECK(encode_packet(packet_type::connect, "/", {}, R"({"sid":"s_1"})")
        == R"(0{"sid":"s_1"})");
  CHECK(encode_packet(packet_type::disconnect, "/", {}, "") == "1");
  CHECK(encode_packet(packet_type::event, "/", {}, R"(["hello",{}])")
        == R"(2["hello",{}])");
  CHECK(encode_packet(packet_type::event, "/", 1, R"(["emit-with-ack",1])")
        == R"(21["emit-with-ack",1])");
  CHECK(encode_packet(packet_type::ack, "/", 456, R"([1,"2",{"3":[false]}])")
        == R"(3456[1,"2",{"3":[false]}])");
  CHECK(encode_packet(packet_type::connect_error, "/random", {},
                      R"({"message":"Invalid namespace"})")
        == R"(4/random,{"message":"Invalid namespace"})");
  CHECK(encode_packet(packet_type::binary_event, "/", {}, R"(["x"])", 2)
        == R"(52-["x"])");
  CHECK(encode_packet(packet_type::binary_ack, "/", 789, "[]", 1)
        == "61-789[]");
  CHECK(message_frame("1") == "41");
}

TEST_CASE("the suite's packets survive a round trip") {
  // Every text packet of socket.io-protocol's test-suite.js, Engine.IO's
  // "4" removed.
  const std::string suite[] = {
    "0",
    R"(0{"token":"123"})",
    "0/custom,",
    R"(0/custom,{"token":"abc"})",
    "1",
    "1/custom,",
    R"(2["message","message to main namespace",1,2])",
    R"(2["message-back","message to main namespace",1,2])",
    R"(2["emit-with-ack",1,"2",{"3":[true]}])",
    R"(21["emit-with-ack",1,"2",{"3":[true]}])",
    R"(31[1,"2",{"3":[true]}])",
    R"(2456["message-with-ack",1,"2",{"3":[false]}])",
    R"(3456[1,"2",{"3":[false]}])",
    R"(52-["message",1,)" + ph0 + "," + ph1 + "]",
    R"(52-789["message-with-ack",1,)" + ph0 + "," + ph1 + "]",
    "62-789[1," + ph0 + "," + ph1 + "]",
    R"(4/random,{"message":"Invalid namespace"})",
    R"(0{"sid":"abc"})",
  };
  for (const auto& s : suite) {
    INFO(s);
    CHECK(encode_packet(parse_ok(s)) == s);
  }
  // And the three the suite expects a server to close the connection on.
  CHECK(refused("abc"));
  CHECK(refused("2{}"));
  CHECK(refused(R"(2abc["message-with-ack",1,"2",{"3":[false]}])"));
}
