// Fuzzes the REST request validators (http/src/validation.cpp) and the
// request documents both front ends share (actors/src/parse.cpp,
// actors/src/preferences.cpp). The input is a request body: it is parsed
// as the server parses it (nlohmann, no exceptions) and handed to every
// parser; the raw bytes also go to the string rules (dates, query
// integers, Idempotency-Key). Besides crashes and UB, each parser's
// contract is checked on what it accepts.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "bellhop/actors/domain.hpp"
#include "bellhop/actors/parse.hpp"
#include "bellhop/actors/preferences.hpp"
#include "fuzz_check.hpp"
#include "validation.hpp"

namespace {

using nlohmann::json;
using namespace bellhop;
using bellhop::fuzz::code_points;

bool all_digits(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9')
      return false;
  return true;
}

bool is_hex64(const std::string& s) {
  if (s.size() != 64)
    return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      return false;
  return true;
}

/// valid_date, parse_uint and valid_idempotency_key on raw text.
void string_rules(std::string_view s) {
  if (http::valid_date(s)) {
    FUZZ_CHECK(s.size() == 10);
    // Years 0001-9999: days from 1970-01-01 stay in that range.
    auto days = http::day_number(s);
    FUZZ_CHECK(days >= -719162 && days <= 2932896);
  }
  if (auto v = http::parse_uint(s, 1, 1000)) {
    FUZZ_CHECK(*v >= 1 && *v <= 1000);
    FUZZ_CHECK(!s.empty() && all_digits(s));
  }
  if (auto v = http::parse_uint(s, 0, std::numeric_limits<uint64_t>::max()))
    FUZZ_CHECK(!s.empty() && all_digits(s));
  if (http::valid_idempotency_key(s)) {
    FUZZ_CHECK(!s.empty() && s.size() <= 128);
    for (char c : s)
      FUZZ_CHECK(c >= 0x20 && c <= 0x7e);
  }
}

void booking(const json& body, const auth::principal& who) {
  booking_request out;
  if (http::parse_booking(body, who, out))
    return;
  FUZZ_CHECK(valid_id(out.host_id) && valid_id(out.room_id));
  FUZZ_CHECK(valid_id(out.guest_id));
  if (who.role == auth::role::guest)
    FUZZ_CHECK(out.guest_id == who.sub);
  FUZZ_CHECK(http::valid_date(out.check_in) && http::valid_date(out.check_out));
  auto nights = http::day_number(out.check_out) - http::day_number(out.check_in);
  FUZZ_CHECK(nights >= 1 && nights <= 365);
  FUZZ_CHECK(out.guests >= 1 && out.guests <= 50);
  FUZZ_CHECK(!out.has_note || code_points(out.note) <= 500);
  FUZZ_CHECK(is_hex64(out.fingerprint));
  // The same document, re-serialised, is the same request.
  booking_request again;
  FUZZ_CHECK(!http::parse_booking(json::parse(body.dump()), who, again));
  FUZZ_CHECK(again.fingerprint == out.fingerprint);
}

void notification(const json& body) {
  notification_request out;
  if (http::parse_notification(body, out))
    return;
  FUZZ_CHECK(valid_id(out.host_id));
  auto cat = category_of_type(out.type);
  FUZZ_CHECK(cat && out.type != "new_booking");
  auto title = code_points(out.title);
  FUZZ_CHECK(title >= 1 && title <= 200);
  FUZZ_CHECK(code_points(out.body) <= 2000);
  FUZZ_CHECK(out.data_json.size() <= 8 * 1024);
  auto data = json::parse(out.data_json, nullptr, false);
  FUZZ_CHECK(data.is_object());
  FUZZ_CHECK(is_hex64(out.fingerprint));
}

void preferences_doc(const json& body) {
  preferences out;
  if (parse_preferences(body, out))
    return;
  FUZZ_CHECK(out.email_delay_seconds <= 86400);
  if (out.email) {
    FUZZ_CHECK(out.email->size() <= 254
               && out.email->find('@') != std::string::npos);
    for (unsigned char c : *out.email)  // nothing that bends a header
      FUZZ_CHECK(c > 0x20 && c < 0x7f);
  }
  // What is stored (to_json) reads back (from_json) as the same.
  auto back = preferences::from_json(out.to_json());
  FUZZ_CHECK(back.email == out.email);
  FUZZ_CHECK(back.email_delay_seconds == out.email_delay_seconds);
  FUZZ_CHECK(back.digest == out.digest);
  for (std::size_t i = 0; i < out.channels.size(); ++i)
    FUZZ_CHECK(back.channels[i].realtime == out.channels[i].realtime
               && back.channels[i].email == out.channels[i].email);
}

void mark_read(const json& body) {
  mark_read_request out;
  if (parse_mark_read(body, out))
    return;
  switch (static_cast<mark_mode>(out.mode)) {
    case mark_mode::ids:
      FUZZ_CHECK(out.ids.size() <= 1000);
      for (auto id : out.ids)
        FUZZ_CHECK(id >= 1);  // any larger id is one the host lacks
      break;
    case mark_mode::up_to:  // any watermark, 0 to 2^64-1
      break;
    case mark_mode::all:
      break;
    default:
      FUZZ_CHECK(!"unknown mark mode");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  auto text = fuzz::as_text(data, size);
  string_rules(text);
  // The storage form of preferences (trusted input, but it must not crash).
  (void) preferences::from_json(text);

  auto body = parse_json_document(text);
  if (body.is_discarded())
    return 0;
  static const auth::principal host{"h-1", auth::role::host, 0};
  static const auth::principal guest{"g-1", auth::role::guest, 0};
  booking(body, host);
  booking(body, guest);
  notification(body);
  preferences_doc(body);
  mark_read(body);
  // The string rules on each string member: query parameters and headers
  // arrive as such strings too.
  if (body.is_object())
    for (auto& [key, value] : body.items())
      if (value.is_string())
        string_rules(value.get_ref<const std::string&>());
  return 0;
}
