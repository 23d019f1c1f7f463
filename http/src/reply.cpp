// Response helpers.
#include "reply.hpp"

#include <nlohmann/json.hpp>

#include "bellhop/telemetry/log.hpp"

namespace bellhop::http {

namespace H = Pistache::Http::Header;

namespace {

thread_local exchange* current = nullptr;

} // namespace

bool wants_close(const Request& req) {
  auto conn = req.headers().tryGet<H::Connection>();
  return conn ? conn->control() == Pistache::Http::ConnectionControl::Close
              : req.version() == Pistache::Http::Version::Http10;
}

void close_after(ResponseWriter&) {
  if (current != nullptr)
    current->close = true;
}

void set_exchange(exchange* ex) {
  current = ex;
}

exchange* current_exchange() {
  return current;
}

void finish_exchange(int status) {
  auto* ex = current;
  if (ex == nullptr)
    return;
  current = nullptr;
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - ex->start;
  telemetry::metrics().request(ex->route, status, took.count());
  if (telemetry::log_enabled(telemetry::level::info))
    telemetry::log(telemetry::level::info, "request",
                   {{"method", std::string_view{ex->method}},
                    {"route", std::string_view{telemetry::to_string(ex->route)}},
                    {"status", int64_t{status}},
                    {"ms", took.count() * 1000}});
}

std::string render_answer(const exchange& ex, int status,
                          std::string_view body, std::string_view type) {
  auto code = static_cast<Pistache::Http::Code>(status);
  std::string out;
  out.reserve(160 + ex.headers.size() + body.size());
  out += ex.http10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += Pistache::Http::codeString(code);
  out += "\r\n";
  if (!type.empty()) {
    out += "Content-Type: ";
    out += type;
    out += "\r\n";
  }
  out += ex.headers;
  out += ex.close ? "Connection: Close\r\n" : "Connection: Keep-Alive\r\n";
  if (status != 304 && status != 204) {
    out += "Content-Length: ";
    out += std::to_string(body.size());
    out += "\r\n";
  }
  out += "\r\n";
  if (!ex.head)
    out += body;
  return out;
}

namespace {

/// Writes the current exchange's answer to its connection and closes the
/// exchange.
void answer(int status, std::string_view body, std::string_view type) {
  auto* ex = current;
  if (ex == nullptr)
    return;  // answered already
  write_answer(ex->own ? ex->own->fd() : ex->fd,
               render_answer(*ex, status, body, type), ex->close, ex->slot);
  finish_exchange(status);
}

} // namespace

void send_body(ResponseWriter&, int status, std::string_view body,
               std::string_view content_type) {
  answer(status, body, content_type);
}

void send_json(ResponseWriter&, int status, std::string_view body) {
  answer(status, body, "application/json");
}

void send_status(ResponseWriter&, int status) {
  answer(status, {}, {});
}

std::string error_body(std::string_view code, std::string_view message,
                       std::string_view field) {
  nlohmann::ordered_json e;
  e["code"] = code;
  e["message"] = message;
  if (!field.empty())
    e["field"] = field;
  nlohmann::ordered_json doc;
  doc["error"] = std::move(e);
  return doc.dump();
}

void send_error(ResponseWriter& w, int status, std::string_view code,
                std::string_view message, std::string_view field) {
  // RFC 6750, 3: a 401 names the scheme the client should use.
  if (status == 401)
    add_header(w, "WWW-Authenticate", "Bearer realm=\"bellhop\"");
  send_json(w, status, error_body(code, message, field));
}

void send_retry_later(ResponseWriter& w, int status, std::string_view code,
                      std::string_view message, int retry_after_seconds) {
  add_header(w, "Retry-After", std::to_string(retry_after_seconds));
  send_error(w, status, code, message);
}

void send_read_failed(ResponseWriter& w, const std::exception& e) {
  telemetry::log(telemetry::level::error, "reading the store failed",
                 {{"error", std::string_view{e.what()}}});
  send_retry_later(w, 503, "unavailable", "storage failed", 1);
}

void add_header(ResponseWriter&, std::string_view name,
                std::string_view value) {
  add_header(name, value);
}

void add_header(std::string_view name, std::string_view value) {
  if (current == nullptr)
    return;
  auto& h = current->headers;
  h += name;
  h += ": ";
  h += value;
  h += "\r\n";
}

} // namespace bellhop::http
