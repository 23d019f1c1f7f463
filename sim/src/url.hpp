// The two URLs a run is given (`--http`, `--ws`): scheme, host, port and
// path, nothing more (no user info, no TLS).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace bellhop::sim {

struct url {
  std::string scheme;  ///< "http" or "ws"
  std::string host;
  uint16_t port = 0;
  std::string path;    ///< without query; "" when the URL has none

  std::string authority() const {
    return host + ":" + std::to_string(port);
  }
};

/// Parses `scheme://host[:port][/path]`; nullopt on anything else.
/// `expected_scheme` is "http" or "ws"; the default port is 80.
std::optional<url> parse_url(const std::string& text,
                             const std::string& expected_scheme);

} // namespace bellhop::sim
