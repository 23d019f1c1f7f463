// Session lifetimes on CAF's deterministic test coordinator: TTL, close on
// delivery, token expiry and flooding, without waiting for real time. The
// session talks to a real router and host actor over a real store; its
// socket is a sink that records what the session asked of it.
#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <catch2/catch.hpp>

#include "deterministic_core.hpp"
#include "session_actor.hpp"

using namespace bellhop;
using namespace bellhop::ws;
using namespace std::chrono_literals;

namespace {

struct recording_sink : session_sink {
  std::vector<std::string> frames;
  std::vector<std::pair<uint16_t, std::string>> closes;
  int pings = 0;
  void send_text(const socket_ref&, std::string text) override {
    frames.push_back(std::move(text));
  }
  void close(const socket_ref&, uint16_t code, std::string reason) override {
    closes.emplace_back(code, std::move(reason));
  }
  void ping(const socket_ref&) override {
    ++pings;
  }
  std::size_t count(const std::string& part) const {
    std::size_t n = 0;
    for (auto& f : frames)
      n += f.find(part) != std::string::npos;
    return n;
  }
};

struct fixture : deterministic_core {
  fixture() : deterministic_core(60s) {
  }

  std::shared_ptr<recording_sink> sink = std::make_shared<recording_sink>();
  caf::actor sess;

  void open(session_config sc) {
    sc.session_id = "s_test";
    sc.host_id = "h1";
    sc.by = "h1";
    if (sc.token_left.count() == 0)
      sc.token_left = 3600s;
    sess = sys.spawn(session, sc, sink, router);
    settle();
  }

  void open(std::chrono::milliseconds ttl, std::chrono::milliseconds token_left) {
    session_config sc;
    sc.ttl = ttl;
    sc.token_left = token_left;
    open(sc);
  }

  void advance(std::chrono::milliseconds d) {
    sched.advance_time(d);
    settle();
  }

  /// The session stays open for `d` less 1 ms, then closes with `code`.
  void expect_close_after(std::chrono::milliseconds d, uint16_t code) {
    advance(d - 1ms);
    CHECK(sink->closes.empty());
    advance(1ms);
    REQUIRE(sink->closes.size() == 1);
    CHECK(sink->closes[0].first == code);
  }

  void client(const std::string& text) {
    caf::anon_send(sess, client_text{text});
    settle();
  }

  void book(const std::string& room) {
    self->send(router, guest_booking("h1", room, "2026-12-01", "2026-12-02"));
    settle();
  }

  ~fixture() {
    if (sess)
      caf::anon_send(sess, closed_atom::value);
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "hello comes first, then live notifications") {
  open({});
  REQUIRE(sink->frames.size() == 1);
  CHECK(sink->frames[0].rfind(R"({"event":"hello","data":{"sessionId":"s_test")", 0) == 0);
  book("r1");
  REQUIRE(sink->frames.size() == 2);
  CHECK(sink->frames[1].rfind(R"({"event":"new_booking","data":{"id":1,)", 0) == 0);
}

TEST_CASE_METHOD(fixture, "client ops sent before hello are answered after it") {
  session_config sc;
  sc.session_id = "s_test";
  sc.host_id = "h1";
  sc.by = "h1";
  sc.token_left = 3600s;
  sess = sys.spawn(session, sc, sink, router);
  // In the mailbox before the host has answered the subscription.
  caf::anon_send(sess, client_text{R"({"op":"ping"})"});
  caf::anon_send(sess, client_text{R"({"op":"nonsense"})"});
  settle();
  REQUIRE(sink->frames.size() == 3);
  CHECK(sink->frames[0].rfind(R"({"event":"hello",)", 0) == 0);
  CHECK(sink->frames[1] == R"({"event":"pong"})");
  CHECK(sink->frames[2].rfind(R"({"event":"error",)", 0) == 0);
}

TEST_CASE_METHOD(fixture, "the session closes with 4000 when its TTL ends") {
  session_config sc;
  sc.ttl = 3000ms;
  open(sc);
  expect_close_after(3000ms, 4000);
  CHECK(sink->closes[0].second == "ttl");
  book("r1");  // after closing, nothing more is written
  CHECK(sink->count("new_booking") == 0);
}

TEST_CASE_METHOD(fixture, "close on delivery: 4001 after the first ack") {
  session_config sc;
  sc.ttl = 0ms;
  sc.close_on_delivery = true;
  open(sc);
  client(R"({"op":"ack","id":7})");  // never delivered here: no close
  CHECK(sink->closes.empty());
  book("r1");
  REQUIRE(sink->count("new_booking") == 1);
  client(R"({"op":"ack","id":1})");
  REQUIRE(sink->closes.size() == 1);
  CHECK(sink->closes[0].first == 4001);
  CHECK(sink->closes[0].second == "delivered");
}

TEST_CASE_METHOD(fixture, "an expired token closes the session with 4003") {
  open(0ms, 5000ms);
  expect_close_after(5000ms, 4003);
}

TEST_CASE_METHOD(fixture, "a token valid for longer than a ping interval still expires on time") {
  // Without TTL the expiry is scheduled only by the ping before it.
  open(0ms, 60s);
  advance(25s);
  advance(25s);
  expect_close_after(10s, 4003);
  CHECK(sink->pings == 2);
}

TEST_CASE_METHOD(fixture, "with a TTL, whichever of TTL and token expiry comes first closes") {
  open(3000ms, 2000ms);
  expect_close_after(2000ms, 4003);
  advance(1000ms);  // the TTL comes later: no second close
  CHECK(sink->closes.size() == 1);
}

TEST_CASE_METHOD(fixture, "a session without TTL pings every 25 s") {
  session_config sc;
  sc.ttl = 0ms;
  open(sc);
  advance(25s);
  advance(25s);
  CHECK(sink->pings == 2);
  CHECK(sink->closes.empty());
}

TEST_CASE_METHOD(fixture, "more than 20 messages in a second close with 1008") {
  open({});
  for (int i = 0; i < 20; ++i)
    client(R"({"op":"ping"})");
  CHECK(sink->count("pong") == 20);
  CHECK(sink->closes.empty());
  sched.advance_time(1000ms);  // a new second: the window has emptied
  for (int i = 0; i < 20; ++i)
    client(R"({"op":"ping"})");
  CHECK(sink->closes.empty());
  client(R"({"op":"ping"})");
  REQUIRE(sink->closes.size() == 1);
  CHECK(sink->closes[0].first == 1008);
}

TEST_CASE_METHOD(fixture, "bad messages get an error frame") {
  open({});
  client("not json");
  client(R"({"op":"dance"})");
  client(R"({"op":"ack","id":-1})");
  CHECK(sink->count(R"({"event":"error","data":{"code":"invalid_request")") == 3);
  CHECK(sink->closes.empty());
}

TEST_CASE_METHOD(fixture, "mark-read over the socket sends a read event") {
  open({});
  book("r1");
  book("r2");
  client(R"({"op":"mark-read","ids":[1]})");
  CHECK(sink->count(R"({"event":"read","data":{"ids":[1],"upTo":null,"unread":1,"latestId":2}})") == 1);
}
