// Writing responses: JSON bodies, the contract's error shape, and HTTP/1.1
// persistent connections (Pistache closes a connection unless the request
// asked for keep-alive; HTTP/1.1 says the opposite).
#pragma once

#include <string>
#include <string_view>

#include <pistache/http.h>

namespace bellhop::http {

using Pistache::Http::Request;
using Pistache::Http::ResponseWriter;

/// Keeps the connection open after the response unless the client asked to
/// close it (or speaks HTTP/1.0 without asking for keep-alive).
void keep_alive(const Request& req, ResponseWriter& w);

void send_json(ResponseWriter& w, int status, std::string_view body);

/// {"error":{"code":..,"message":..,"field":..}}; `field` only when given.
std::string error_body(std::string_view code, std::string_view message,
                       std::string_view field = {});

void send_error(ResponseWriter& w, int status, std::string_view code,
                std::string_view message, std::string_view field = {});

/// 429 or 503 with Retry-After.
void send_retry_later(ResponseWriter& w, int status, std::string_view code,
                      std::string_view message, int retry_after_seconds);

void add_header(ResponseWriter& w, const std::string& name,
                const std::string& value);

} // namespace bellhop::http
