// Writing responses: JSON bodies, the contract's error shape, and HTTP/1.1
// persistent connections. bellhop writes each answer itself (wire.hpp says
// why): the status line, the headers the handler added, Content-Type,
// Connection and Content-Length, and the body.
#pragma once

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <pistache/http.h>

#include "bellhop/telemetry/metrics.hpp"
#include "wire.hpp"

namespace bellhop::http {

using Pistache::Http::Request;
using Pistache::Http::ResponseWriter;

/// The request being answered on this thread, for the request's metrics,
/// its log line and its answer. The dispatcher sets it on the reactor
/// thread; `ask` carries a copy to the CAF thread that answers. Every send
/// helper below answers and closes it.
struct exchange {
  telemetry::route route = telemetry::route::unknown;
  std::chrono::steady_clock::time_point start;
  const char* method = "";
  bool head = false;    ///< a HEAD request: answers carry no body
  bool close = false;   ///< its answer says Connection: close
  bool http10 = false;  ///< an HTTP/1.0 request: so is the answer
  /// The connection's descriptor, for an answer on the reactor thread
  /// inside the handler (-1 once `ask` took the exchange elsewhere).
  int fd = -1;
  /// For an answer from another thread (`ask`): the connection's own
  /// descriptor (wire.hpp).
  std::shared_ptr<const own_socket> own;
  /// The connection's turn to answer, given back once this answer is
  /// written (null: no connection to keep in order).
  std::shared_ptr<answer_slot> slot;
  /// Header lines the handler added ("Name: value\r\n" each).
  std::string headers;
};

/// The bytes of `ex`'s answer: status line, Content-Type, the handler's
/// headers, Connection and Content-Length, then the body. A response to
/// HEAD has the headers of the GET, Content-Length included, and no
/// content (RFC 9110 §9.3.2); 304 and 204 have no Content-Length (§8.6).
std::string render_answer(const exchange& ex, int status,
                          std::string_view body, std::string_view type);

/// Makes `ex` the current exchange of this thread (nullptr: none).
void set_exchange(exchange* ex);
exchange* current_exchange();

/// Records the current exchange's status, duration and log line, once.
void finish_exchange(int status);

/// A response without a body (304, say).
void send_status(ResponseWriter& w, int status);

/// True when the connection closes after the answer: the client asked for
/// it, or speaks HTTP/1.0 without asking for keep-alive. HTTP/1.1
/// connections are persistent by default.
bool wants_close(const Request& req);

/// Closes the connection after this response, whatever the client asked.
void close_after(ResponseWriter& w);

void send_json(ResponseWriter& w, int status, std::string_view body);

/// A body of any media type. Every answer goes through this, send_json or
/// send_status. `w` only names the request: the answer goes to the current
/// exchange's connection.
void send_body(ResponseWriter& w, int status, std::string_view body,
               std::string_view content_type);

/// {"error":{"code":..,"message":..,"field":..}}; `field` only when given.
std::string error_body(std::string_view code, std::string_view message,
                       std::string_view field = {});

void send_error(ResponseWriter& w, int status, std::string_view code,
                std::string_view message, std::string_view field = {});

/// 429 or 503 with Retry-After.
void send_retry_later(ResponseWriter& w, int status, std::string_view code,
                      std::string_view message, int retry_after_seconds);

/// A read of the store failed (an LMDB error on a reader): logged, and
/// answered `503 unavailable` with Retry-After 1.
void send_read_failed(ResponseWriter& w, const std::exception& e);

/// The result of `read`, a query of the store on this thread, or nullopt
/// once a failure has been answered (send_read_failed).
template <class Read>
auto read_or_503(ResponseWriter& w, Read&& read)
  -> std::optional<decltype(read())> {
  try {
    return read();
  } catch (const std::exception& e) {
    send_read_failed(w, e);
    return std::nullopt;
  }
}

/// Adds a header to the current exchange's answer (`value` is the
/// server's own: no line breaks). Without a ResponseWriter: for answers
/// made outside a handler (a request that could not be read whole).
void add_header(std::string_view name, std::string_view value);
void add_header(ResponseWriter& w, std::string_view name,
                std::string_view value);

} // namespace bellhop::http
