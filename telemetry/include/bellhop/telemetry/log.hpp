// Structured logs on stderr: one line per event, JSON objects
// (`--log-format json`) or `key=value` text. Each line is written with one
// write(2), so lines from different threads never interleave. Callers must
// never pass a token or a secret as a field.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace bellhop::telemetry {

enum class level : uint8_t { debug, info, warn, error };

/// RFC 3339 UTC with milliseconds, e.g. 2026-11-28T10:00:00.123Z.
std::string rfc3339_ms(std::chrono::system_clock::time_point t);

/// Parses "debug", "info", "warn", "error".
bool parse_level(std::string_view s, level& out);

/// Sets the format and the lowest level written. Call once at start-up.
void configure_log(bool json, level min);

bool log_enabled(level l);

using field_value = std::variant<std::string_view, int64_t, double>;
using field = std::pair<std::string_view, field_value>;

void log(level l, std::string_view msg, std::initializer_list<field> fields = {});

} // namespace bellhop::telemetry
