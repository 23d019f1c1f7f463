// The vocabulary of bellhop's notifications: types and categories, the
// formatting of titles, bodies and timestamps, and identifiers.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bellhop {

/// Categories in storage order (index into host_counters arrays).
enum class category : uint8_t { booking = 0, review = 1, message = 2, system = 3 };

std::string_view to_string(category c);
std::optional<category> parse_category(std::string_view s);

/// The category of a notification type (§3), or nullopt for an unknown type.
std::optional<category> category_of_type(std::string_view type);

/// hostId, guestId, roomId: 1–64 characters of [A-Za-z0-9._-].
bool valid_id(std::string_view s);

/// RFC 3339 UTC with milliseconds, e.g. 2026-11-28T10:00:00.123Z.
std::string format_time(std::chrono::system_clock::time_point t);

/// Milliseconds since the epoch.
int64_t epoch_ms(std::chrono::system_clock::time_point t);

/// A new booking id: "bk_" and a ULID (time-ordered, 26 characters).
std::string new_booking_id();

/// "New booking: r-12".
std::string booking_title(std::string_view room_id);
/// "g-7 booked r-12 for 2026-12-01 to 2026-12-03 (2 guests)".
std::string booking_body(std::string_view guest_id, std::string_view room_id,
                         std::string_view check_in, std::string_view check_out,
                         int guests);

} // namespace bellhop
