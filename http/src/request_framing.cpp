// RFC 9112's syntax for a request's head (request_framing.hpp).
#include "request_framing.hpp"

#include <algorithm>
#include <cstddef>

namespace bellhop::http {

namespace {

constexpr bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

constexpr bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/// Which bytes are RFC 9110 §5.6.2's tchar, and which may be in a field
/// value (visible characters, SP, HT, obs-text): one table, looked up for
/// every byte of every request's head.
struct byte_classes {
  bool tchar[256] = {};
  bool value[256] = {};
  constexpr byte_classes() {
    for (int c = 0; c < 256; ++c) {
      auto ch = static_cast<char>(c);
      tchar[c] = is_alpha(ch) || is_digit(ch);
      value[c] = c == '\t' || (c >= 0x20 && c != 0x7f);
    }
    for (char c : std::string_view("!#$%&'*+-.^_`|~"))
      tchar[static_cast<unsigned char>(c)] = true;
  }
};

constexpr byte_classes classes;

bool is_tchar(char c) {
  return classes.tchar[static_cast<unsigned char>(c)];
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

bool is_field_value(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return classes.value[static_cast<unsigned char>(c)];
  });
}

bool equals_lower(std::string_view s, std::string_view lower) {
  return s.size() == lower.size()
         && std::equal(s.begin(), s.end(), lower.begin(), [](char a, char b) {
              return (is_alpha(a) ? static_cast<char>(a | 0x20) : a) == b;
            });
}

/// The next line of `bytes` from `at`, without its CRLF: `fine` and the
/// line once it is whole; a line that ends in a bare LF is `malformed`.
head_check next_line(std::string_view bytes, std::size_t& at,
                     std::string_view& line) {
  auto lf = bytes.find('\n', at);
  if (lf == std::string_view::npos)
    return head_check::incomplete;
  if (lf == at || bytes[lf - 1] != '\r')
    return head_check::malformed;
  line = bytes.substr(at, lf - 1 - at);
  at = lf + 1;
  return head_check::fine;
}

} // namespace

head_check check_request_line(std::string_view bytes) {
  std::size_t at = 0;
  std::string_view line;
  if (auto got = next_line(bytes, at, line); got != head_check::fine)
    return got;
  auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || !is_token(line.substr(0, sp1)))
    return head_check::malformed;
  auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1)
    return head_check::malformed;
  auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (!std::all_of(target.begin(), target.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f;
      }))
    return head_check::malformed;
  auto version = line.substr(sp2 + 1);
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/"
      || !is_digit(version[5]) || version[6] != '.' || !is_digit(version[7]))
    return head_check::malformed;
  return head_check::fine;
}

head_check check_header_section(std::string_view bytes) {
  std::size_t at = 0;
  std::string_view length;  // the Content-Length value seen, if any
  int encodings = 0;
  for (;;) {
    std::string_view line;
    if (auto got = next_line(bytes, at, line); got != head_check::fine)
      return got;
    if (line.empty())
      return head_check::fine;  // the end of the section
    // A line that starts with white space (obs-fold, RFC 9112 §5.2) has
    // no token before its colon, nor does one with white space before it.
    auto colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon)))
      return head_check::malformed;
    auto name = line.substr(0, colon);
    auto value = line.substr(colon + 1);
    if (!is_field_value(value))
      return head_check::malformed;
    if (equals_lower(name, "content-length")) {
      // One number, or a list of one number (RFC 9110 §8.6: what a
      // proxy makes of repeated fields), in as many fields as may be.
      for (;;) {
        auto comma = value.find(',');
        auto one = trim_blanks(value.substr(0, comma));
        if (one.empty() || !std::all_of(one.begin(), one.end(), is_digit)
            || (!length.empty() && one != length))
          return head_check::malformed;
        length = one;
        if (comma == std::string_view::npos)
          break;
        value.remove_prefix(comma + 1);
      }
    } else if (equals_lower(name, "transfer-encoding") && ++encodings > 1) {
      return head_check::malformed;
    }
  }
}

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

bool is_chunk_size(std::string_view line) {
  return !line.empty() && std::all_of(line.begin(), line.end(), [](char c) {
           return hex_digit(c) >= 0;
         });
}

} // namespace bellhop::http
