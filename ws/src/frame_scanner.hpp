// Finds the frames in what a WebSocket client sends, without parsing them:
// the link counts continuation frames with it (tcp_link.hpp). websocketpp
// reports a message only once its last frame has come, and an empty
// continuation frame adds nothing to its size limit, so a client could
// otherwise stream empty frames of a message it never ends, unlimited.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace bellhop::ws {

/// Follows one client's byte stream: the HTTP upgrade request up to its
/// blank line (websocketpp reads no body after an upgrade), then each
/// RFC 6455 frame header, skipping the payload. 12 bytes of state.
class frame_scanner {
public:
  /// Calls `on_frame(opcode)` once each frame's header is complete.
  template <class OnFrame>
  void scan(const char* data, std::size_t size, OnFrame&& on_frame) {
    const auto* p = reinterpret_cast<const uint8_t*>(data);
    const auto* end = p + size;
    while (p < end) {
      if (phase_ == phase::payload) {
        auto n = std::min<uint64_t>(left_, static_cast<uint64_t>(end - p));
        p += n;
        left_ -= n;
        if (left_ == 0)
          start_header();
        continue;
      }
      uint8_t c = *p++;
      if (phase_ == phase::request) {
        // `have_` is how much of "\r\n\r\n" the last bytes are.
        static constexpr char blank[] = "\r\n\r\n";
        if (c == static_cast<uint8_t>(blank[have_]))
          ++have_;
        else
          have_ = c == '\r' ? 1 : 0;
        if (have_ == 4)
          start_header();
        continue;
      }
      header_byte(c);
      if (have_ == need_) {
        on_frame(opcode_);
        if (left_ > 0)
          phase_ = phase::payload;
        else
          start_header();
      }
    }
  }

private:
  enum class phase : uint8_t { request, header, payload };

  void start_header() {
    phase_ = phase::header;
    have_ = 0;
    need_ = 2;
    left_ = 0;
  }

  /// Byte 0: FIN and opcode; byte 1: mask bit and a 7-bit length, 126 and
  /// 127 meaning 2 or 8 more bytes of length; then the 4-byte mask.
  void header_byte(uint8_t c) {
    ++have_;
    if (have_ == 1) {
      opcode_ = c & 0x0f;
    } else if (have_ == 2) {
      uint8_t len = c & 0x7f;
      uint8_t extra = len == 126 ? 2 : len == 127 ? 8 : 0;
      need_ = static_cast<uint8_t>(2 + extra + ((c & 0x80) ? 4 : 0));
      left_ = extra == 0 ? len : 0;
      length_end_ = static_cast<uint8_t>(2 + extra);
    } else if (have_ <= length_end_) {
      left_ = left_ << 8 | c;
    }
  }

  uint64_t left_ = 0;  ///< payload bytes still to skip
  phase phase_ = phase::request;
  uint8_t have_ = 0;  ///< bytes of the blank line, or of the header, seen
  uint8_t need_ = 2;  ///< the header's length, once byte 1 has come
  uint8_t length_end_ = 2;  ///< where the header's extended length ends
  uint8_t opcode_ = 0;
};

} // namespace bellhop::ws
