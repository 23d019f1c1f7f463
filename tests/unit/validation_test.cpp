// Every field rule of POST /bookings, POST /notifications and mark-read.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "bellhop/actors/preferences.hpp"
#include "validation.hpp"

using namespace bellhop;
using namespace bellhop::http;
using json = nlohmann::json;

namespace {

auth::principal guest{"g1", auth::role::guest, 0};
auth::principal service{"svc", auth::role::service, 0};

json booking() {
  return json{{"hostId", "h1"},           {"roomId", "r-12"},
              {"checkIn", "2026-12-01"},  {"checkOut", "2026-12-03"},
              {"guests", 2}};
}

/// The field named by the error for `body`, "" when valid.
std::string booking_error(json body, const auth::principal& who = guest) {
  booking_request out;
  auto err = parse_booking(body, who, out);
  return err ? (err->field.empty() ? "<none>" : err->field) : "";
}

std::string notification_error(json body) {
  notification_request out;
  auto err = parse_notification(body, out);
  return err ? err->field : "";
}

} // namespace

TEST_CASE("a valid booking parses, and a guest's guestId is the token's") {
  auto body = booking();
  body["guestId"] = "someone-else";
  body["unknown"] = 1;
  booking_request out;
  REQUIRE(!parse_booking(body, guest, out));
  CHECK(out.guest_id == "g1");
  CHECK(out.guests == 2);
  CHECK(!out.has_note);
  CHECK(out.fingerprint.size() == 64);
}

TEST_CASE("ids: 1-64 characters of [A-Za-z0-9._-]") {
  CHECK(valid_id("a"));
  CHECK(valid_id("A.b_c-9"));
  CHECK(valid_id(std::string(64, 'x')));
  CHECK(!valid_id(""));
  CHECK(!valid_id(std::string(65, 'x')));
  CHECK(!valid_id("a b"));
  CHECK(!valid_id("a/b"));
  CHECK(!valid_id("é"));
  for (auto field : {"hostId", "roomId"}) {
    auto b = booking();
    b[field] = "bad id";
    CHECK(booking_error(b) == field);
    b.erase(field);
    CHECK(booking_error(b) == field);
    b[field] = 7;
    CHECK(booking_error(b) == field);
  }
}

TEST_CASE("service and admin must name the guest") {
  CHECK(booking_error(booking(), service) == "guestId");
  auto b = booking();
  b["guestId"] = "g-7";
  CHECK(booking_error(b, service) == "");
  b["guestId"] = "";
  CHECK(booking_error(b, service) == "guestId");
}

TEST_CASE("dates are real YYYY-MM-DD dates") {
  CHECK(valid_date("2028-02-29"));
  CHECK(!valid_date("2026-02-29"));
  CHECK(!valid_date("2026-13-01"));
  CHECK(!valid_date("2026-1-01"));
  CHECK(!valid_date("2026-01-32"));
  CHECK(!valid_date("26-01-01"));
  auto b = booking();
  b["checkIn"] = "2026/12/01";
  CHECK(booking_error(b) == "checkIn");
  b = booking();
  b["checkOut"] = "tomorrow";
  CHECK(booking_error(b) == "checkOut");
}

TEST_CASE("checkOut is after checkIn and at most 365 nights later") {
  auto b = booking();
  b["checkOut"] = "2026-12-01";
  CHECK(booking_error(b) == "checkOut");
  b["checkOut"] = "2026-11-30";
  CHECK(booking_error(b) == "checkOut");
  b["checkIn"] = "2026-01-01";
  b["checkOut"] = "2027-01-01";  // 365 nights
  CHECK(booking_error(b) == "");
  b["checkOut"] = "2027-01-02";  // 366
  CHECK(booking_error(b) == "checkOut");
}

TEST_CASE("guests is an integer from 1 to 50") {
  for (auto bad : {json(0), json(51), json(2.5), json("2"), json(nullptr)}) {
    auto b = booking();
    b["guests"] = bad;
    CHECK(booking_error(b) == "guests");
  }
  auto b = booking();
  b["guests"] = 50;
  CHECK(booking_error(b) == "");
}

TEST_CASE("note is at most 500 characters, counted as characters") {
  auto b = booking();
  b["note"] = std::string(500, 'x');
  CHECK(booking_error(b) == "");
  b["note"] = std::string(501, 'x');
  CHECK(booking_error(b) == "note");
  std::string accents;
  for (int i = 0; i < 500; ++i)
    accents += "é";  // 2 bytes each
  b["note"] = accents;
  CHECK(booking_error(b) == "");
  b["note"] = 5;
  CHECK(booking_error(b) == "note");
}

TEST_CASE("the fingerprint ignores key order and unknown fields") {
  booking_request a, c;
  auto b1 = booking();
  auto b2 = json::parse(R"({"guests":2,"checkOut":"2026-12-03","extra":true,
    "checkIn":"2026-12-01","roomId":"r-12","hostId":"h1"})");
  REQUIRE(!parse_booking(b1, guest, a));
  REQUIRE(!parse_booking(b2, guest, c));
  CHECK(a.fingerprint == c.fingerprint);
  b2["guests"] = 3;
  REQUIRE(!parse_booking(b2, guest, c));
  CHECK(a.fingerprint != c.fingerprint);
}

TEST_CASE("notification rules") {
  auto n = json{{"hostId", "h1"}, {"type", "new_review"}, {"title", "t"},
                {"body", "b"}};
  CHECK(notification_error(n) == "");
  auto no_body = n;
  no_body.erase("body");
  CHECK(notification_error(no_body) == "body");
  auto t = n;
  t["type"] = "new_booking";
  CHECK(notification_error(t) == "type");
  t["type"] = "party";
  CHECK(notification_error(t) == "type");
  t = n;
  t["title"] = "";
  CHECK(notification_error(t) == "title");
  t["title"] = std::string(201, 'x');
  CHECK(notification_error(t) == "title");
  t = n;
  t["body"] = std::string(2001, 'x');
  CHECK(notification_error(t) == "body");
  t = n;
  t["data"] = json::array();
  CHECK(notification_error(t) == "data");
  t["data"] = json{{"k", std::string(9000, 'x')}};
  CHECK(notification_error(t) == "data");
  t["data"] = json{{"k", "v"}};
  CHECK(notification_error(t) == "");
}

TEST_CASE("mark-read takes exactly one form") {
  auto parse = [](const char* text, mark_read_request& out) {
    return parse_mark_read(json::parse(text), out);
  };
  mark_read_request r;
  CHECK(!parse(R"({"ids":[1,2]})", r));
  CHECK(r.ids == std::vector<uint64_t>{1, 2});
  CHECK(!parse(R"({"upTo":17})", r));
  CHECK(!parse(R"({"all":true})", r));
  mark_read_request x;
  CHECK(parse(R"({})", x));
  CHECK(parse(R"({"ids":[1],"all":true})", x));
  CHECK(parse(R"({"all":false})", x));
  CHECK(parse(R"({"ids":[0]})", x));
  CHECK(parse(R"({"ids":"1"})", x));
  CHECK(parse(R"({"upTo":-1})", x));
  json many = {{"ids", json::array()}};
  for (int i = 1; i <= 1001; ++i)
    many["ids"].push_back(i);
  CHECK(parse_mark_read(many, x));
}

TEST_CASE("idempotency keys are 1-128 printable ASCII characters") {
  CHECK(valid_idempotency_key("a"));
  CHECK(valid_idempotency_key(std::string(128, '~')));
  CHECK(!valid_idempotency_key(""));
  CHECK(!valid_idempotency_key(std::string(129, 'a')));
  CHECK(!valid_idempotency_key("tab\there"));
}

TEST_CASE("query integers") {
  CHECK(parse_uint("20", 1, 100) == 20u);
  CHECK(!parse_uint("0", 1, 100));
  CHECK(!parse_uint("101", 1, 100));
  CHECK(!parse_uint("abc", 1, 100));
  CHECK(!parse_uint("", 1, 100));
  CHECK(!parse_uint("5x", 1, 100));
}

TEST_CASE("nesting deeper than the front ends accept is found before parsing") {
  CHECK(!json_too_deep(R"({"a":[1,{"b":[]}]})"));
  CHECK(!json_too_deep(std::string(64, '[') + std::string(64, ']')));
  CHECK(json_too_deep(std::string(65, '[') + std::string(65, ']')));
  CHECK(json_too_deep(std::string(100000, '[')));
  // Brackets inside strings, escaped quotes included, do not count.
  CHECK(!json_too_deep("{\"a\":\"" + std::string(200, '[') + "\\\"" + "\"}"));
}

TEST_CASE("a client's JSON document is all of its text") {
  CHECK(parse_json_document(R"({"all":true})").is_object());
  CHECK(parse_json_document(R"({"all":true})" "\n").is_object());
  // nlohmann's parser alone would stop at the NUL and accept these.
  using namespace std::string_literals;
  CHECK(parse_json_document("{\"all\":true}\0garbage"s).is_discarded());
  CHECK(parse_json_document("{\"all\":true}\0"s).is_discarded());
  CHECK(parse_json_document("{\"a\":\"x\0y\"}"s).is_discarded());
  CHECK(parse_json_document(R"({"all":true} x)").is_discarded());
  CHECK(parse_json_document("").is_discarded());
}

TEST_CASE("the fingerprint is computed only when asked, and the same way") {
  booking_request with, without;
  REQUIRE(!parse_booking(booking(), guest, with));
  REQUIRE(!parse_booking(booking(), guest, without, false));
  CHECK(without.fingerprint.empty());
  CHECK(booking_fingerprint(without) == with.fingerprint);
  auto n = json{{"hostId", "h1"}, {"type", "system"}, {"title", "t"},
                {"body", "b"}, {"data", {{"k", 1}}}};
  notification_request nw, nwo;
  REQUIRE(!parse_notification(n, nw));
  REQUIRE(!parse_notification(n, nwo, false));
  CHECK(nwo.fingerprint.empty());
  CHECK(notification_fingerprint(nwo) == nw.fingerprint);
}

TEST_CASE("a stored preferences document keeps its choices when its address "
          "no longer passes") {
  // Stored before addresses had to be printable ASCII: the address is
  // dropped (no email), everything else the host chose stays.
  auto doc = std::string{R"({"email":"jos\u00e9@x.org","channels":{)"}
             + R"("booking":{"realtime":false,"email":true},)"
             + R"("review":{"realtime":true,"email":true},)"
             + R"("message":{"realtime":true,"email":false},)"
             + R"("system":{"realtime":false,"email":false}},)"
             + R"("emailDelaySeconds":120,"digest":true})";
  auto p = bellhop::preferences::from_json(doc);
  CHECK_FALSE(p.email);
  CHECK(p.email_delay_seconds == 120);
  CHECK(p.digest);
  CHECK_FALSE(p.channels[0].realtime);
  CHECK(p.channels[1].email);
  // A valid one reads back as it was.
  auto ok = bellhop::preferences::from_json(
    R"({"email":"h@x.org","channels":{"booking":{"realtime":true,"email":true},)"
    R"("review":{"realtime":true,"email":true},"message":{"realtime":true,"email":true},)"
    R"("system":{"realtime":true,"email":true}},"emailDelaySeconds":0,"digest":false})");
  CHECK(ok.email == std::optional<std::string>{"h@x.org"});
}
