// What every fuzz target shares: FUZZ_CHECK, an invariant that aborts (so
// libFuzzer saves the input as a crash) when a parser accepts something its
// own contract says it must refuse, and text helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>

#define FUZZ_CHECK(cond)                                                     \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__,       \
                   __LINE__, #cond);                                         \
      std::abort();                                                          \
    }                                                                        \
  } while (false)

namespace bellhop::fuzz {

inline std::string_view as_text(const uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Splits `s` at the first '\n': the part before it and the rest (empty
/// when there is none). Targets with two inputs use it.
inline std::pair<std::string_view, std::string_view>
split_line(std::string_view s) {
  auto nl = s.find('\n');
  if (nl == std::string_view::npos)
    return {s, {}};
  return {s.substr(0, nl), s.substr(nl + 1)};
}

/// Unicode code points of valid UTF-8, as the validators count them.
inline std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}

} // namespace bellhop::fuzz
