// Writing responses: JSON bodies, the contract's error shape, and HTTP/1.1
// persistent connections (Pistache closes a connection unless the request
// asked for keep-alive; HTTP/1.1 says the opposite).
#pragma once

#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include <pistache/http.h>

#include "bellhop/telemetry/metrics.hpp"

namespace bellhop::http {

using Pistache::Http::Request;
using Pistache::Http::ResponseWriter;

/// The request being answered on this thread, for the request's metrics and
/// its log line. The dispatcher sets it on the reactor thread; `ask` carries
/// a copy to the CAF thread that answers. Every send helper below closes it.
struct exchange {
  telemetry::route route = telemetry::route::unknown;
  std::chrono::steady_clock::time_point start;
  const char* method = "";
  /// Answered from an actor's thread (`ask`): such an answer counts as
  /// unwritten until Pistache is done with its write.
  bool queued = false;
  bool head = false;  ///< a HEAD request: answers carry no body
  bool close = false;  ///< its answer says Connection: close
};

/// Actors' answers not yet written (or dropped) by Pistache, which queues
/// every write to the connection's reactor. A stopping server waits for 0
/// before it stops the reactors, which would drop them.
int64_t answers_unwritten();

/// Makes `ex` the current exchange of this thread (nullptr: none).
void set_exchange(exchange* ex);
exchange* current_exchange();

/// Records the current exchange's status, duration and log line, once.
void finish_exchange(int status);

/// A response without a body (304, say).
void send_status(ResponseWriter& w, int status);

/// Keeps the connection open after the response unless the client asked to
/// close it (or speaks HTTP/1.0 without asking for keep-alive): true then.
bool keep_alive(const Request& req, ResponseWriter& w);

/// Closes the connection after this response, whatever the client asked
/// (the current exchange, if any, is marked `close`).
void close_after(ResponseWriter& w);

void send_json(ResponseWriter& w, int status, std::string_view body);

/// A body of any media type. Every answer goes through this, send_json or
/// send_status (an actor's is counted until written: answers_unwritten).
void send_body(ResponseWriter& w, int status, std::string_view body,
               const Pistache::Http::Mime::MediaType& type);

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

void add_header(ResponseWriter& w, const std::string& name,
                const std::string& value);

} // namespace bellhop::http
