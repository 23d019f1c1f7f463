// String values of log lines (see log_escape.hpp).
#include "log_escape.hpp"

#include <algorithm>
#include <cstdio>

namespace bellhop::telemetry {

namespace {

bool control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

} // namespace

void json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (control(c)) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void logfmt_value(std::string& out, std::string_view s) {
  bool plain = !s.empty() && std::none_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c == ' ' || c == '=' || c == '"' || control(c);
  });
  if (plain)
    out.append(s);
  else
    json_string(out, s);
}

} // namespace bellhop::telemetry
