// Types, categories, timestamps and booking ids.
#include "bellhop/actors/domain.hpp"

#include "bellhop/telemetry/log.hpp"

#include <array>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <random>

namespace bellhop {

namespace {

constexpr std::array<std::string_view, 4> category_names{"booking", "review",
                                                         "message", "system"};

} // namespace

std::string_view to_string(category c) {
  return category_names[static_cast<std::size_t>(c)];
}

std::optional<category> parse_category(std::string_view s) {
  for (std::size_t i = 0; i < category_names.size(); ++i)
    if (category_names[i] == s)
      return static_cast<category>(i);
  return std::nullopt;
}

std::optional<category> category_of_type(std::string_view type) {
  if (type == "new_booking" || type == "booking_cancelled")
    return category::booking;
  if (type == "new_review")
    return category::review;
  if (type == "new_message")
    return category::message;
  if (type == "system")
    return category::system;
  return std::nullopt;
}

bool valid_id(std::string_view s) {
  if (s.empty() || s.size() > 64)
    return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_'
          || c == '-'))
      return false;
  return true;
}

int64_t epoch_ms(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

std::string format_time(std::chrono::system_clock::time_point t) {
  return telemetry::rfc3339_ms(t);
}

std::string new_booking_id() {
  // ULID: 48 bits of milliseconds, then 80 random bits, in Crockford base32.
  static constexpr char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  auto ms = static_cast<uint64_t>(epoch_ms(std::chrono::system_clock::now()));
  uint64_t hi = rng(), lo = rng();
  std::string id = "bk_";
  id.resize(3 + 26);
  for (int i = 9; i >= 0; --i, ms >>= 5)
    id[3 + i] = alphabet[ms & 31];
  // 80 random bits: 16 from hi, 64 from lo.
  for (int i = 25; i >= 10; --i) {
    id[3 + i] = alphabet[lo & 31];
    lo = (lo >> 5) | (hi << 59);
    hi >>= 5;
  }
  return id;
}

std::string booking_title(std::string_view room_id) {
  std::string s = "New booking: ";
  s.append(room_id);
  return s;
}

std::string booking_body(std::string_view guest_id, std::string_view room_id,
                         std::string_view check_in, std::string_view check_out,
                         int guests) {
  std::string s;
  s.append(guest_id).append(" booked ").append(room_id).append(" for ");
  s.append(check_in).append(" to ").append(check_out).append(" (");
  s.append(std::to_string(guests)).append(guests == 1 ? " guest)" : " guests)");
  return s;
}

} // namespace bellhop
