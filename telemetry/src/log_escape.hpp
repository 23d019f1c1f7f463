// How the logger writes a string value: as a JSON string, or as a value of
// a `key=value` text line (logfmt). Pure functions, for log.cpp and its
// test.
#pragma once

#include <string>
#include <string_view>

namespace bellhop::telemetry {

/// Appends `s` as a JSON string: quoted, with `"`, `\` and control
/// characters escaped (`\n`, `\u0007`).
void json_string(std::string& out, std::string_view s);

/// Appends `s` as a logfmt value: bare when it is a plain word, else (it is
/// empty, or has a space, `=`, `"` or a control character) quoted and
/// escaped as json_string does, so that `route="GET /bookings/{id}"` or an
/// SMTP server's reply over two lines stays one value of one line.
void logfmt_value(std::string& out, std::string_view s);

} // namespace bellhop::telemetry
