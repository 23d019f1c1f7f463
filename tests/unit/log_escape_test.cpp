// String values of log lines: a text line's value is bare only when a
// logfmt reader would read it whole; anything else is quoted and escaped.
#include <catch2/catch.hpp>

#include "log_escape.hpp"

using bellhop::telemetry::json_string;
using bellhop::telemetry::logfmt_value;

namespace {

std::string logfmt(std::string_view s) {
  std::string out;
  logfmt_value(out, s);
  return out;
}

} // namespace

TEST_CASE("plain words stay bare") {
  CHECK(logfmt("h-451") == "h-451");
  CHECK(logfmt("/notifications/count") == "/notifications/count");
  CHECK(logfmt("a\\b") == "a\\b");
  CHECK(logfmt("caf\xc3\xa9") == "caf\xc3\xa9");  // UTF-8 as it is
}

TEST_CASE("a value with a space, =, a quote or a control character is quoted") {
  CHECK(logfmt("GET /bookings/{id}") == R"("GET /bookings/{id}")");
  CHECK(logfmt("") == R"("")");
  CHECK(logfmt("a=b") == R"("a=b")");
  CHECK(logfmt(R"(say "hi")") == R"("say \"hi\"")");
  CHECK(logfmt("tab\there") == R"("tab\there")");
  CHECK(logfmt(std::string_view{"nul\0", 4}) == R"("nul\u0000")");
  CHECK(logfmt("del\x7f") == R"("del\u007f")");
}

TEST_CASE("quoted, a backslash is escaped and lines stay one") {
  CHECK(logfmt("451 4.3.0 try again later\r\nsecond line")
        == R"("451 4.3.0 try again later\r\nsecond line")");
  CHECK(logfmt(R"(C:\dir x)") == R"("C:\\dir x")");
}

TEST_CASE("JSON strings escape the same characters") {
  std::string out;
  json_string(out, "a \"b\"\\\n\x01");
  CHECK(out == R"("a \"b\"\\\n\u0001")");
}
