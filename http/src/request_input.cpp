// Reading a connection's bytes into requests (see request_input.hpp).
#include "request_input.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "request_framing.hpp"

namespace bellhop::http {

namespace {

using Pistache::StreamCursor;
using Pistache::Http::Private::BodyStep;
using Pistache::Http::Private::HeadersStep;
using Pistache::Http::Private::ParserBase;
using Pistache::Http::Private::RequestLineStep;
using Pistache::Http::Private::State;

// Pistache 0.0.5 keeps private what bellhop must read: where a whole
// request ends (the parser's cursor), which of its steps (request line,
// header, body) the parser is at, and where its chunk parser is in a
// chunk. The names in an explicit instantiation are exempt from access
// checks ([temp.explicit]), so instantiating `expose` with a member's
// pointer defines member_of(tag), which hands that pointer out. Each names
// its member: a Pistache without it fails to build rather than misreads.
template <typename Tag, auto Member>
struct expose {
  friend auto member_of(Tag) {
    return Member;
  }
};

struct parser_cursor {  // ParserBase::cursor
  friend auto member_of(parser_cursor);
};
struct parser_step_at {  // ParserBase::currentStep
  friend auto member_of(parser_step_at);
};
struct body_chunk {  // BodyStep::chunk
  friend auto member_of(body_chunk);
};
struct chunk_size {  // BodyStep::Chunk::size: -1 before its size line
  friend auto member_of(chunk_size);
};
struct chunk_taken {  // BodyStep::Chunk::alreadyAppendedChunkBytes
  friend auto member_of(chunk_taken);
};

template struct expose<parser_cursor, &ParserBase::cursor>;
template struct expose<parser_step_at, &ParserBase::currentStep>;
template struct expose<body_chunk, &BodyStep::chunk>;
template struct expose<chunk_size, &BodyStep::Chunk::size>;
template struct expose<chunk_taken, &BodyStep::Chunk::alreadyAppendedChunkBytes>;

/// The parser is in a chunked body and has taken more bytes of the chunk
/// than the chunk has: the next parse would move its cursor by a negative
/// count, read as unsigned, and spin for ever. Only a byte after a chunk's
/// data that is not its CR can bring this about (a CR is held back:
/// read_request), so the request is not HTTP.
bool chunk_overrun(Pistache::Http::RequestParser& parser) {
  auto& chunk = static_cast<BodyStep*>(parser.step())->*member_of(body_chunk{});
  auto size = chunk.*member_of(chunk_size{});
  return size >= 0 && chunk.*member_of(chunk_taken{}) > size;
}

bool is_eol(char c) {
  return c == '\r' || c == '\n';
}

/// The request's header says `Transfer-Encoding: chunked`.
bool is_chunked(const Pistache::Http::Request& request) {
  namespace H = Pistache::Http::Header;
  auto te = request.headers().tryGet<H::TransferEncoding>();
  return te && te->encoding() == H::Encoding::Chunked;
}

request_input unreadable(int status, const char* code, const char* message) {
  request_input r;
  r.what = request_input::state::unreadable;
  r.status = status;
  r.code = code;
  r.message = message;
  return r;
}

request_input bad_chunk() {
  return unreadable(400, "invalid_request",
                    "a chunk of the body does not end where its size says");
}

request_input too_large() {
  return unreadable(413, "payload_too_large", "the request is over 128 KiB");
}

/// What the chunk size lines not yet parsed, in the bytes the parser
/// holds, say.
enum class chunks_ahead {
  fine,
  too_large,  ///< one declares more than a whole request may be
  malformed,  ///< one that is not hexadecimal digits alone
};

/// Looks at the chunk size lines ahead before Pistache's Chunk::parse
/// reads them. It reads a size line with strtol, base 16, in place, and
/// then reserves the size. strtol skips leading white space, CR and LF
/// among it: on a blank size line it reads on into the next line, and past
/// the end of what the buffer holds when the line is its last (a heap
/// over-read); and it takes `+`, `-` and `0x`. So a size line of anything
/// but hexadecimal digits is refused here (chunk extensions too: Pistache
/// refuses them anyway), and a size over the limit too. The walk follows
/// the chunk framing from where the parser stands, as Pistache does; a
/// part not read yet ends it.
chunks_ahead look_at_chunks_ahead(Pistache::Http::RequestParser& parser,
                                  const StreamCursor& cursor) {
  const char* at = cursor.offset();
  const char* end = at + cursor.remaining();
  auto& chunk = static_cast<BodyStep*>(parser.step())->*member_of(body_chunk{});
  if (auto size = chunk.*member_of(chunk_size{}); size >= 0) {
    // In a chunk's data: the rest of it and its CRLF come first.
    auto rest = size - chunk.*member_of(chunk_taken{}) + 2;
    if (end - at < rest)
      return chunks_ahead::fine;
    at += rest;
  }
  while (at < end) {
    const char* eol = at;
    while (eol + 1 < end && !(eol[0] == '\r' && eol[1] == '\n'))
      ++eol;
    if (eol + 1 >= end)
      return chunks_ahead::fine;  // its line is not whole yet
    // Hexadecimal digits only (request_framing.hpp): strtol would take a
    // sign, a 0x or white space too.
    auto size_line = std::string_view(at, static_cast<std::size_t>(eol - at));
    if (!is_chunk_size(size_line))
      return chunks_ahead::malformed;
    unsigned long long size = 0;
    if (std::from_chars(at, eol, size, 16).ec != std::errc{}
        || size > max_request_bytes)
      return chunks_ahead::too_large;  // (out of range: larger still)
    if (size == 0)
      return chunks_ahead::fine;  // the last chunk
    auto whole = static_cast<std::ptrdiff_t>(size) + 2;  // data and CRLF
    if (end - (eol + 2) < whole)
      return chunks_ahead::fine;
    at = eol + 2 + whole;
  }
  return chunks_ahead::fine;
}

/// The header just read declares a body no request may have — a
/// Content-Length, or a chunk size, over max_request_bytes — or a chunk
/// size line ahead would be misread (look_at_chunks_ahead). Pistache's
/// body step reserves a declared size before it reads the body — a header
/// could make it take gigabytes of address space, and AddressSanitizer's
/// allocator aborts the process on such a size — so the size is judged
/// here, before that step runs, and refused as reading the body would be.
/// On the way it learns whether the body is chunked (`chunked`).
std::optional<request_input> refused_body(
    Pistache::Http::RequestParser& parser, const StreamCursor& cursor,
    bool& chunked) {
  namespace H = Pistache::Http::Header;
  chunked = false;
  if (auto length = parser.request.headers().tryGet<H::ContentLength>()) {
    auto declared = length->value();
    if (declared <= max_request_bytes)
      return std::nullopt;
    // Pistache reads "-1" as 2^64 − 1: that is no size at all.
    if (declared > static_cast<std::uint64_t>(INT64_MAX))
      return unreadable(400, "invalid_request",
                        "a header of the request cannot be read");
    return too_large();
  }
  chunked = is_chunked(parser.request);
  if (!chunked)
    return std::nullopt;
  switch (look_at_chunks_ahead(parser, cursor)) {
  case chunks_ahead::too_large:
    return too_large();
  case chunks_ahead::malformed:
    return unreadable(400, "invalid_request",
                      "a chunk size line of the body cannot be read");
  default:
    return std::nullopt;
  }
}

/// Reads past a complete chunked request's trailer section in
/// data[0, len): its fields are dropped, and the empty line ends it (a
/// bare LF counts as CRLF, as RFC 9112 §2.2 lets a recipient read it).
/// Returns how many bytes it used.
std::size_t skip_trailers(reader_state& reader, const char* data,
                          std::size_t len) {
  using trailer = reader_state::trailer;
  std::size_t used = 0;
  while (used < len && reader.trailers != trailer::none) {
    char c = data[used];
    if (reader.trailers == trailer::after_cr && c != '\n') {
      // A CR alone on its line: the section ended there, and this byte
      // is not its own.
      reader.trailers = trailer::none;
      break;
    }
    switch (reader.trailers) {
    case trailer::line_start:
      reader.trailers = c == '\r'   ? trailer::after_cr
                        : c == '\n' ? trailer::none
                                    : trailer::in_field;
      break;
    case trailer::in_field:
      if (c == '\n')
        reader.trailers = trailer::line_start;
      break;
    default:  // after_cr, and the LF that ends the section
      reader.trailers = trailer::none;
      break;
    }
    ++used;
  }
  reader.trailer_bytes += used;
  return used;
}

/// What parse_checked found.
struct parsed {
  State state = State::Again;
  /// Set (with state Again) when the body is not to be read.
  std::optional<request_input> refused;
  /// The parser stands in a chunked body, or has read one whole.
  bool chunked = false;
};

/// The request line or the header section ahead of the parser, checked
/// whole before Pistache reads it (request_framing.hpp); nullopt to go on.
std::optional<parsed> check_head(Pistache::Http::Private::StepId step,
                                 const StreamCursor& cursor) {
  std::string_view ahead(cursor.offset(), cursor.remaining());
  head_check check;
  if (step == RequestLineStep::Id)
    check = check_request_line(ahead);
  else if (step == HeadersStep::Id)
    check = check_header_section(ahead);
  else
    return std::nullopt;
  parsed out;
  if (check == head_check::incomplete)
    return out;  // Again: the parser reads it once it is whole
  if (check == head_check::malformed) {
    out.refused = unreadable(
      400, "invalid_request",
      "the request is not HTTP/1.1 as this server reads it");
    return out;
  }
  return std::nullopt;
}

/// ParserBase::parse, step by step, with check_head's look before the
/// request line and header steps and refused_body's before each run of the
/// body step.
parsed parse_checked(Pistache::Http::RequestParser& parser,
                     StreamCursor& cursor) {
  parsed out;
  auto& step_at = parser.*member_of(parser_step_at{});
  for (;;) {
    auto* step = parser.step();
    if (auto held = check_head(step->id(), cursor))
      return *held;
    if (step->id() == BodyStep::Id) {
      out.refused = refused_body(parser, cursor, out.chunked);
      if (out.refused)
        return out;
    }
    out.state = step->apply(cursor);
    if (out.state != State::Next)
      return out;
    ++step_at;
  }
}

} // namespace

request_input read_request(Pistache::Http::RequestParser& parser,
                           const char* data, std::size_t len,
                           reader_state& reader) {
  using trailer = reader_state::trailer;
  if (reader.trailers != trailer::none) {
    // The last request's trailer section goes on.
    auto used = skip_trailers(reader, data, len);
    if (reader.trailers != trailer::none)
      return reader.trailer_bytes > max_request_bytes ? too_large()
                                                      : request_input{};
    data += used;
    len -= used;
  }
  if (len == 0)
    return {};
  StreamCursor& cursor = parser.*member_of(parser_cursor{});
  bool& held_cr = reader.held_cr;
  std::string joined;
  if (held_cr) {
    joined.reserve(len + 1);
    joined += '\r';
    joined.append(data, len);
    data = joined.data();
    len = joined.size();
    held_cr = false;
  } else if (cursor.buf->begptr() == cursor.buf->endptr()) {
    // Nothing of a request read yet: skip the empty lines before it.
    while (len > 0 && is_eol(*data)) {
      ++data;
      --len;
    }
    if (len == 0)
      return {};
  }
  // A last CR is kept out until the parser shows where it falls.
  bool last_cr = data[len - 1] == '\r';
  parsed got;
  try {
    if (!parser.feed(data, len - last_cr))
      return too_large();
    got = parse_checked(parser, cursor);
    if (got.refused)
      return *got.refused;
    if (last_cr && got.state != State::Done) {
      if (got.chunked) {
        held_cr = true;  // fed in front of the next read
        return chunk_overrun(parser) ? bad_chunk() : request_input{};
      }
      if (!parser.feed("\r", 1))
        return too_large();
      got = parse_checked(parser, cursor);
      if (got.refused)
        return *got.refused;
    }
    // (After a whole request, the CR kept out is an empty line, or part
    // of a chunked request's trailer section: below.)
    if (got.state != State::Done)
      return got.chunked && chunk_overrun(parser) ? bad_chunk()
                                                  : request_input{};
  } catch (const Pistache::Http::HttpError& e) {
    // The parser's own refusals: a request line or header it cannot read
    // (an unknown method, a bad version, a media type), a transfer coding
    // other than chunked, a chunk size that is no number.
    if (e.code() == 413)
      return too_large();
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
  std::size_t rest_len = cursor.remaining();
  if (got.chunked) {
    reader.trailers = trailer::line_start;
    reader.trailer_bytes = 0;
    auto used = skip_trailers(reader, rest, rest_len);
    rest += used;
    rest_len -= used;
    if (reader.trailers != trailer::none) {
      // The section goes on in the next read; the CR kept out is its.
      if (last_cr)
        skip_trailers(reader, "\r", 1);
      return r;
    }
  }
  r.more_follows = std::any_of(rest, rest + rest_len,
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
