// Reading a connection's bytes into requests (see request_input.hpp).
#include "request_input.hpp"

#include <algorithm>
#include <cctype>
#include <exception>
#include <string_view>

namespace bellhop::http {

namespace {

using Pistache::StreamCursor;
using Pistache::Http::Private::ParserBase;

// Where a whole request ends is known only to the parser's cursor, which
// Pistache 0.0.5 keeps private. The names in an explicit instantiation are
// exempt from access checks ([temp.explicit]), so instantiating `expose`
// with the member's pointer defines member_of(parser_cursor), which hands
// that pointer out. It names the member, so a Pistache without it fails
// to build rather than misread.
struct parser_cursor {
  using type = StreamCursor ParserBase::*;
  friend type member_of(parser_cursor);
};

template <typename Tag, typename Tag::type Member>
struct expose {
  friend typename Tag::type member_of(Tag) {
    return Member;
  }
};

template struct expose<parser_cursor, &ParserBase::cursor>;

bool is_eol(char c) {
  return c == '\r' || c == '\n';
}

request_input unreadable(int status, const char* code, const char* message) {
  request_input r;
  r.what = request_input::state::unreadable;
  r.status = status;
  r.code = code;
  r.message = message;
  return r;
}

} // namespace

request_input read_request(Pistache::Http::RequestParser& parser,
                           const char* data, std::size_t len) {
  using Pistache::Http::Private::State;
  StreamCursor& cursor = parser.*member_of(parser_cursor{});
  if (cursor.buf->begptr() == cursor.buf->endptr()) {
    // Nothing of a request read yet: skip the empty lines before it.
    while (len > 0 && is_eol(*data)) {
      ++data;
      --len;
    }
    if (len == 0)
      return {};
  }
  try {
    if (!parser.feed(data, len))
      return unreadable(413, "payload_too_large", "the request is over 128 KiB");
    if (parser.parse() != State::Done)
      return {};
  } catch (const Pistache::Http::HttpError& e) {
    // The parser's own refusals: a request line or header it cannot read
    // (an unknown method, a bad version, a media type), a transfer coding
    // other than chunked, a chunk size that is no number.
    if (e.code() == 413)
      return unreadable(413, "payload_too_large", "the request is over 128 KiB");
    if (e.code() == 415)  // a Content-Type its media type parser refuses
      return unreadable(415, "unsupported_media_type",
                        "the body must be application/json");
    return unreadable(400, "invalid_request",
                      "the request is not HTTP/1.1 as this server reads it");
  } catch (const std::exception&) {
    // A header value the parser could not convert (a Content-Length of
    // -1, say): the library's exception text says nothing to the client.
    return unreadable(400, "invalid_request",
                      "a header of the request cannot be read");
  }
  request_input r;
  r.what = request_input::state::complete;
  const char* rest = cursor.offset();
  r.more_follows = std::any_of(rest, rest + cursor.remaining(),
                               [](char c) { return !is_eol(c); });
  return r;
}

bool awaits_continue(Pistache::Http::RequestParser& parser) {
  using Pistache::Http::Private::BodyStep;
  const auto& req = parser.request;
  if (parser.step()->id() != BodyStep::Id
      || req.version() != Pistache::Http::Version::Http11)
    return false;
  auto expect = req.headers().tryGetRaw("Expect");
  if (!expect)
    return false;
  const auto& v = expect->value();
  constexpr std::string_view want = "100-continue";  // case-insensitive
  return v.size() == want.size()
         && std::equal(v.begin(), v.end(), want.begin(), [](char a, char b) {
              return std::tolower(static_cast<unsigned char>(a)) == b;
            });
}

} // namespace bellhop::http
