// Fuzzes reading a connection's bytes into requests (http/src/
// request_input.cpp): read_request driving Pistache's own parser, as the
// REST reactor does, over reads cut at fuzzer-chosen places.
//
// The input's first byte seeds the cuts: the rest is fed in pieces of 1 to
// 64 bytes (or, for a seed over 239, in one read), so a request ends a read
// at every kind of place — inside a size line, between a chunk's CR and LF,
// inside a trailer section. After a complete request the parser is reset,
// as the handler does once it has taken the request; a complete request
// with another behind it in the same read, or an unreadable one, ends the
// connection there, as the handler does. Each input runs against two
// parsers: the server's limit (max_request_bytes) and one of 256 bytes, so
// that the buffer's own limit is reached too.
//
// A request that makes Pistache's parser spin (as a CR split from its LF
// did) is a timeout; a declared size that makes it reserve more than 2 GB
// is a crash (libFuzzer's malloc limit), and the capacity check below
// catches smaller ones.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "fuzz_check.hpp"
#include "request_input.hpp"

namespace {

using namespace bellhop::http;
using state = request_input::state;

void check_unreadable(const request_input& got) {
  std::string_view code = got.code;
  switch (got.status) {
  case 400:
    FUZZ_CHECK(code == "invalid_request");
    break;
  case 413:
    FUZZ_CHECK(code == "payload_too_large");
    break;
  case 415:
    FUZZ_CHECK(code == "unsupported_media_type");
    break;
  default:
    FUZZ_CHECK(!"an unreadable request's status is 400, 413 or 415");
  }
  FUZZ_CHECK(std::strlen(got.message) > 0);
}

/// Feeds `bytes` to a new connection's parser in the pieces `seed` gives.
void read_connection(std::size_t limit, uint8_t seed, std::string_view bytes) {
  Pistache::Http::RequestParser parser(limit);
  reader_state reader;
  uint32_t rng = seed * 2654435761u + 1;
  std::size_t at = 0;
  while (at < bytes.size()) {
    std::size_t piece = bytes.size() - at;
    if (seed < 240) {
      rng = rng * 1103515245u + 12345u;
      piece = std::min<std::size_t>(piece, 1 + (rng >> 16) % 64);
    }
    auto got = read_request(parser, bytes.data() + at, piece, reader);
    at += piece;
    // Nothing a client declares makes the parser take much more than a
    // request may be (the buffer grows by doubling).
    FUZZ_CHECK(parser.request.body().capacity() <= 4 * max_request_bytes);
    if (got.what == state::partial) {
      // A trailer section is bounded as a request is.
      FUZZ_CHECK(reader.trailers == reader_state::trailer::none
                 || reader.trailer_bytes <= max_request_bytes);
      continue;
    }
    if (got.what == state::unreadable) {
      check_unreadable(got);
      return;  // the connection ends
    }
    FUZZ_CHECK(parser.request.body().size() <= max_request_bytes);
    if (got.more_follows)
      return;  // answered with Connection: close
    parser.reset();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  read_connection(max_request_bytes, data[0], bytes);
  read_connection(256, data[0], bytes);
  return 0;
}
