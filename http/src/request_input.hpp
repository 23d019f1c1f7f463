// Reading a connection's bytes into requests. Pistache 0.0.5's own entry
// point (Http::Handler::onInput, private) answers what it cannot parse
// with a plain-text status, an exception's text as the body of a 500, and
// drops whatever follows a request in the same read — a pipelined request
// then gets no answer and its client waits. bellhop's handler reads the
// bytes itself through Pistache's parser (this file) and decides:
// - a request is handled, and the bytes of another one after it in the
//   same read mean the connection closes after this answer (as for a
//   request pipelined in a read of its own, wire.hpp's answer_slot);
// - what cannot be read is answered in the contract's error shape, and
//   the connection closes (what follows cannot be trusted to start a
//   request);
// - a body declared larger than any request may be is refused before
//   Pistache's body step reserves memory for it;
// - a client that waits for `100 Continue` before it sends a body is told
//   to go on once the header is read (awaits_continue).
// On the connection's reactor thread only, like the parser it drives.
#pragma once

#include <cstddef>

#include <pistache/http.h>

namespace bellhop::http {

/// The most a request may be, request line, header and body together.
/// Bodies over 64 KiB are refused (§4) and a header of that size is far
/// beyond any client's; the parser holds a connection's request in memory
/// until it is whole, so this bounds what a connection can make the server
/// hold — about twice this, as the buffer grows by doubling.
constexpr std::size_t max_request_bytes = 128 * 1024;

/// What one read of a connection gave.
struct request_input {
  enum class state {
    partial,     ///< no whole request yet: wait for more bytes
    complete,    ///< the parser holds a whole request
    unreadable,  ///< not HTTP as bellhop reads it: answer `status`, close
  };
  state what = state::partial;
  /// complete: bytes of a further request follow it in this read. Empty
  /// lines (CR, LF) do not count: RFC 9112 §2.2 lets a client send them
  /// between requests. Nor does a chunked request's trailer section
  /// (reader_state).
  bool more_follows = false;
  /// unreadable: the answer's status and the contract's code for it —
  /// 413 for a request over max_request_bytes or a header that declares a
  /// body over it (Content-Length, a chunk's size; refused before the body
  /// comes), 415 for a Content-Type that is no media type, else 400 — and
  /// its message, which echoes no input.
  int status = 0;
  const char* code = "";
  const char* message = "";
};

/// What read_request keeps of a connection between its reads; one per
/// connection, as it starts.
struct reader_state {
  /// Pistache 0.0.5's chunked-body parser loops forever (its reactor, and
  /// with it every connection it serves, stops) when a read ends between
  /// the CR and the LF after a chunk's data — it counts the CR as data,
  /// then moves back by one as an unsigned count. So a read's last CR in a
  /// chunked body is held back and fed in front of the next read; nothing
  /// can complete on a CR there, so holding it delays nothing.
  bool held_cr = false;
  /// Where the connection is in the trailer section of a chunked request
  /// that is complete: Pistache is done at the last chunk's `0` line, and
  /// what comes after it — trailer fields, then an empty line (RFC 9112
  /// §7.1.2) — is read past here (bellhop uses no trailer), not taken for
  /// the next request.
  enum class trailer : unsigned char { none, line_start, in_field, after_cr };
  trailer trailers = trailer::none;
  /// The trailer section's bytes so far: bounded by max_request_bytes.
  std::size_t trailer_bytes = 0;
};

/// Feeds `len` bytes of a read to the connection's parser and parses.
/// Empty lines before a request's first byte are skipped. The parser is
/// left as it is: the caller resets it after a complete or unreadable
/// request.
request_input read_request(Pistache::Http::RequestParser& parser,
                           const char* data, std::size_t len,
                           reader_state& reader);

/// True when the parser has read a request's header, its body is still to
/// come, and the request is HTTP/1.1 with `Expect: 100-continue`: its
/// client waits for an interim `100 Continue` before it sends the body
/// (RFC 9110 §10.1.1; curl waits 1 s, then sends it anyway).
bool awaits_continue(Pistache::Http::RequestParser& parser);

} // namespace bellhop::http
