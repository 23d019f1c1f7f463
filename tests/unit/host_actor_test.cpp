// Host actor logic on CAF's deterministic test coordinator: ids, unread
// counts, overlaps, idempotency, mark-read and passivation
// (deterministic_core.hpp says how the fixture drives them).
#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <catch2/catch.hpp>

#include <thread>

#include "bellhop/actors/errors.hpp"
#include "bellhop/actors/queries.hpp"
#include "bellhop/storage/tables.hpp"
#include "bellhop/telemetry/metrics.hpp"
#include "deterministic_core.hpp"
#include "write_ops.hpp"

using namespace bellhop;

namespace {

struct fixture : deterministic_core {
  fixture() : deterministic_core(std::chrono::milliseconds(1000)) {
  }

  host_queries queries{st};

  template <class Reply, class Msg>
  caf::expected<Reply> ask(Msg msg) {
    auto handle = self->request(router, caf::infinite, std::move(msg));
    settle();
    caf::expected<Reply> out{caf::sec::unexpected_message};
    handle.receive([&](Reply& r) { out = std::move(r); },
                   [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  caf::expected<created_reply> book(const std::string& host,
                                    const std::string& room,
                                    const std::string& in,
                                    const std::string& out,
                                    const std::string& key = "",
                                    const std::string& fp = "fp") {
    auto r = guest_booking(host, room, in, out);
    r.idem_key = key;
    r.fingerprint = fp;
    r.guests = 2;
    return ask<created_reply>(std::move(r));
  }

  caf::expected<mark_read_reply> mark(const std::string& host, mark_mode mode,
                                      std::vector<uint64_t> ids = {},
                                      uint64_t up_to = 0) {
    mark_read_request r;
    r.host_id = host;
    r.mode = static_cast<uint8_t>(mode);
    r.ids = std::move(ids);
    r.up_to = up_to;
    r.by = host;
    r.via = "rest";
    return ask<mark_read_reply>(std::move(r));
  }
};

bool has(const std::string& body, const std::string& part) {
  return body.find(part) != std::string::npos;
}

} // namespace

TEST_CASE_METHOD(fixture, "ids start at 1 and increase per host") {
  auto a = book("h1", "r1", "2026-12-01", "2026-12-03");
  auto b = book("h1", "r2", "2026-12-01", "2026-12-03");
  auto c = book("h2", "r1", "2026-12-01", "2026-12-03");
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  CHECK(has(a->body, R"("notification":{"id":1})"));
  CHECK(has(b->body, R"("notification":{"id":2})"));
  CHECK(has(c->body, R"("notification":{"id":1})"));
  CHECK(a->location.rfind("/bookings/bk_", 0) == 0);
  auto count = queries.count("h1", std::nullopt);
  CHECK(count.unread == 2);
  CHECK(count.latest_id == 2);
}

TEST_CASE_METHOD(fixture, "overlapping stays of one room are refused") {
  REQUIRE(book("h1", "r1", "2026-12-05", "2026-12-10"));
  auto clash = [&](const char* in, const char* out) {
    auto r = book("h1", "r1", in, out);
    return !r && code_of(r.error()) == ec::conflict;
  };
  CHECK(clash("2026-12-05", "2026-12-10"));  // same
  CHECK(clash("2026-12-01", "2026-12-06"));  // ends inside
  CHECK(clash("2026-12-09", "2026-12-12"));  // begins inside
  CHECK(clash("2026-12-01", "2026-12-20"));  // covers
  CHECK(clash("2026-12-06", "2026-12-07"));  // inside
  CHECK(book("h1", "r1", "2026-12-10", "2026-12-12"));  // begins on check-out
  CHECK(book("h1", "r1", "2026-12-01", "2026-12-05"));  // ends on check-in
  CHECK(book("h1", "r2", "2026-12-05", "2026-12-10"));  // another room
  CHECK(book("h2", "r1", "2026-12-05", "2026-12-10"));  // another host
}

TEST_CASE_METHOD(fixture, "overlap is checked against stays not yet committed") {
  auto r = guest_booking("h1", "r1", "2026-12-01", "2026-12-04");
  auto first = self->request(router, caf::infinite, r);
  r.check_in = "2026-12-03";
  r.check_out = "2026-12-05";
  auto second = self->request(router, caf::infinite, r);
  sched.run();  // both handled before any commit
  settle();
  int ok = 0, conflicts = 0;
  for (auto* h : {&first, &second})
    h->receive([&](created_reply&) { ++ok; },
               [&](caf::error& e) { conflicts += code_of(e) == ec::conflict; });
  CHECK(ok == 1);
  CHECK(conflicts == 1);
}

namespace {

/// Puts (or, with an empty value, deletes) `count` keys that no record of
/// bellhop's can have (or one `key` given), in the bookings table (deep: many keys) or the meta
/// table (shallow, like one host's records); reports its outcome.
struct filler_op final : storage::write_op {
  int first = 0, count = 1;
  std::string value;
  MDB_dbi storage::tables::*table = &storage::tables::bookings;
  std::string key;  ///< else "filler-N"
  storage::status* result = nullptr;
  storage::status apply(storage::txn_ref t) override {
    for (int i = first; i < first + count; ++i) {
      auto key = this->key.empty() ? "filler-" + std::to_string(i) : this->key;
      auto dbi = t.db->*table;
      if (value.empty())
        storage::del(t, dbi, key);
      else
        storage::put(t, dbi, key, value);
    }
    return storage::status::ok;
  }
  void done(storage::status s) override {
    *result = s;
  }
};

struct small_map_fixture : deterministic_core {
  /// With `real_mailer`, bellhop's own mailer (its workers on threads of
  /// their own, no SMTP server behind it); else one that counts the emails
  /// asked for, as none of those tests wants one.
  explicit small_map_fixture(bool real_mailer = false)
    : deterministic_core(
        [this, real_mailer](caf::actor_system& sys) {
          auto c = config(std::chrono::milliseconds(1000));
          if (real_mailer) {
            smtp_config smtp;
            smtp.url = "smtp://127.0.0.1:9";
            c.mailer = mailer = spawn_mailer(sys, st, smtp);
          } else
            c.mailer = sys.spawn([this]() -> mailer_actor::behavior_type {
              return {[this](email_job&) { ++emails; },
                      [](mailer_page_url&) {}, [](email_sent&) {}};
            });
          return c;
        },
        map_bytes{512 * 1024}) {
  }

  int emails = 0;

  host_queries queries{st};

  caf::expected<created_reply> book(const std::string& host,
                                    const std::string& room,
                                    const std::string& in,
                                    const std::string& out) {
    auto h = self->request(router, caf::infinite,
                           guest_booking(host, room, in, out));
    settle();
    caf::expected<created_reply> res{caf::sec::unexpected_message};
    h.receive([&](created_reply& r) { res = std::move(r); },
              [&](caf::error& e) { res = std::move(e); });
    return res;
  }

  using table = MDB_dbi storage::tables::*;

  storage::status write(int first, int count, std::string value,
                        table in = &storage::tables::bookings,
                        std::string key = {}) {
    auto op = std::make_unique<filler_op>();
    op->table = in;
    op->key = std::move(key);
    op->first = first;
    op->count = count;
    op->value = std::move(value);
    auto result = storage::status::failed;
    op->result = &result;
    st.submit(std::move(op));
    st.drain();
    return result;
  }

  /// Puts `value` under `key` in `table`; reports the outcome.
  storage::status put_raw(table in, std::string key, std::string value) {
    return write(0, 1, std::move(value), in, std::move(key));
  }

  /// Fills the map. A reader pins the pages each write frees (LMDB reuses
  /// them otherwise), so that room comes back once it goes (unfill): values
  /// into a deep table until not even one byte fits, then one-byte rewrites
  /// in a table of one page until no page is left. Returns how many keys
  /// there are to delete.
  int fill() {
    pin.emplace(st.begin_read());
    int n = 0;
    for (std::size_t size : {2000, 400, 50, 1})
      while (write(n, 1, std::string(size, 'x')) == storage::status::ok)
        ++n;
    while (write(0, 1, "y", &storage::tables::outbox) == storage::status::ok) {
    }
    return n;
  }

  /// Makes room again: the pin goes, and what fill() wrote is deleted.
  void unfill(int filled) {
    pin.reset();
    REQUIRE(write(0, 1, "", &storage::tables::outbox) == storage::status::ok);
    REQUIRE(write(0, filled, "") == storage::status::ok);
  }

  std::optional<storage::read_txn> pin;
};

} // namespace

TEST_CASE_METHOD(small_map_fixture,
                 "a stay whose commit fails refuses no overlapping booking") {
  REQUIRE(queries.count("h1", std::nullopt).unread == 0);
  auto filled = fill();
  REQUIRE(filled > 0);
  // c's write fails (the map is full); d overlaps only c's stay, not yet
  // committed when d comes. A 409 for d would be wrong: nothing booked r2.
  auto c = self->request(router, caf::infinite,
                         guest_booking("h1", "r2", "2026-12-01", "2026-12-04"));
  auto d = self->request(router, caf::infinite,
                         guest_booking("h1", "r2", "2026-12-03", "2026-12-05"));
  sched.run();  // both handled before any commit
  st.drain();   // c: storage full
  unfill(filled);  // room again, before d is tried again
  settle();
  c.receive([](created_reply&) { FAIL("c fitted in a full map"); },
            [](caf::error& e) { CHECK(code_of(e) == ec::unavailable); });
  d.receive([](created_reply& r) { CHECK(has(r.body, "2026-12-03")); },
            [](caf::error& e) { FAIL("d: " << caf::to_string(e)); });
  CHECK(queries.count("h1", std::nullopt).unread == 1);
}

TEST_CASE_METHOD(small_map_fixture,
                 "parked bookings keep their place and their idempotency key") {
  auto filled = fill();
  REQUIRE(filled > 0);
  auto request = [&](const char* in, const char* out, const char* room,
                     const char* key, const char* fp) {
    auto r = guest_booking("h1", room, in, out);
    r.idem_key = key;
    r.fingerprint = fp;
    return self->request(router, caf::infinite, std::move(r));
  };
  auto s = request("2026-12-01", "2026-12-04", "r3", "", "fs");  // fails
  auto p = request("2026-12-03", "2026-12-06", "r3", "k", "fp");  // parks
  // b overlaps p only: p came first, so b waits behind it.
  auto b = request("2026-12-05", "2026-12-08", "r3", "", "fb");
  // q reuses p's key with another request: a conflict, although p is not
  // written yet.
  auto q = request("2026-12-01", "2026-12-02", "r4", "k", "fq");
  // So does a notification with p's key.
  auto n = self->request(router, caf::infinite,
                         notification_request{"guest:g1", "k", "fn", "h1",
                                              "message", "t", "b", "{}"});
  sched.run();
  st.drain();  // s: storage full
  unfill(filled);
  settle();
  s.receive([](created_reply&) { FAIL("s fitted in a full map"); },
            [](caf::error& e) { CHECK(code_of(e) == ec::unavailable); });
  p.receive([](created_reply& r) { CHECK(has(r.body, "2026-12-06")); },
            [](caf::error& e) { FAIL("p: " << caf::to_string(e)); });
  b.receive([](created_reply&) { FAIL("b overtook p"); },
            [](caf::error& e) { CHECK(code_of(e) == ec::conflict); });
  q.receive([](created_reply&) { FAIL("q took p's key"); },
            [](caf::error& e) { CHECK(code_of(e) == ec::conflict); });
  n.receive([](created_reply&) { FAIL("n took p's key"); },
            [](caf::error& e) { CHECK(code_of(e) == ec::conflict); });
}

TEST_CASE_METHOD(small_map_fixture,
                 "an ack whose write fails is written again once there is room") {
  REQUIRE(book("h1", "r1", "2026-12-01", "2026-12-03"));
  auto acked = [&] {
    return has(queries.audit("h1", 100, std::nullopt, 1).items,
               R"("action":"acked")");
  };
  auto filled = fill();
  REQUIRE(filled > 0);
  self->send(router, ack_msg{"h1", 1, "s-1", "ws", "h1", false});
  settle();  // its write fails: the map is full
  CHECK_FALSE(acked());
  unfill(filled);
  sched.advance_time(std::chrono::seconds(1));
  settle();
  CHECK(acked());
  // Written once: a later rewrite does not add another entry.
  sched.advance_time(std::chrono::seconds(5));
  settle();
  auto items = queries.audit("h1", 100, std::nullopt, 1).items;
  CHECK(items.find("acked") == items.rfind("acked"));
}

namespace {

struct real_mailer_fixture : small_map_fixture {
  real_mailer_fixture() : small_map_fixture(true) {
    self->send(mailer, mailer_page_url{"http://127.0.0.1:8080/"});
    settle();
  }

  ~real_mailer_fixture() {
    // Its workers are linked to it: they end with it.
    self->send_exit(mailer, caf::exit_reason::user_shutdown);
    settle();
  }

  bool in_outbox(const std::string& host, uint64_t id) {
    auto txn = st.begin_read();
    auto t = txn.ref();
    return storage::get(t, t.db->outbox, storage::note_key(host, id))
      .has_value();
  }

  /// Settles, again and again, for `d` of real time: the mailer's workers
  /// run on threads of their own.
  void settle_for(std::chrono::milliseconds d) {
    auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end) {
      settle();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
};

} // namespace

TEST_CASE_METHOD(real_mailer_fixture,
                 "the mailer's closing write of an outbox entry is retried "
                 "until it lands") {
  // An entry whose notification does not exist (as if read and deleted):
  // the mailer has nothing to send and takes the entry out of the outbox.
  auto key = storage::note_key("h1", 1);
  REQUIRE(put_raw(&storage::tables::outbox, key,
                  R"({"to":"h1@example.com","ids":[1]})")
          == storage::status::ok);
  auto filled = fill();
  REQUIRE(filled > 0);
  self->send(mailer, email_job{"h1", 1, 0});
  settle_for(std::chrono::milliseconds(500));
  CHECK(in_outbox("h1", 1));  // the write failed: the map is full
  unfill(filled);
  sched.advance_time(std::chrono::seconds(1));
  settle_for(std::chrono::milliseconds(500));
  // Left so, a restart would send the email again.
  CHECK_FALSE(in_outbox("h1", 1));
}

TEST_CASE_METHOD(fixture, "an idempotency key replays the first answer") {
  auto first = book("h1", "r1", "2026-12-01", "2026-12-03", "key-1", "fp-a");
  REQUIRE(first);
  auto again = book("h1", "r1", "2026-12-01", "2026-12-03", "key-1", "fp-a");
  REQUIRE(again);
  CHECK(again->body == first->body);
  CHECK(again->location == first->location);
  CHECK(queries.count("h1", std::nullopt).unread == 1);
  auto other = book("h1", "r9", "2026-12-01", "2026-12-03", "key-1", "fp-b");
  REQUIRE(!other);
  CHECK(code_of(other.error()) == ec::conflict);
}

TEST_CASE_METHOD(fixture, "concurrent requests with one key create one booking") {
  auto r = guest_booking("h1", "r1", "2026-12-01", "2026-12-03");
  r.idem_key = "k";
  r.fingerprint = "same";
  auto a = self->request(router, caf::infinite, r);
  auto b = self->request(router, caf::infinite, r);
  settle();
  std::string body_a, body_b;
  a.receive([&](created_reply& x) { body_a = x.body; }, [](caf::error&) {});
  b.receive([&](created_reply& x) { body_b = x.body; }, [](caf::error&) {});
  CHECK(!body_a.empty());
  CHECK(body_a == body_b);
  CHECK(queries.count("h1", std::nullopt).unread == 1);
}

TEST_CASE_METHOD(fixture, "mark-read by ids, up to an id, and all") {
  for (int i = 0; i < 5; ++i)
    REQUIRE(book("h1", "r" + std::to_string(i), "2026-12-01", "2026-12-02"));
  auto by_ids = mark("h1", mark_mode::ids, {2, 4, 99});
  REQUIRE(by_ids);
  CHECK(by_ids->updated == 2);
  CHECK(by_ids->unread == 3);
  CHECK(by_ids->changed == std::vector<uint64_t>{2, 4});
  auto again = mark("h1", mark_mode::ids, {2});
  REQUIRE(again);
  CHECK(again->updated == 0);
  auto up_to = mark("h1", mark_mode::up_to, {}, 3);
  REQUIRE(up_to);
  CHECK(up_to->updated == 2);  // 1 and 3
  CHECK(up_to->unread == 1);
  auto all = mark("h1", mark_mode::all);
  REQUIRE(all);
  CHECK(all->updated == 1);
  CHECK(all->unread == 0);
  CHECK(queries.count("h1", std::nullopt).unread == 0);
  list_query q;
  auto page = queries.list("h1", q);
  CHECK(!has(page.items, R"("readAt":null)"));
}

TEST_CASE_METHOD(fixture, "an idle host actor stops and its state reloads") {
  auto& gauge = telemetry::metrics().host_actors;
  auto before = gauge.value();
  REQUIRE(book("h1", "r1", "2026-12-01", "2026-12-03"));
  CHECK(gauge.value() == before + 1);
  auto running = sys.registry().running();
  sched.advance_time(std::chrono::milliseconds(1000));
  settle();
  sched.advance_time(std::chrono::milliseconds(1000));
  settle();
  CHECK(sys.registry().running() == running - 1);  // the host actor is gone
  CHECK(gauge.value() == before);  // and counted out
  auto next = book("h1", "r2", "2026-12-01", "2026-12-03");
  REQUIRE(next);
  CHECK(has(next->body, R"("notification":{"id":2})"));  // ids continue
  auto clash = book("h1", "r1", "2026-12-02", "2026-12-04");
  CHECK(!clash);  // the calendar reloaded too
}

TEST_CASE_METHOD(fixture, "only a host's own actor may retire it") {
  REQUIRE(book("h1", "r1", "2026-12-01", "2026-12-03"));
  auto running = sys.registry().running();
  // A request that names the right count but comes from another actor (a
  // stale actor of the host, say) is refused: the actor stays in place.
  auto h = self->request(router, caf::infinite, retire_request{"h1", 1});
  settle();
  h.receive([](bool agreed) { CHECK_FALSE(agreed); },
            [](caf::error& e) { FAIL(caf::to_string(e)); });
  CHECK(sys.registry().running() == running);
  auto next = book("h1", "r1", "2026-12-02", "2026-12-04");
  CHECK(!next);  // the same actor: the calendar as it was
}

TEST_CASE_METHOD(small_map_fixture,
                 "an early ack's second delete of the email wait is retried "
                 "until it lands") {
  self->send(router, email_everything("h1", 60));
  settle();
  auto waiting = [&] {
    auto txn = st.begin_read();
    auto t = txn.ref();
    return storage::get(t, t.db->waits, storage::note_key("h1", 1)).has_value();
  };
  // The ack reaches the writer before the booking's write: its delete finds
  // no wait, and the booking's write then stores one.
  auto h = self->request(router, caf::infinite,
                         guest_booking("h1", "r1", "2026-12-01", "2026-12-03"));
  self->send(router, ack_msg{"h1", 1, "s-1", "ws", "h1", false});
  sched.run();
  st.drain();
  REQUIRE(waiting());
  // The host's second delete, after the booking's commit, fails: the map is
  // full. Left so, the wait would email an acked notification after a restart.
  auto filled = fill();
  REQUIRE(filled > 0);
  sched.run();
  st.drain();
  CHECK(waiting());
  unfill(filled);
  sched.advance_time(std::chrono::seconds(1));
  settle();
  CHECK_FALSE(waiting());
  h.receive([](created_reply&) {},
            [](caf::error& e) { FAIL("booking: " << caf::to_string(e)); });
  // One acked entry: the retry writes none of its own.
  auto items = queries.audit("h1", 100, std::nullopt, 1).items;
  CHECK(items.find("acked") != std::string::npos);
  CHECK(items.find("acked") == items.rfind("acked"));
  CHECK(emails == 0);
}

TEST_CASE_METHOD(fixture,
                 "a handler that throws answers every pending request, and no "
                 "id is handed out twice") {
  REQUIRE(book("h1", "r1", "2026-12-01", "2026-12-03"));
  auto request = [&](const std::string& room) {
    return self->request(router, caf::infinite,
                         guest_booking("h1", room, "2026-12-05", "2026-12-06"));
  };
  // The first waits for its commit (the writer has not run) when the second,
  // whose room id the host cannot encode as JSON, makes its handler throw.
  auto pending = request("r2");
  sched.run();
  auto failing = request(std::string{"r\xff"});
  sched.run();
  // A booking before r2's write commits is told to try again too: a new
  // host actor would read the counters without id 2, hand it out again and
  // overwrite r2's notification.
  auto early = request("r4");
  sched.run();
  int unavailable = 0;
  for (auto* h : {&pending, &failing, &early})
    h->receive([](created_reply&) { FAIL("no reply expected"); },
               [&](caf::error& e) { unavailable += code_of(e) == ec::unavailable; });
  CHECK(unavailable == 3);
  // The first op may still commit; a fresh host actor carries on after it.
  settle();
  auto next = book("h1", "r3", "2026-12-01", "2026-12-03");
  REQUIRE(next);
  CHECK(has(next->body, "\"id\":3"));
  CHECK(queries.count("h1", std::nullopt).unread == 3);
}

TEST_CASE_METHOD(fixture, "a filtered page looks at a bounded number of records") {
  // One review (id 1) under 25 bookings: with 10 records looked at a page,
  // a review list goes on page by page, never skipping a record, until it
  // reaches it.
  REQUIRE(ask<created_reply>(notification_request{
    "service:s", "", "", "h1", "new_review", "t", "b", "{}"}));
  for (int i = 0; i < 25; ++i)
    REQUIRE(book("h1", "r" + std::to_string(i), "2026-12-01", "2026-12-03"));
  host_queries bounded{st, 10};
  auto walk = [&](list_query q) {
    std::vector<std::string> pages;
    for (;;) {
      auto page = bounded.list("h1", q);
      pages.push_back(page.items);
      if (!page.cursor)
        return pages;
      REQUIRE(host_queries::decode_cursor(*page.cursor, q));
    }
  };
  list_query newest;
  newest.cat = category::review;
  auto pages = walk(newest);
  REQUIRE(pages.size() == 3);
  CHECK(pages[0] == "[]");
  CHECK(pages[1] == "[]");
  CHECK(has(pages[2], R"({"id":1,)"));
  list_query oldest = newest;
  oldest.ascending = true;
  oldest.has_from = true;  // after=0
  pages = walk(oldest);
  REQUIRE(pages.size() == 3);
  CHECK(has(pages[0], R"({"id":1,)"));
  CHECK(pages[1] == "[]");
  CHECK(pages[2] == "[]");

  // The audit log's filter likewise: the review's entries come last.
  std::optional<std::string> cursor;
  std::size_t audit_pages = 0;
  std::string found;
  do {
    auto page = bounded.audit("h1", 100, cursor, 1);
    found += page.items;
    cursor = page.cursor
               ? host_queries::decode_audit_cursor(*page.cursor)
               : std::nullopt;
    ++audit_pages;
  } while (cursor);
  CHECK(audit_pages >= 3);
  CHECK(has(found, R"("notificationId":1,)"));
}
