// Validation of request bodies and query parameters (§3, §4). Each rule
// failure names the field at fault. Pure functions: no I/O, no actors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "bellhop/actors/domain.hpp"
#include "bellhop/actors/messages.hpp"
#include "bellhop/actors/parse.hpp"
#include "bellhop/auth/jwt.hpp"

namespace bellhop::http {

/// A real calendar date written YYYY-MM-DD.
bool valid_date(std::string_view s);

/// Days from 1970-01-01 of a valid date.
int64_t day_number(std::string_view date);

/// Idempotency-Key: 1–128 printable ASCII characters.
bool valid_idempotency_key(std::string_view key);

/// POST /bookings. For a guest, guestId is the token's sub. The
/// fingerprint is computed only when asked (a request with an
/// Idempotency-Key needs it; the others do not pay for it).
std::optional<invalid> parse_booking(const nlohmann::json& body,
                                     const auth::principal& who,
                                     booking_request& out,
                                     bool with_fingerprint = true);

/// POST /notifications; the fingerprint as for parse_booking.
std::optional<invalid> parse_notification(const nlohmann::json& body,
                                          notification_request& out,
                                          bool with_fingerprint = true);

/// The idempotency fingerprint of a parsed request: the SHA-256 of its
/// normalised fields.
std::string booking_fingerprint(const booking_request& r);
std::string notification_fingerprint(const notification_request& r);

/// A positive integer query parameter within [lo, hi].
std::optional<uint64_t> parse_uint(std::string_view s, uint64_t lo,
                                   uint64_t hi);

/// A digest of `canonical` (hex SHA-256): the idempotency fingerprint.
std::string fingerprint(std::string_view canonical);

} // namespace bellhop::http
