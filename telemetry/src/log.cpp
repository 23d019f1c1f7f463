// The structured logger.
#include "bellhop/telemetry/log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

#include <unistd.h>

#include "log_escape.hpp"

namespace bellhop::telemetry {

namespace {

bool json_format = false;
level min_level = level::info;

const char* name(level l) {
  switch (l) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    default: return "error";
  }
}

/// A field's value: a string as JSON or logfmt (`json`), a number bare.
void value(std::string& out, const field_value& v, bool json) {
  if (auto s = std::get_if<std::string_view>(&v)) {
    if (json)
      json_string(out, *s);
    else
      logfmt_value(out, *s);
  } else if (auto i = std::get_if<int64_t>(&v)) {
    out += std::to_string(*i);
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", std::get<double>(v));
    out += buf;
  }
}

} // namespace

std::string rfc3339_ms(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

bool parse_level(std::string_view s, level& out) {
  for (auto l : {level::debug, level::info, level::warn, level::error})
    if (s == name(l)) {
      out = l;
      return true;
    }
  return false;
}

void configure_log(bool json, level min) {
  json_format = json;
  min_level = min;
}

bool log_enabled(level l) {
  return l >= min_level;
}

void log(level l, std::string_view msg, std::initializer_list<field> fields) {
  if (!log_enabled(l))
    return;
  std::string line;
  line.reserve(160);
  if (json_format) {
    line += "{\"ts\":\"" + rfc3339_ms(std::chrono::system_clock::now()) + "\",\"level\":\"" + name(l)
            + "\",\"msg\":";
    json_string(line, msg);
    for (auto& [k, v] : fields) {
      line += ",";
      json_string(line, k);
      line += ":";
      value(line, v, true);
    }
    line += "}\n";
  } else {
    line += rfc3339_ms(std::chrono::system_clock::now()) + " " + name(l) + " ";
    line.append(msg);
    for (auto& [k, v] : fields) {
      line += " ";
      line.append(k);
      line += "=";
      value(line, v, false);
    }
    line += "\n";
  }
  // One write: lines from several threads do not interleave.
  auto rc = ::write(2, line.data(), line.size());
  (void) rc;
}

} // namespace bellhop::telemetry
