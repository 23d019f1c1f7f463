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

/// POST /bookings. For a guest, guestId is the token's sub.
std::optional<invalid> parse_booking(const nlohmann::json& body,
                                     const auth::principal& who,
                                     booking_request& out);

/// POST /notifications.
std::optional<invalid> parse_notification(const nlohmann::json& body,
                                          notification_request& out);

/// A positive integer query parameter within [lo, hi].
std::optional<uint64_t> parse_uint(std::string_view s, uint64_t lo,
                                   uint64_t hi);

/// A digest of `canonical` (hex SHA-256): the idempotency fingerprint.
std::string fingerprint(std::string_view canonical);

} // namespace bellhop::http
