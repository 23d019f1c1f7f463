// Cross-origin requests (CORS) for front ends served from other origins
// than the REST port: a booking platform's pages polling the count, say.
// Off by default; `--cors-origins` names the origins a browser may let
// call the API (docs/decisions.md, "Cross-origin requests").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bellhop/http/rest_server.hpp"
#include "reply.hpp"

namespace bellhop::http {

// parse_cors_origins is declared in bellhop/http/rest_server.hpp: the
// command line reads the option with it.

/// Adds the CORS headers for the request's Origin to the current exchange
/// and answers a preflight (OPTIONS with Access-Control-Request-Method)
/// itself: 204 for an allowed origin, 403 otherwise. Returns true when it
/// answered. `allowed` is parse_cors_origins's result; empty: CORS off,
/// nothing is added and nothing answered.
bool apply_cors(const std::vector<std::string>& allowed, const Request& req,
                ResponseWriter& w);

/// The part of apply_cors that adds headers, to the current exchange: for
/// answers made without a ResponseWriter (a request that could not be
/// read whole, whose headers are those read before it failed). Returns
/// whether the Origin is allowed.
bool add_cors_headers(const std::vector<std::string>& allowed,
                      const Request& req);

} // namespace bellhop::http
