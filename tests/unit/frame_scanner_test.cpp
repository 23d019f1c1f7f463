// The frame scanner of ws/src/frame_scanner.hpp: it must find every frame
// of a client's stream after the upgrade request, however the bytes are
// split across reads, with each length form of RFC 6455.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "frame_scanner.hpp"

using bellhop::ws::frame_scanner;

namespace {

const std::string request =
  "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
  "Connection: Upgrade\r\n\r\n";

/// A client frame: masked unless told otherwise, the payload's length in
/// the shortest form unless `len_form` (126 or 127) names a longer one.
std::string frame(uint8_t opcode, std::size_t size, bool fin = true,
                  bool masked = true, int len_form = 0) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | opcode);
  char mask_bit = masked ? static_cast<char>(0x80) : 0;
  if (len_form == 0 && size < 126) {
    f += static_cast<char>(mask_bit | static_cast<char>(size));
  } else if (len_form != 127 && size < 65536) {
    f += static_cast<char>(mask_bit | 126);
    f += static_cast<char>(size >> 8);
    f += static_cast<char>(size & 0xff);
  } else {
    f += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8)
      f += static_cast<char>((static_cast<uint64_t>(size) >> shift) & 0xff);
  }
  if (masked)
    f += std::string("\x01\x02\x03\x04", 4);
  // Payload bytes that look like headers and blank lines.
  for (std::size_t i = 0; i < size; ++i)
    f += "\r\n\x80\x00"[i % 4];
  return f;
}

std::vector<int> opcodes_of(frame_scanner& s, const std::string& bytes,
                            std::size_t piece) {
  std::vector<int> seen;
  for (std::size_t at = 0; at < bytes.size(); at += piece)
    s.scan(bytes.data() + at, std::min(piece, bytes.size() - at),
           [&](uint8_t op) { seen.push_back(op); });
  return seen;
}

} // namespace

TEST_CASE("frame scanner: every frame after the request, however split",
          "[ws][frames]") {
  std::string stream = request + frame(1, 0, false) + frame(0, 0, false)
                       + frame(0, 5, false) + frame(0, 125) + frame(9, 4)
                       + frame(1, 126) + frame(2, 300) + frame(0xA, 0)
                       + frame(1, 70000) + frame(1, 3, true, true, 127)
                       + frame(8, 2, true, false);
  const std::vector<int> expected{1, 0, 0, 0, 9, 1, 2, 10, 1, 1, 8};
  for (std::size_t piece : {std::size_t{1}, std::size_t{2}, std::size_t{3},
                            std::size_t{7}, std::size_t{13}, std::size_t{4096},
                            stream.size()}) {
    frame_scanner s;
    INFO("read " << piece << " bytes at a time");
    CHECK(opcodes_of(s, stream, piece) == expected);
  }
}

TEST_CASE("frame scanner: nothing before the request's blank line is a frame",
          "[ws][frames]") {
  frame_scanner s;
  // Header bytes that look like frames, and a lone CR LF, then the end.
  std::string head = "GET /ws HTTP/1.1\r\nX: \x80\x80\r\r\n\n\r\nHost: x\r\n";
  CHECK(opcodes_of(s, head, 1).empty());
  CHECK(opcodes_of(s, "\r\n", 1).empty());
  CHECK(opcodes_of(s, frame(0, 0), 1) == std::vector<int>{0});
}

TEST_CASE("frame scanner: a stream of empty continuation frames is counted "
          "frame by frame", "[ws][frames]") {
  frame_scanner s;
  std::string stream = request + frame(1, 0, false);
  for (int i = 0; i < 1000; ++i)
    stream += frame(0, 0, false);
  auto seen = opcodes_of(s, stream, 65536);
  REQUIRE(seen.size() == 1001);
  CHECK(std::count(seen.begin(), seen.end(), 0) == 1000);
}
