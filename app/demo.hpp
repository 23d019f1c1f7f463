// `bellhop serve --demo` (§9): a generated secret unless one is given, demo
// hosts with long-lived login links printed at start, and the /demo booking
// page (served by http/src/static_files.cpp with the hosts named here).
#pragma once

#include <cstdint>

#include "bellhop/http/rest_server.hpp"

namespace bellhop::app {

/// Puts `rc` in demo mode: /demo on, the demo hosts, and a random HS256
/// secret when none was given (flag, config file or $BELLHOP_JWT_SECRET).
/// Throws usage_error with --jwt-public-key, --jwt-issuer or
/// --jwt-audience: demo tokens are HS256 tokens without iss or aud.
void enable_demo(http::rest_config& rc);

/// After the listening line: one JSON line per demo host and one for the
/// /demo page on stdout, and the same for people on stderr.
void print_demo_links(const http::rest_config& rc, uint16_t http_port);

} // namespace bellhop::app
