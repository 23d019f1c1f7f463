// Session lifetimes on CAF's deterministic test coordinator: TTL, close on
// delivery, token expiry and flooding, without waiting for real time. The
// session talks to a real router and host actor over a real store; its
// socket is a sink that records what the session asked of it.
#include <thread>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <catch2/catch.hpp>

#include "bellhop/actors/queries.hpp"
#include "bellhop/storage/tables.hpp"
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

/// A session of host h1 whose token has an hour left.
session_config h1_session(std::string id) {
  session_config sc;
  sc.session_id = std::move(id);
  sc.host_id = "h1";
  sc.by = "h1";
  sc.token_left = 3600s;
  return sc;
}

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
  sess = sys.spawn(session, h1_session("s_test"), sink, router);
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

TEST_CASE_METHOD(fixture, "a TTL close waits for the ack of a notification written just before") {
  session_config sc;
  sc.ttl = 3000ms;
  open(sc);
  advance(2700ms);
  book("r1");
  REQUIRE(sink->count("new_booking") == 1);
  advance(300ms);
  CHECK(sink->closes.empty());  // the ack of id 1 may be on its way
  // The session is ending: a frame that reaches it now is not written.
  caf::anon_send(sess, frame_msg{9, R"({"event":"new_booking","data":{"id":9}})"});
  settle();
  CHECK(sink->count("new_booking") == 1);
  client(R"({"op":"ack","id":1})");
  REQUIRE(sink->closes.size() == 1);
  CHECK(sink->closes[0] == std::make_pair(uint16_t{4000}, std::string{"ttl"}));
}

TEST_CASE_METHOD(fixture, "a TTL close waits until the newest unacked notification is 500 ms old") {
  session_config sc;
  sc.ttl = 3000ms;
  open(sc);
  advance(2600ms);
  book("r1");
  advance(100ms);
  book("r2");
  client(R"({"op":"ack","id":2})");  // id 1 is never acked
  advance(300ms);
  expect_close_after(ack_grace - 400ms, 4000);  // id 1 written at 2600 ms
}

TEST_CASE_METHOD(fixture, "a TTL close does not wait for unacked notifications older than 500 ms") {
  session_config sc;
  sc.ttl = 3000ms;
  open(sc);
  book("r1");  // never acked
  advance(2500ms);
  expect_close_after(500ms, 4000);
}

TEST_CASE_METHOD(fixture, "close on delivery waits for the acks of the other notifications written") {
  session_config sc;
  sc.ttl = 0ms;
  sc.close_on_delivery = true;
  open(sc);
  book("r1");
  book("r2");
  REQUIRE(sink->count("new_booking") == 2);
  client(R"({"op":"ack","id":1})");
  CHECK(sink->closes.empty());
  client(R"({"op":"ack","id":2})");
  REQUIRE(sink->closes.size() == 1);
  CHECK(sink->closes[0] == std::make_pair(uint16_t{4001}, std::string{"delivered"}));
}

TEST_CASE_METHOD(fixture, "token expiry does not wait for acks") {
  open(3000ms, 2000ms);
  book("r1");
  expect_close_after(2000ms, 4003);
}

TEST_CASE_METHOD(fixture, "a note committed while a session subscribes is pushed and audited once") {
  book("r1");  // the host actor runs
  self->send(router, guest_booking("h1", "r2", "2026-12-01", "2026-12-02"));
  sched.run();  // the host asks for the write of id 2; no commit yet
  auto sc = h1_session("s_replay");
  sc.has_after = true;
  sc.after = 1;
  sess = sys.spawn(session, sc, sink, router);
  // Until the subscription waits in the host actor's mailbox ...
  while (sched.next_job<caf::scheduled_actor>().name() != std::string{"bellhop.host"})
    sched.run_once();
  // ... then the commit, whose answer queues behind it: the host replays
  // id 2 from the store before it learns of the commit and pushes it.
  st.drain();
  settle();
  CHECK(sink->count("new_booking") == 1);
  auto page = host_queries{st}.audit("h1", 100, std::nullopt, 2);
  CHECK(page.items.find("\"pushed\"") != std::string::npos);
  CHECK(page.items.find("\"pushed\"") == page.items.rfind("\"pushed\""));
}

TEST_CASE_METHOD(fixture, "a session of a host actor that fails closes with 1011") {
  session_config sc;
  sc.ttl = 0ms;  // nothing else would close it
  open(sc);
  REQUIRE(sink->count("\"event\":\"hello\"") == 1);
  // A room id the host cannot write as JSON makes its handler throw.
  book(std::string{"r\xff"});
  REQUIRE(sink->closes.size() == 1);
  CHECK(sink->closes[0].first == 1011);
  CHECK(sink->closes[0].second == "unavailable");
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

TEST_CASE_METHOD(fixture, "acks of notifications written on the session do "
                          "not count as messages for the 1008 limit") {
  session_config sc;
  sc.ttl = 0ms;
  open(sc);
  for (int i = 1; i <= 25; ++i)
    book("r-ack-" + std::to_string(i));
  REQUIRE(sink->count("new_booking") == 25);
  // A burst acked as it comes: the server asked for these.
  for (int id = 1; id <= 25; ++id)
    client(R"({"op":"ack","id":)" + std::to_string(id) + "}");
  for (int i = 0; i < 20; ++i)
    client(R"({"op":"ping"})");
  CHECK(sink->closes.empty());
  client(R"({"op":"ack","id":1})");  // acked already: one message too many
  REQUIRE(sink->closes.size() == 1);
  CHECK(sink->closes[0].first == 1008);
}

TEST_CASE_METHOD(fixture, "the message limit counts arrivals, not when a "
                          "busy session handles them") {
  open({});
  // 25 pings that arrived 60 ms apart (1.44 s in all), handled at once, as
  // after a stall of the session's thread: never more than 20 in a second.
  auto t0 = std::chrono::steady_clock::now().time_since_epoch();
  auto at = [&](int i) {
    return (t0 + std::chrono::milliseconds(60 * i)).count();
  };
  for (int i = 0; i < 25; ++i)
    caf::anon_send(sess, client_text{R"({"op":"ping"})", at(i)});
  settle();
  CHECK(sink->count("pong") == 25);
  CHECK(sink->closes.empty());
  // 21 that arrived within one second are too many, however late handled.
  auto later = t0 + std::chrono::seconds(10);
  for (int i = 0; i < 21; ++i)
    caf::anon_send(sess, client_text{R"({"op":"ping"})",
                                     (later + std::chrono::milliseconds(40 * i))
                                       .count()});
  settle();
  REQUIRE(sink->closes.size() == 1);
  CHECK(sink->closes[0].first == 1008);
}

TEST_CASE_METHOD(fixture, "bad messages get an error frame") {
  open({});
  client("not json");
  client(R"({"op":"dance"})");
  client(R"({"op":"ack","id":-1})");
  client(R"({"op":"ack","id":0})");
  client(R"({"op":"ack","id":1.5})");
  CHECK(sink->count(R"({"event":"error","data":{"code":"invalid_request")") == 5);
  // Ids use all 64 bits, as in mark-read: an ack of one above 2^63 is no
  // error (it names no notification, so nothing happens).
  client(R"({"op":"ack","id":18446744073709551615})");
  client(R"({"op":"mark-read","ids":[18446744073709551615]})");
  CHECK(sink->count(R"({"event":"error")") == 5);
  CHECK(sink->closes.empty());
}

TEST_CASE_METHOD(fixture, "mark-read over the socket sends a read event") {
  open({});
  book("r1");
  book("r2");
  client(R"({"op":"mark-read","ids":[1]})");
  CHECK(sink->count(R"({"event":"read","data":{"ids":[1],"upTo":null,"unread":1,"latestId":2}})") == 1);
}

namespace {

/// Email "configured": the host actor's decisions are what is tested, so
/// the mailer only counts the jobs it is handed (nothing is sent).
struct email_fixture : deterministic_core {
  email_fixture()
    : deterministic_core(
      [this](caf::actor_system& sys) {
        core_config c = config(60s);
        c.ack_timeout = 2000ms;
        c.mailer = sys.spawn([this]() -> mailer_actor::behavior_type {
          return {[this](email_job& j) {
                    ++emails;
                    emailed.push_back(j.first_id);
                  },
                  [](mailer_page_url&) {}, [](email_sent&) {}};
        });
        return c;
      },
      0) {
    self->send(router, email_everything("h1", 0));
    settle();
  }

  std::shared_ptr<recording_sink> sink = std::make_shared<recording_sink>();
  caf::actor sess;
  int emails = 0;
  std::vector<uint64_t> emailed;  ///< first ids of the jobs

  /// A service's `new_message` notification for h1.
  static notification_request message_note(const char* title) {
    notification_request n;
    n.principal = "service:s";
    n.host_id = "h1";
    n.type = "new_message";
    n.title = title;
    n.data_json = "{}";
    return n;
  }

  /// Lets the 2 s ack window pass: it runs on the wall clock, and virtual
  /// time fires the email timer.
  void pass_ack_window() {
    std::this_thread::sleep_for(2100ms);
    advance(2100ms);
  }

  /// A notification pushed to the live session (emailed after 2 s unless
  /// acked).
  void push_one() {
    self->send(router, message_note("one"));
    settle();
    REQUIRE(sink->count("\"event\":\"new_message\"") == 1);
  }

  /// A booking whose room id the host cannot write as JSON: its handler
  /// throws and the host actor fails.
  void send_failing_booking() {
    self->send(router, guest_booking("h1", std::string{"r\xff"}, "2026-12-01",
                                     "2026-12-02"));
  }

  /// The device acks `id` now: its session passes the ack on and the
  /// router records and forwards it, before any other actor runs.
  void ack_ahead(uint64_t id) {
    caf::anon_send(sess, client_text{R"({"op":"ack","id":)" + std::to_string(id) + "}"});
    REQUIRE(sched.prioritize(sess));
    sched.run_once();
    REQUIRE(sched.prioritize(router));
    sched.run_once();
  }

  /// A live session of h1 with this TTL (0: none).
  void open_session(const char* id, std::chrono::milliseconds ttl,
                    bool close_on_delivery = false) {
    auto sc = h1_session(id);
    sc.ttl = ttl;
    sc.close_on_delivery = close_on_delivery;
    sess = sys.spawn(session, sc, sink, router);
    settle();
  }

  /// A notification whose write is asked for with no session live, and a
  /// session that subscribes before that write commits.
  void notify_while_a_session_joins() {
    self->send(router, message_note("hi"));
    sched.run();  // the host asks for the write; no commit yet
    sess = sys.spawn(session, h1_session("s_join"), sink, router);
    sched.run();  // the session subscribes
    settle();     // the write commits; the session gets the push
    REQUIRE(sink->count("\"event\":\"new_message\"") == 1);
  }

  void advance(std::chrono::milliseconds d) {
    sched.advance_time(d);
    settle();
  }

  ~email_fixture() {
    if (sess)
      caf::anon_send(sess, closed_atom::value);
  }
};

} // namespace

TEST_CASE_METHOD(email_fixture,
                 "close on delivery: an ack already on its way when the first closes still counts") {
  open_session("s_cod", 0ms, true);
  for (auto title : {"one", "two"})
    self->send(router, message_note(title));
  settle();
  REQUIRE(sink->count("\"event\":\"new_message\"") == 2);
  // The device acks both at once: the first ack closes the session (4001)
  // while the second is already in its mailbox.
  caf::anon_send(sess, client_text{R"({"op":"ack","id":1})"});
  caf::anon_send(sess, client_text{R"({"op":"ack","id":2})"});
  settle();
  REQUIRE(sink->closes.size() == 1);
  CHECK(sink->closes[0].first == 4001);
  pass_ack_window();
  CHECK(emails == 0);
}

TEST_CASE_METHOD(email_fixture,
                 "a push to a session that joined during the write gets the ack window") {
  notify_while_a_session_joins();
  advance(5ms);
  CHECK(emails == 0);  // not at once: the session has 2 s to ack
  SECTION("acked: never emailed") {
    caf::anon_send(sess, client_text{R"({"op":"ack","id":1})"});
    settle();
    advance(3000ms);
    CHECK(emails == 0);
  }
  SECTION("not acked: emailed once the window has passed") {
    pass_ack_window();
    CHECK(emails == 1);
  }
}

TEST_CASE_METHOD(email_fixture,
                 "a session waiting for its last acks no longer counts as live") {
  open_session("s_ending", 3000ms);
  advance(2800ms);
  push_one();
  advance(200ms);  // the TTL ends; the ack of id 1 is awaited
  REQUIRE(sink->closes.empty());
  // No live session: no push, and no ack window before the email.
  self->send(router, message_note("two"));
  settle();
  advance(1ms);
  CHECK(sink->count("\"event\":\"new_message\"") == 1);
  CHECK(std::count(emailed.begin(), emailed.end(), 2) == 1);
}

TEST_CASE_METHOD(email_fixture,
                 "an ack that comes before the host has the commit of its notification stops the email") {
  // A session that subscribes between a write's commit and the commit's
  // answer to the host actor replays the note and may ack it first. Here
  // the ack is simply sent before the commit.
  open_session("s_early", 3000ms);
  self->send(router, message_note("hi"));
  sched.run();  // the host asks for the write; no commit yet
  caf::anon_send(sess, client_text{R"({"op":"ack","id":1})"});
  sched.run();  // the ack reaches the host before the commit
  settle();
  REQUIRE(sink->count("\"event\":\"new_message\"") == 1);
  pass_ack_window();
  CHECK(emails == 0);
}

TEST_CASE_METHOD(email_fixture,
                 "a host actor that fails leaves its email waits to the next one") {
  open_session("s_fail", 0ms);
  push_one();
  send_failing_booking();
  settle();
  REQUIRE(sink->closes.size() == 1);  // 1011: the host actor failed
  // No request comes for h1: its next actor starts all the same.
  pass_ack_window();
  CHECK(emailed == std::vector<uint64_t>{1});
}

TEST_CASE_METHOD(email_fixture,
                 "an email a failed host actor committed but never handed over still goes out") {
  self->send(router, message_note("one"));  // no session: due at once
  settle();
  sched.advance_time(5ms);
  sched.run();  // the host asks for the outbox entry; no commit yet
  send_failing_booking();
  sched.run();  // the host actor fails before the commit's answer
  CHECK(emails == 0);
  settle();  // the entry commits; the failed host's writes settle
  CHECK(emailed == std::vector<uint64_t>{1});
}

TEST_CASE_METHOD(email_fixture,
                 "an ack in the mailbox of a host actor that fails still stops the email") {
  open_session("s_ack_fail", 0ms);
  push_one();
  // The booking that makes the host actor throw reaches it before the ack.
  send_failing_booking();
  sched.run_once();  // the router forwards the booking
  ack_ahead(1);  // it waits in the host actor's mailbox behind the booking
  settle();
  REQUIRE(sink->closes.size() == 1);  // 1011: the host actor failed
  pass_ack_window();
  CHECK(emails == 0);
}

TEST_CASE_METHOD(email_fixture,
                 "an ack of a notification still being written leaves no wait behind") {
  open_session("s_guess", 0ms);
  self->send(router, message_note("one"));
  sched.run_once();  // the router forwards it; the host has not run yet
  // A device that guesses the next id acks it before the write is asked
  // for: the router's delete of the wait comes before the write of it.
  ack_ahead(1);
  settle();
  auto txn = st.begin_read();
  auto t = txn.ref();
  CHECK_FALSE(storage::get(t, t.db->waits, storage::note_key("h1", 1)));
}

TEST_CASE_METHOD(email_fixture,
                 "a notification whose only session left before its commit "
                 "is emailed without an ack window") {
  open_session("s_leaving", 0ms);
  self->send(router, message_note("one"));
  sched.run();  // the host asks for the write while the session is live
  caf::anon_send(sess, closed_atom::value);  // then the device goes
  sess = caf::actor{};
  settle();  // the session leaves before the write commits: no push
  REQUIRE(sink->count("\"event\":\"new_message\"") == 0);
  advance(5ms);
  CHECK(emailed == std::vector<uint64_t>{1});
}
