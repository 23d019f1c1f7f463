// Which records of the notes table retention deletes (retention_sweeper.hpp):
// read notifications read before the cutoff and audit entries older than it;
// never an unread notification, the counters, unread marks or calendars.
#include <map>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "bellhop/actors/domain.hpp"
#include "bellhop/actors/queries.hpp"
#include "bellhop/telemetry/metrics.hpp"
#include "deterministic_core.hpp"
#include "bellhop/storage/tables.hpp"
#include "retention_sweeper.hpp"

using namespace std::chrono;
using namespace bellhop;

namespace {

/// A notification as the host actor stores it: readAt last.
std::string note(std::string_view read_at) {
  std::string doc = R"({"id":7,"hostId":"h1","type":"new_booking",)"
                    R"("category":"booking","title":"t","body":"b","data":{},)"
                    R"("createdAt":"2030-01-01T00:00:00.000Z","readAt":)";
  if (read_at.empty())
    return doc + "null}";
  return doc + "\"" + std::string{read_at} + "\"}";
}

const auto now = system_clock::time_point{} + seconds(1'900'000'000);
const auto cut = retention_cutoff_at(now, hours(24));

std::string iso(system_clock::time_point t) {
  return format_time(t);
}

uint64_t micros(system_clock::time_point t) {
  return static_cast<uint64_t>(
    duration_cast<microseconds>(t.time_since_epoch()).count());
}

} // namespace

TEST_CASE("retention: the cutoff is the retention before now", "[retention]") {
  CHECK(cut.read_before == iso(now - hours(24)));
  CHECK(cut.audit_before_us == micros(now - hours(24)));
}

TEST_CASE("retention: a notification read before the cutoff goes",
          "[retention]") {
  auto key = storage::note_key("h1", 7);
  CHECK(retention_expired(key, note(iso(now - hours(25))), cut));
  CHECK(retention_expired(key, note(iso(now - hours(24) - milliseconds(1))),
                          cut));
}

TEST_CASE("retention: a notification read since the cutoff stays",
          "[retention]") {
  auto key = storage::note_key("h1", 7);
  CHECK_FALSE(retention_expired(key, note(iso(now - hours(24))), cut));
  CHECK_FALSE(retention_expired(key, note(iso(now - hours(1))), cut));
}

TEST_CASE("retention: an unread notification stays, however old",
          "[retention]") {
  CHECK_FALSE(retention_expired(storage::note_key("h1", 1), note(""), cut));
}

TEST_CASE("retention: audit entries go by their time", "[retention]") {
  auto old_key = storage::audit_key("h1", micros(now - hours(48)), 3);
  auto new_key = storage::audit_key("h1", micros(now - hours(1)), 4);
  CHECK(retention_expired(old_key, R"({"action":"read"})", cut));
  CHECK_FALSE(retention_expired(new_key, R"({"action":"read"})", cut));
}

TEST_CASE("retention: counters, unread marks and calendars stay",
          "[retention]") {
  // Values that would pass for expired records, under other kinds of key.
  auto old_read = note(iso(now - hours(48)));
  CHECK_FALSE(retention_expired(storage::counters_key("h1"), old_read, cut));
  CHECK_FALSE(retention_expired(storage::unread_key("h1", 7), old_read, cut));
  // A room id of 5 bytes makes the calendar key as long as an audit key.
  auto cal = storage::calendar_key("h1", "rm-77", "2030-01-01");
  REQUIRE(cal.size() == storage::audit_key("h1", 1, 1).size());
  CHECK_FALSE(retention_expired(cal, old_read, cut));
}

TEST_CASE("retention: records it cannot read stay", "[retention]") {
  auto key = storage::note_key("h1", 7);
  CHECK_FALSE(retention_expired(key, "", cut));
  CHECK_FALSE(retention_expired(key, "{}", cut));
  CHECK_FALSE(retention_expired(key, R"(,"readAt":"2000-01-01T00:00:00.000Z"})"
                                     "x", cut));
  CHECK_FALSE(retention_expired("no-separator", note(iso(now - hours(48))), cut));
}

TEST_CASE("retention: passes run every tenth of the retention, 1 s to 1 h",
          "[retention]") {
  CHECK(retention_interval(seconds(2)) == seconds(1));
  CHECK(retention_interval(minutes(30)) == minutes(3));
  CHECK(retention_interval(hours(24 * 90)) == hours(1));
}

// ---------------------------------------------------------------------------
// The sweeper itself, through the router, on CAF's deterministic coordinator
// (deterministic_core.hpp): real host actors write the notifications, read
// marks and audit entries; a pass crosses many chunks.

namespace {

constexpr int bookings_per_host = 700;
constexpr uint64_t read_up_to = 450;
const std::vector<std::string> hosts{"h.a-1", "h_b", "H-c.9"};

struct sweeper_fixture : deterministic_core {
  sweeper_fixture()
    : deterministic_core(
      [](caf::actor_system&) {
        auto c = config(std::chrono::milliseconds(60'000));
        c.retention = milliseconds(1);
        return c;
      },
      0) {
  }

  /// Every host's bookings, each of a new room, answered before it returns.
  void book_all() {
    std::vector<decltype(self->request(router, caf::infinite,
                                       booking_request{}))> pending;
    for (const auto& h : hosts)
      for (int i = 0; i < bookings_per_host; ++i)
        pending.push_back(self->request(
          router, caf::infinite,
          guest_booking(h, "r" + std::to_string(i), "2030-01-01",
                        "2030-01-02")));
    settle();
    for (auto& p : pending)
      p.receive([](created_reply&) {},
                [](caf::error& e) { FAIL(caf::to_string(e)); });
  }

  void read_up_to_mark() {
    for (const auto& h : hosts) {
      mark_read_request r;
      r.host_id = h;
      r.mode = static_cast<uint8_t>(mark_mode::up_to);
      r.up_to = read_up_to;
      r.by = h;
      r.via = "rest";
      auto p = self->request(router, caf::infinite, r);
      settle();
      p.receive([](mark_read_reply& m) { REQUIRE(m.updated == read_up_to); },
                [](caf::error& e) { FAIL(caf::to_string(e)); });
    }
  }

  /// How many records of each kind the notes table holds for `host`.
  struct census {
    int read = 0, unread = 0, audit = 0, other = 0;
  };
  census count(const std::string& host) {
    census c;
    auto txn = st.begin_read();
    storage::cursor cur{txn.ref(), txn.ref().db->notes};
    auto prefix = storage::host_prefix(host);
    auto audit = storage::audit_prefix(host);
    for (bool ok = cur.seek(host); ok && cur.key().substr(0, host.size()) == host
                                   && cur.key().size() > host.size()
                                   && (cur.key()[host.size()] == '\0'
                                       || cur.key()[host.size()] == '\1');
         ok = cur.next()) {
      auto k = cur.key();
      if (storage::has_prefix(k, prefix, 8))
        (cur.value().find("\"readAt\":null}") == std::string_view::npos
           ? c.read
           : c.unread)++;
      else if (storage::has_prefix(k, audit, 16))
        ++c.audit;
      else
        ++c.other;
    }
    return c;
  }
};

} // namespace

int bookings_stored(deterministic_core& f) {
  auto txn = f.st.begin_read();
  storage::cursor cur{txn.ref(), txn.ref().db->bookings};
  int n = 0;
  for (bool ok = cur.first(); ok; ok = cur.next())
    ++n;
  return n;
}

TEST_CASE("retention sweeper: a pass over many chunks deletes exactly the "
          "read notifications and the old audit entries",
          "[retention][sweeper]") {
  sweeper_fixture f;
  f.settle();  // nothing at start-up: the first pass comes one interval later
  f.book_all();
  f.read_up_to_mark();
  std::map<std::string, sweeper_fixture::census> before;
  int records = 0;
  for (const auto& h : hosts) {
    auto c = f.count(h);
    CHECK(c.read == static_cast<int>(read_up_to));
    CHECK(c.unread == bookings_per_host - static_cast<int>(read_up_to));
    // One entry per booking (created) and one per notification read.
    CHECK(c.audit == bookings_per_host + static_cast<int>(read_up_to));
    records += c.read + c.unread + c.audit + c.other;
    before[h] = c;
  }
  REQUIRE(records > 5 * static_cast<int>(retention_chunk));
  auto booked = bookings_stored(f);
  REQUIRE(booked == bookings_per_host * static_cast<int>(hosts.size()));
  auto deleted = telemetry::metrics().retention_deleted.value();

  std::this_thread::sleep_for(milliseconds(5));  // past the 1 ms retention
  f.sched.advance_time(retention_interval(milliseconds(1)));
  f.settle();

  for (const auto& h : hosts) {
    auto c = f.count(h);
    CHECK(c.read == 0);
    CHECK(c.unread == before[h].unread);  // never an unread notification
    CHECK(c.audit == 0);
    CHECK(c.other == before[h].other);  // counters, unread marks, calendar
    host_queries q{f.st};
    auto counts = q.count(h, std::nullopt);
    CHECK(counts.unread == bookings_per_host - read_up_to);
    CHECK(counts.latest_id == static_cast<uint64_t>(bookings_per_host));
  }
  CHECK(bookings_stored(f) == booked);
  CHECK(telemetry::metrics().retention_deleted.value() - deleted
        == hosts.size() * (read_up_to + bookings_per_host + read_up_to));
}
