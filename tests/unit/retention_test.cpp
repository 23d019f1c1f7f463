// Which records of the notes table retention deletes (retention_sweeper.hpp):
// read notifications read before the cutoff and audit entries older than it;
// never an unread notification, the counters, unread marks or calendars.
#include <catch2/catch.hpp>

#include "bellhop/actors/domain.hpp"
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
