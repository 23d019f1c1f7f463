// Rendering the metrics registry as Prometheus text.
#include "bellhop/telemetry/metrics.hpp"

#include <cstdio>

namespace bellhop::telemetry {

namespace {

constexpr const char* categories[] = {"booking", "review", "message", "system"};
constexpr const char* channels[] = {"ws", "socketio", "email"};
constexpr const char* results[] = {"pushed", "acked", "sent", "failed"};

void header(std::string& out, const char* name, const char* type,
            const char* help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void line(std::string& out, const std::string& name, const std::string& labels,
          const std::string& value) {
  out.append(name);
  if (!labels.empty())
    out.append("{").append(labels).append("}");
  out.append(" ").append(value).append("\n");
}

/// A metric of one series, without labels.
void single(std::string& out, const char* name, const char* type,
            const char* help, int64_t value) {
  header(out, name, type, help);
  line(out, name, "", std::to_string(value));
}

std::string number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", x);
  return buf;
}

} // namespace

const char* to_string(route r) {
  static constexpr const char* names[] = {
    "GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json",
    "POST /bookings", "GET /bookings/{id}", "POST /notifications",
    "GET /notifications/count", "GET /notifications/list",
    "POST /notifications/mark-read", "GET /preferences", "PUT /preferences",
    "GET /admin/audit", "GET static", "GET /demo", "OPTIONS preflight",
    "unknown"};
  return names[static_cast<std::size_t>(r)];
}

void histogram::observe(double seconds) {
  std::size_t i = 0;
  while (i < bounds.size() && seconds > bounds[i])
    ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(seconds * 1e9),
                    std::memory_order_relaxed);
}

void histogram::render(std::string& out, const std::string& name,
                       const std::string& labels) const {
  auto prefix = labels.empty() ? std::string{} : labels + ",";
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    auto le = i < bounds.size() ? number(bounds[i]) : std::string{"+Inf"};
    line(out, name + "_bucket", prefix + "le=\"" + le + "\"",
         std::to_string(cumulative));
  }
  line(out, name + "_sum", labels,
       number(sum_ns_.load(std::memory_order_relaxed) / 1e9));
  line(out, name + "_count", labels, std::to_string(cumulative));
}

void registry::request(route r, int status, double seconds) {
  std::size_t code = http_codes.size();  // "other"
  for (std::size_t i = 0; i < http_codes.size(); ++i)
    if (http_codes[i] == status)
      code = i;
  http_requests[static_cast<std::size_t>(r)][code].inc();
  http_request_seconds.observe(seconds);
}

std::string registry::render() const {
  std::string out;
  out.reserve(8192);
  single(out, "bellhop_bookings_total", "counter",
         "Bookings committed.",
         bookings.value());
  header(out, "bellhop_notifications_total", "counter",
         "Notifications committed, by category.");
  for (std::size_t i = 0; i < 4; ++i)
    line(out, "bellhop_notifications_total",
         std::string{"category=\""} + categories[i] + "\"",
         std::to_string(notifications[i].value()));
  header(out, "bellhop_deliveries_total", "counter",
         "Deliveries by channel and result.");
  for (std::size_t c = 0; c < 3; ++c)
    for (std::size_t r = 0; r < 4; ++r) {
      bool used = c == 2 ? r >= 2 : r < 2;  // sockets push/ack, email sends
      if (used)
        line(out, "bellhop_deliveries_total",
             std::string{"channel=\""} + channels[c] + "\",result=\""
               + results[r] + "\"",
             std::to_string(deliveries[c][r].value()));
    }
  header(out, "bellhop_delivery_seconds", "histogram",
         "From a notification's creation to its push to a socket.");
  delivery_seconds.render(out, "bellhop_delivery_seconds");
  single(out, "bellhop_ws_sessions", "gauge",
         "Live socket sessions.",
         ws_sessions.value());
  header(out, "bellhop_open_connections", "gauge",
         "Open connections by port (rest, ws), handshakes included.");
  line(out, "bellhop_open_connections", "port=\"rest\"",
       std::to_string(rest_connections.value()));
  line(out, "bellhop_open_connections", "port=\"ws\"",
       std::to_string(ws_connections.value()));
  single(out, "bellhop_connection_files", "gauge",
         "Files for connections (0: no limit): a REST connection takes two, "
         "a WebSocket one one.",
         connection_files.value());
  single(out, "bellhop_host_actors", "gauge",
         "Running host actors.",
         host_actors.value());
  single(out, "bellhop_emails_pending", "gauge",
         "Emails the mailer is sending or will retry (outbox entries not "
         "yet accepted by the SMTP server).",
         emails_pending.value());
  header(out, "bellhop_http_requests_total", "counter",
         "REST requests by route and status.");
  for (std::size_t r = 0; r < static_cast<std::size_t>(route::size_); ++r)
    for (std::size_t c = 0; c <= http_codes.size(); ++c) {
      auto v = http_requests[r][c].value();
      if (v == 0)
        continue;
      auto code = c < http_codes.size() ? std::to_string(http_codes[c])
                                        : std::string{"other"};
      line(out, "bellhop_http_requests_total",
           std::string{"route=\""} + to_string(static_cast<route>(r))
             + "\",code=\"" + code + "\"",
           std::to_string(v));
    }
  header(out, "bellhop_http_request_seconds", "histogram",
         "REST request duration, from parsed request to response sent.");
  http_request_seconds.render(out, "bellhop_http_request_seconds");
  single(out, "bellhop_rate_limited_total", "counter",
         "Requests and sockets refused by a rate limit.",
         rate_limited.value());
  single(out, "bellhop_http_connections_refused_total", "counter",
         "REST connections answered 503 and closed: open files ran low.",
         connections_refused.value());
  single(out, "bellhop_http_answers_cut_total", "counter",
         "REST answers cut short: their clients left the server holding its "
         "limit of unwritten bytes.",
         answers_cut.value());
  header(out, "bellhop_storage_commit_seconds", "histogram",
         "Duration of one group commit (apply and fsync).");
  storage_commit_seconds.render(out, "bellhop_storage_commit_seconds");
  single(out, "bellhop_storage_used_bytes", "gauge",
         "Bytes of the store in use (high-water mark; freed pages are reused).",
         storage_used_bytes.value());
  single(out, "bellhop_storage_map_bytes", "gauge",
         "The store's size limit (--map-size); past it, writes get 503.",
         storage_map_bytes.value());
  single(out, "bellhop_retention_deleted_total", "counter",
         "Read notifications and audit entries deleted by --retention.",
         retention_deleted.value());
  return out;
}

int64_t connection_files_left() {
  auto& m = metrics();
  auto files = m.connection_files.value();
  if (files == 0)
    return INT64_MAX;
  return files - 2 * m.rest_connections.value() - m.ws_connections.value();
}

registry& metrics() {
  static registry instance;
  return instance;
}

} // namespace bellhop::telemetry
