// Field rules of §3 and §4.
#include "validation.hpp"

#include <charconv>

#include <nlohmann/json.hpp>
#include <openssl/sha.h>

#include "bellhop/actors/domain.hpp"

namespace bellhop::http {

namespace {

using json = nlohmann::json;

std::optional<invalid> bad(std::string field, std::string message) {
  return invalid{std::move(field), std::move(message)};
}

/// Unicode code points in valid UTF-8 (nlohmann rejects invalid UTF-8).
std::size_t char_count(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}

/// Reads a required string field.
std::optional<invalid> need_string(const json& body, const char* name,
                                   std::string& out) {
  auto i = body.find(name);
  if (i == body.end() || i->is_null())
    return bad(name, std::string{name} + " is required");
  if (!i->is_string())
    return bad(name, std::string{name} + " must be a string");
  out = i->get<std::string>();
  return std::nullopt;
}

std::optional<invalid> need_id(const json& body, const char* name,
                               std::string& out) {
  if (auto err = need_string(body, name, out))
    return err;
  if (!valid_id(out))
    return bad(name, std::string{name}
                       + " must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', '-'");
  return std::nullopt;
}

bool leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int digits(std::string_view s) {
  int v = 0;
  for (char c : s)
    v = v * 10 + (c - '0');
  return v;
}

} // namespace

bool valid_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-')
    return false;
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!std::isdigit(static_cast<unsigned char>(s[i])))
      return false;
  int y = digits(s.substr(0, 4)), m = digits(s.substr(5, 2)),
      d = digits(s.substr(8, 2));
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1 || m < 1 || m > 12 || d < 1)
    return false;
  int max = days[m - 1] + (m == 2 && leap(y) ? 1 : 0);
  return d <= max;
}

int64_t day_number(std::string_view date) {
  // Howard Hinnant's days_from_civil.
  int64_t y = digits(date.substr(0, 4));
  unsigned m = digits(date.substr(5, 2)), d = digits(date.substr(8, 2));
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  auto yoe = static_cast<unsigned>(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool valid_idempotency_key(std::string_view key) {
  if (key.empty() || key.size() > 128)
    return false;
  for (char c : key)
    if (c < 0x20 || c > 0x7e)
      return false;
  return true;
}

std::optional<invalid> parse_booking(const json& body,
                                     const auth::principal& who,
                                     booking_request& out,
                                     bool with_fingerprint) {
  if (!body.is_object())
    return bad("", "the body must be a JSON object");
  if (auto e = need_id(body, "hostId", out.host_id))
    return e;
  if (auto e = need_id(body, "roomId", out.room_id))
    return e;
  if (who.role == auth::role::guest) {
    out.guest_id = who.sub;  // a guestId in a guest's body is ignored
    if (!valid_id(out.guest_id))
      return bad("guestId", "the token's subject is not a valid guestId");
  } else if (auto e = need_id(body, "guestId", out.guest_id)) {
    return e;
  }
  if (auto e = need_string(body, "checkIn", out.check_in))
    return e;
  if (!valid_date(out.check_in))
    return bad("checkIn", "checkIn must be a date YYYY-MM-DD");
  if (auto e = need_string(body, "checkOut", out.check_out))
    return e;
  if (!valid_date(out.check_out))
    return bad("checkOut", "checkOut must be a date YYYY-MM-DD");
  auto nights = day_number(out.check_out) - day_number(out.check_in);
  if (nights <= 0)
    return bad("checkOut", "checkOut must be after checkIn");
  if (nights > 365)
    return bad("checkOut", "a stay is at most 365 nights");
  auto g = body.find("guests");
  if (g == body.end() || g->is_null())
    return bad("guests", "guests is required");
  if (!g->is_number_integer())
    return bad("guests", "guests must be an integer from 1 to 50");
  auto n = g->get<int64_t>();
  if (n < 1 || n > 50)
    return bad("guests", "guests must be an integer from 1 to 50");
  out.guests = static_cast<int32_t>(n);
  auto note = body.find("note");
  out.has_note = note != body.end() && !note->is_null();
  if (out.has_note) {
    if (!note->is_string())
      return bad("note", "note must be a string");
    out.note = note->get<std::string>();
    if (char_count(out.note) > 500)
      return bad("note", "note is at most 500 characters");
  }
  if (with_fingerprint)
    out.fingerprint = booking_fingerprint(out);
  return std::nullopt;
}

std::optional<invalid> parse_notification(const json& body,
                                          notification_request& out,
                                          bool with_fingerprint) {
  if (!body.is_object())
    return bad("", "the body must be a JSON object");
  if (auto e = need_id(body, "hostId", out.host_id))
    return e;
  if (auto e = need_string(body, "type", out.type))
    return e;
  if (out.type == "new_booking" || !category_of_type(out.type))
    return bad("type", "type must be one of booking_cancelled, new_review, "
                       "new_message, system");
  if (auto e = need_string(body, "title", out.title))
    return e;
  auto title_len = char_count(out.title);
  if (title_len < 1 || title_len > 200)
    return bad("title", "title must be 1-200 characters");
  if (auto e = need_string(body, "body", out.body))
    return e;
  if (char_count(out.body) > 2000)
    return bad("body", "body is at most 2000 characters");
  auto d = body.find("data");
  out.data_json = "{}";
  if (d != body.end() && !d->is_null()) {
    if (!d->is_object())
      return bad("data", "data must be a JSON object");
    out.data_json = d->dump();
    if (out.data_json.size() > 8 * 1024)
      return bad("data", "data is at most 8 KiB");
  }
  if (with_fingerprint)
    out.fingerprint = notification_fingerprint(out);
  return std::nullopt;
}

std::optional<uint64_t> parse_uint(std::string_view s, uint64_t lo,
                                   uint64_t hi) {
  uint64_t v = 0;
  auto [p, err] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || err != std::errc{} || p != s.data() + s.size() || v < lo
      || v > hi)
    return std::nullopt;
  return v;
}

std::string booking_fingerprint(const booking_request& r) {
  json canonical = {{"hostId", r.host_id},     {"roomId", r.room_id},
                    {"guestId", r.guest_id},   {"checkIn", r.check_in},
                    {"checkOut", r.check_out}, {"guests", r.guests},
                    {"note", r.has_note ? json(r.note) : json(nullptr)}};
  return fingerprint(canonical.dump());
}

std::string notification_fingerprint(const notification_request& r) {
  json canonical = {{"hostId", r.host_id}, {"type", r.type},
                    {"title", r.title},    {"body", r.body},
                    {"data", json::parse(r.data_json)}};
  return fingerprint(canonical.dump());
}

std::string fingerprint(std::string_view canonical) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(canonical.data()),
         canonical.size(), md);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * SHA256_DIGEST_LENGTH);
  for (auto b : md) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
  return out;
}

} // namespace bellhop::http
