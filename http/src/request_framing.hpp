// RFC 9112's syntax for a request's head, checked on the raw bytes before
// Pistache 0.0.5's parser reads them (request_input.cpp). That parser is
// lenient where leniency lets two readers of one byte stream disagree on
// where a request ends: it keeps the first of two differing
// Content-Length fields, looks for a field's colon across line ends (a
// line without one swallows the next), drops a field with white space
// before its colon, and waits for ever on bare-LF line ends. A proxy in
// front of bellhop that read such a request otherwise could send a body
// that bellhop runs as a request of its own. So each line of the head is
// held to the grammar here, and what breaks it is refused with 400.
// Pure functions: any thread.
#pragma once

#include <string_view>

namespace bellhop::http {

enum class head_check {
  incomplete,  ///< the part is not whole yet: wait for more bytes
  fine,        ///< whole and well formed: the parser may read it
  malformed,   ///< breaks RFC 9112's grammar: 400, and close
};

/// The request line at the start of `bytes`:
/// `method SP request-target SP HTTP/d.d CRLF`, the method a token, the
/// target visible characters.
head_check check_request_line(std::string_view bytes);

/// The field lines at the start of `bytes`, up to the empty line that ends
/// them: each `token ":" value CRLF`, with no white space before the
/// colon, no line folding and no control character but HT in a value; at
/// most one Content-Length value, of digits only (repeated, in fields or
/// in a list, it must be the same), and one Transfer-Encoding field.
head_check check_header_section(std::string_view bytes);

/// `s` without the spaces and tabs around it (a field value's OWS).
std::string_view trim_blanks(std::string_view s);

/// The value of a hexadecimal digit, or -1 for any other byte.
int hex_digit(char c);

/// A chunk size line, without its CRLF: hexadecimal digits only (no sign,
/// no `0x`, no white space; chunk extensions are not read).
bool is_chunk_size(std::string_view line);

} // namespace bellhop::http
