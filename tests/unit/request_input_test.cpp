// Reading a connection's bytes into requests (http/src/request_input.hpp):
// Pistache's own parser, fed as the reactor feeds it.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "request_input.hpp"

using namespace bellhop::http;
using state = request_input::state;
using Pistache::Http::RequestParser;

namespace {

const std::string get_healthz = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";

/// A connection's parser and what read_request keeps for it.
struct connection {
  explicit connection(std::size_t limit) : parser(limit) {
  }
  RequestParser parser;
  reader_state reader;

  request_input read(const char* data, std::size_t len) {
    return read_request(parser, data, len, reader);
  }
};

request_input feed(connection& c, const std::string& bytes) {
  return c.read(bytes.data(), bytes.size());
}

/// Feeds `reads` to a new connection, each but the last leaving the
/// request partial, and returns what the last read gave.
request_input last_of(const std::vector<std::string>& reads,
                      std::size_t limit = 1024 * 1024) {
  connection c(limit);
  for (std::size_t i = 0; i + 1 < reads.size(); ++i)
    REQUIRE(feed(c, reads[i]).what == state::partial);
  return feed(c, reads.back());
}

/// What a new connection's first read of `bytes` gave, checked to be a
/// 400 invalid_request.
request_input refused_with_400(const std::string& bytes) {
  INFO(bytes);
  connection p(1024 * 1024);
  auto got = feed(p, bytes);
  REQUIRE(got.what == state::unreadable);
  CHECK(got.status == 400);
  CHECK(std::string{got.code} == "invalid_request");
  return got;
}

std::string post(const std::string& body) {
  return "POST /bookings HTTP/1.1\r\nHost: t\r\nContent-Type: "
         "application/json\r\nContent-Length: "
         + std::to_string(body.size()) + "\r\n\r\n" + body;
}

} // namespace

TEST_CASE("a request read whole is complete with nothing after it") {
  connection p(1024 * 1024);
  auto got = feed(p, post(R"({"a":1})"));
  REQUIRE(got.what == state::complete);
  CHECK_FALSE(got.more_follows);
  CHECK(p.parser.request.body() == R"({"a":1})");
}

TEST_CASE("a request split over reads is complete at its last byte") {
  connection p(1024 * 1024);
  auto bytes = post(R"({"hostId":"h1"})");
  for (std::size_t i = 0; i + 1 < bytes.size(); ++i)
    REQUIRE(p.read(&bytes[i], 1).what == state::partial);
  auto got = p.read(&bytes.back(), 1);
  REQUIRE(got.what == state::complete);
  CHECK_FALSE(got.more_follows);
  CHECK(p.parser.request.body() == R"({"hostId":"h1"})");
}

TEST_CASE("bytes of another request after one in the same read are seen") {
  connection p(1024 * 1024);
  SECTION("a whole second request") {
    auto got = feed(p, post("{}") + get_healthz);
    REQUIRE(got.what == state::complete);
    CHECK(got.more_follows);
    CHECK(p.parser.request.body() == "{}");
  }
  SECTION("the first byte of one") {
    auto got = feed(p, get_healthz + "G");
    REQUIRE(got.what == state::complete);
    CHECK(got.more_follows);
  }
  SECTION("a body longer than its Content-Length") {
    auto got = feed(p, "GET /healthz HTTP/1.1\r\nContent-Length: 1\r\n\r\n"
                       "abc");
    REQUIRE(got.what == state::complete);
    CHECK(got.more_follows);
  }
}

TEST_CASE("empty lines around requests are not requests") {
  connection p(1024 * 1024);
  SECTION("after a request in the same read") {
    auto got = feed(p, get_healthz + "\r\n\r\n");
    REQUIRE(got.what == state::complete);
    CHECK_FALSE(got.more_follows);
  }
  SECTION("before a request") {
    REQUIRE(feed(p, "\r\n").what == state::partial);
    auto got = feed(p, "\n\r\n" + get_healthz);
    REQUIRE(got.what == state::complete);
    CHECK(p.parser.request.resource() == "/healthz");
  }
  SECTION("the CRLF a chunked body ends with") {
    auto got = feed(p, "POST /bookings HTTP/1.1\r\nTransfer-Encoding: "
                       "chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
    REQUIRE(got.what == state::complete);
    CHECK_FALSE(got.more_follows);
    CHECK(p.parser.request.body() == "{}");
  }
}

TEST_CASE("what cannot be read is 400, without the input or a library's "
          "words") {
  const char* bad[] = {
    "PROPFIND / HTTP/1.1\r\n\r\n",                  // unknown method
    "get / HTTP/1.1\r\n\r\n",                       // methods are upper case
    "GET / HTTP/2.0\r\n\r\n",                       // version
    "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", // library exception
    "GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    "GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
    "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
  };
  for (auto* bytes : bad) {
    auto got = refused_with_400(bytes);
    std::string message = got.message;
    CHECK_FALSE(message.empty());
    CHECK(message.find("basic_string") == std::string::npos);
    CHECK(message.find("sto") == std::string::npos);
  }
}

TEST_CASE("a head that breaks RFC 9112's grammar is 400 at once, where "
          "Pistache would read it another way or wait") {
  const char* bad[] = {
    // two Content-Lengths that differ: the first would win
    "POST /bookings HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n",
    // a line without a colon would swallow the next line
    "GET /healthz HTTP/1.1\r\nX-Junk\r\nAuthorization: Bearer t\r\n\r\n",
    // white space before the colon: the field would be dropped
    "POST /bookings HTTP/1.1\r\nContent-Length : 5\r\n\r\n",
    "POST /bookings HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n",
    // line folding, a NUL or a CR in a value
    "GET /healthz HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n",
    "GET /healthz HTTP/1.1\r\nX-A: 1\r\n\tfolded\r\n\r\n",
    "GET /healthz HTTP/1.1\r\nX-A: a\rb\r\n\r\n",
    // a Content-Length Pistache would read up to its first non-digit
    "POST /bookings HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n",
    "POST /bookings HTTP/1.1\r\nContent-Length: 2, 3\r\n\r\n",
    "POST /bookings HTTP/1.1\r\nContent-Length: 2,\r\n\r\n",
    // two Transfer-Encoding fields
    "POST /bookings HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
    "Transfer-Encoding: gzip\r\n\r\n",
    // bare LF line ends, which Pistache would wait on for ever
    "GET /healthz HTTP/1.1\nHost: t\n\n",
    "GET /healthz HTTP/1.1\r\nHost: t\n\n",
    // request lines: no version, a tab, two spaces, a lower-case version
    "GET /healthz\r\n\r\n",
    "GET\t/healthz HTTP/1.1\r\n\r\n",
    "GET  /healthz HTTP/1.1\r\n\r\n",
    "GET /healthz http/1.1\r\n\r\n",
    // chunk sizes strtol would read: a 0x, a sign, white space
    "POST /bookings HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\n{}\r\n0\r\n\r\n",
    "POST /bookings HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n+2\r\n{}\r\n0\r\n\r\n",
    "POST /bookings HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n 2\r\n{}\r\n0\r\n\r\n",
  };
  for (auto* bytes : bad)
    refused_with_400(bytes);
}

TEST_CASE("a well-formed head passes the grammar's check, in any reads") {
  const std::string good[] = {
    // repeated Content-Lengths that agree, OWS around values, HT, obs-text
    "POST /bookings HTTP/1.1\r\nContent-Type: application/json\r\n"
    "Content-Length: 2\r\ncontent-length:2 \r\nX-A:\t\xc3\xa9 \r\n\r\n{}",
    // a list of one length, as a proxy may merge repeated fields
    "POST /bookings HTTP/1.1\r\nContent-Type: application/json\r\n"
    "Content-Length: 2, 2\r\n\r\n{}",
    "GET /notifications/list?limit=5&cursor=a%2Fb HTTP/1.0\r\nHost: t\r\n\r\n",
    "POST /bookings HTTP/1.1\r\nContent-Type: application/json\r\n"
    "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
  };
  for (auto& bytes : good) {
    INFO(bytes);
    // Whole, then a byte at a time.
    connection whole(1024 * 1024);
    CHECK(feed(whole, bytes).what == state::complete);
    // (A chunked request is complete at its last chunk; its trailer
    // section's empty line comes after.)
    connection bytewise(1024 * 1024);
    int complete = 0;
    for (char c : bytes) {
      auto got = feed(bytewise, std::string(1, c));
      REQUIRE(got.what != state::unreadable);
      complete += got.what == state::complete;
    }
    CHECK(complete == 1);
  }
}

TEST_CASE("a request over the parser's limit is 413") {
  connection p(4096);
  REQUIRE(feed(p, "POST /bookings HTTP/1.1\r\nContent-Length: 9000\r\n\r\n")
            .what
          == state::partial);
  auto got = feed(p, std::string(5000, 'x'));
  REQUIRE(got.what == state::unreadable);
  CHECK(got.status == 413);
  CHECK(std::string{got.code} == "payload_too_large");
}

TEST_CASE("a body declared over 128 KiB is 413 before it comes") {
  // Pistache reserves a declared size before it reads the body: a header
  // alone could make it take that much memory.
  const std::string over = std::to_string(max_request_bytes + 1);
  const std::string chunked = "POST /bookings HTTP/1.1\r\nTransfer-Encoding: "
                              "chunked\r\n\r\n";
  for (auto reads :
       {std::vector<std::string>{"POST /bookings HTTP/1.1\r\nContent-Length: "
                                 + over + "\r\n\r\n"},
        std::vector<std::string>{"POST /b HTTP/1.1\r\nContent-Length: "
                                 "1000000000000000\r\n\r\n{"},
        std::vector<std::string>{chunked + "ffffffffff\r\nab"},
        std::vector<std::string>{chunked + "20001\r\n"},
        std::vector<std::string>{chunked + "2\r\nab\r\n7fffffffffffffffffff\r\n"},
        std::vector<std::string>{chunked + "2\r\na", "b\r\n30000\r\n"},
        std::vector<std::string>{chunked + "2\r\nab", "\r\n30000\r\nxyz"}}) {
    INFO(reads.back());
    connection p(max_request_bytes);
    for (std::size_t i = 0; i + 1 < reads.size(); ++i)
      REQUIRE(feed(p, reads[i]).what == state::partial);
    auto got = feed(p, reads.back());
    REQUIRE(got.what == state::unreadable);
    CHECK(got.status == 413);
    CHECK(std::string{got.code} == "payload_too_large");
    CHECK(p.parser.request.body().capacity() < 4096);
  }
}

TEST_CASE("a body declared within 128 KiB is waited for") {
  connection p(max_request_bytes);
  std::string head = "POST /bookings HTTP/1.1\r\nTransfer-Encoding: "
                     "chunked\r\n\r\n2\r\nab\r\n10000\r\n";
  REQUIRE(feed(p, head).what == state::partial);
  REQUIRE(feed(p, std::string(0x10000 - 1, 'x')).what == state::partial);
  REQUIRE(feed(p, "x\r\n0\r\n").what == state::complete);
  CHECK(p.parser.request.body().size() == 0x10002);
  connection q(max_request_bytes);
  REQUIRE(feed(q, "POST /bookings HTTP/1.1\r\nContent-Length: "
                      + std::to_string(max_request_bytes - 100) + "\r\n\r\n")
            .what
          == state::partial);
}

TEST_CASE("a Content-Type that is no media type is 415") {
  for (const char* type : {"application/jsonx", "foo", "", "text/html; x"}) {
    INFO(type);
    connection p(1024 * 1024);
    auto got = feed(p, std::string{"POST /bookings HTTP/1.1\r\nContent-Type: "}
                         + type + "\r\nContent-Length: 2\r\n\r\n{}");
    REQUIRE(got.what == state::unreadable);
    CHECK(got.status == 415);
    CHECK(std::string{got.code} == "unsupported_media_type");
  }
}

TEST_CASE("after a reset the parser reads the next request") {
  connection p(1024 * 1024);
  REQUIRE(feed(p, post("{}")).what == state::complete);
  p.parser.reset();
  auto got = feed(p, get_healthz);
  REQUIRE(got.what == state::complete);
  CHECK(p.parser.request.resource() == "/healthz");
  CHECK(p.parser.request.body().empty());
}

TEST_CASE("a client waits for 100 Continue once the header is read, if it "
          "asked") {
  auto head = [](const char* version, const char* expect) {
    return std::string{"POST /bookings "} + version + "\r\nContent-Length: "
           "2\r\n" + expect + "\r\n";
  };
  SECTION("HTTP/1.1 with Expect: 100-continue, the body still to come") {
    for (const char* expect : {"Expect: 100-continue\r\n",
                               "expect: 100-Continue\r\n"}) {
      connection p(1024 * 1024);
      REQUIRE(feed(p, head("HTTP/1.1", expect)).what == state::partial);
      CHECK(awaits_continue(p.parser));
      REQUIRE(feed(p, "{").what == state::partial);
      CHECK(awaits_continue(p.parser));  // the caller sends it once
      REQUIRE(feed(p, "}").what == state::complete);
    }
  }
  SECTION("not before the header is whole") {
    connection p(1024 * 1024);
    auto bytes = head("HTTP/1.1", "Expect: 100-continue\r\n");
    bytes.pop_back();
    REQUIRE(feed(p, bytes).what == state::partial);
    CHECK_FALSE(awaits_continue(p.parser));
  }
  SECTION("not for HTTP/1.0, another expectation, or none") {
    for (auto bytes : {head("HTTP/1.0", "Expect: 100-continue\r\n"),
                       head("HTTP/1.1", "Expect: 100-continued\r\n"),
                       head("HTTP/1.1", "")}) {
      connection p(1024 * 1024);
      REQUIRE(feed(p, bytes).what == state::partial);
      CHECK_FALSE(awaits_continue(p.parser));
    }
  }
}

TEST_CASE("a chunked body is read whichever reads it comes in") {
  // Pistache's chunk parser alone loops forever when a read ends between
  // the CR and the LF after a chunk's data.
  const std::string head = "POST /bookings HTTP/1.1\r\nTransfer-Encoding: "
                           "chunked\r\n\r\n";
  const std::string body = "3\r\nabc\r\n4\r\nd\r\nf\r\n0\r\n\r\n";
  const std::string bytes = head + body;
  // The request is whole at the last chunk's "0\r\n": the CRLF that ends
  // the body comes after it, as an empty line.
  const std::size_t whole_at = bytes.size() - 2;
  SECTION("in two reads, split anywhere") {
    for (std::size_t cut = 1; cut < whole_at; ++cut) {
      INFO("cut at " << cut);
      connection p(1024 * 1024);
      auto first = p.read(bytes.data(), cut);
      REQUIRE(first.what == state::partial);
      auto got = p.read(bytes.data() + cut, whole_at - cut);
      REQUIRE(got.what == state::complete);
      CHECK_FALSE(got.more_follows);
      CHECK(p.parser.request.body() == "abcd\r\nf");
    }
  }
  SECTION("a byte at a time") {
    connection p(1024 * 1024);
    for (std::size_t i = 0; i + 1 < whole_at; ++i)
      REQUIRE(p.read(&bytes[i], 1).what == state::partial);
    REQUIRE(p.read(&bytes[whole_at - 1], 1).what == state::complete);
    CHECK(p.parser.request.body() == "abcd\r\nf");
  }
  SECTION("a chunk followed by another byte than its CR is refused") {
    for (auto reads : {std::vector<std::string>{head + "3\r\nabcX"},
                       std::vector<std::string>{head + "3\r\nab", "cX"},
                       std::vector<std::string>{head + "3\r\nabcX\r"},
                       std::vector<std::string>{head + "3\r\nabc", "X\r"}}) {
      INFO(reads.back());
      auto got = last_of(reads);
      REQUIRE(got.what == state::unreadable);
      CHECK(got.status == 400);
    }
  }
  SECTION("a blank or negative chunk size line is refused") {
    // Pistache reads a size line with strtol in place, which skips white
    // space, CR and LF among it: a blank line would make it read the next
    // line's size, or past the end of the buffer.
    for (auto reads : {std::vector<std::string>{head + "\r\n5\r\nabcde\r\n0\r\n"},
                       std::vector<std::string>{head + "3\r\nabc\r\n \t\r\n"},
                       std::vector<std::string>{head + "3\r\nabc\r\n\r", "\n"},
                       std::vector<std::string>{head + "-5\r\nabcde\r\n"}}) {
      INFO(reads.back());
      auto got = last_of(reads);
      REQUIRE(got.what == state::unreadable);
      CHECK(got.status == 400);
    }
  }
  SECTION("a Content-Length body that ends with CR is not held back") {
    connection p(1024 * 1024);
    auto got = feed(p, "POST /b HTTP/1.1\r\nContent-Length: 4\r\n\r\nabc\r");
    REQUIRE(got.what == state::complete);
    CHECK(p.parser.request.body() == "abc\r");
  }
}

TEST_CASE("a chunked request's trailer section is read past") {
  const std::string bytes = "POST /bookings HTTP/1.1\r\nTransfer-Encoding: "
                            "chunked\r\n\r\n2\r\n{}\r\n0\r\nX-Sum: 1\r\n"
                            "X-Other: 2\r\n\r\n";
  // Pistache is done at the last chunk's line; the trailer fields come
  // after it.
  const std::size_t whole_at = bytes.find("X-Sum");
  SECTION("with the request, and another request after it") {
    connection p(1024 * 1024);
    auto got = feed(p, bytes);
    REQUIRE(got.what == state::complete);
    CHECK_FALSE(got.more_follows);
    CHECK(p.parser.request.body() == "{}");
    p.parser.reset();
    got = feed(p, get_healthz);
    REQUIRE(got.what == state::complete);
    CHECK(p.parser.request.resource() == "/healthz");

    connection q(1024 * 1024);
    got = feed(q, bytes + get_healthz);
    REQUIRE(got.what == state::complete);
    CHECK(got.more_follows);
  }
  SECTION("in reads split anywhere after the last chunk") {
    for (std::size_t cut = whole_at; cut <= bytes.size(); ++cut) {
      INFO("cut at " << cut);
      connection p(1024 * 1024);
      auto got = p.read(bytes.data(), cut);
      REQUIRE(got.what == state::complete);
      CHECK_FALSE(got.more_follows);
      p.parser.reset();
      for (std::size_t i = cut; i < bytes.size(); ++i)
        REQUIRE(p.read(&bytes[i], 1).what == state::partial);
      got = feed(p, get_healthz);
      REQUIRE(got.what == state::complete);
      CHECK(p.parser.request.resource() == "/healthz");
    }
  }
  SECTION("a bare LF ends a line, and the section") {
    connection p(1024 * 1024);
    auto got = feed(p, bytes.substr(0, whole_at) + "X-Sum: 1\n\n");
    REQUIRE(got.what == state::complete);
    CHECK_FALSE(got.more_follows);
    p.parser.reset();
    REQUIRE(feed(p, get_healthz).what == state::complete);
  }
  SECTION("a section over 128 KiB is 413") {
    connection p(max_request_bytes);
    REQUIRE(feed(p, bytes.substr(0, whole_at)).what == state::complete);
    p.parser.reset();
    std::string field = "X-Pad: " + std::string(1000, 'a') + "\r\n";
    request_input got;
    for (int i = 0; i < 140 && got.what != state::unreadable; ++i)
      got = feed(p, field);
    REQUIRE(got.what == state::unreadable);
    CHECK(got.status == 413);
  }
}
