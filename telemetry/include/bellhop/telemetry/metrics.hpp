// bellhop's metrics (§4 GET /metrics), in the Prometheus text format 0.0.4.
// Every series is known at compile time and lives in one registry; updating
// one is a relaxed atomic add (no lock, no allocation), so the hot paths
// can afford it. Rendering reads the atomics without stopping writers.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace bellhop::telemetry {

class counter {
public:
  void inc(uint64_t n = 1) {
    v_.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t value() const {
    return v_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<uint64_t> v_{0};
};

class gauge {
public:
  void add(int64_t n) {
    v_.fetch_add(n, std::memory_order_relaxed);
  }
  void set(int64_t n) {
    v_.store(n, std::memory_order_relaxed);
  }
  int64_t value() const {
    return v_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<int64_t> v_{0};
};

/// A histogram of durations in seconds with fixed buckets from 100 µs to
/// 10 s (1-2.5-5 steps), which covers an fsync and a slow request alike.
class histogram {
public:
  static constexpr std::array<double, 16> bounds{
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};

  void observe(double seconds);
  /// Appends the _bucket, _sum and _count lines; `labels` like `a="b"`.
  void render(std::string& out, const std::string& name,
              const std::string& labels = "") const;

private:
  std::array<std::atomic<uint64_t>, bounds.size() + 1> counts_{};
  std::atomic<uint64_t> sum_ns_{0};
};

/// The REST routes, as metric labels.
enum class route : uint8_t {
  healthz, readyz, metrics, openapi, post_bookings, get_booking,
  post_notifications, count, list, mark_read, get_preferences,
  put_preferences, audit, static_file, demo, preflight, unknown,
  size_  // number of routes
};
const char* to_string(route r);

/// The statuses the API answers with; anything else counts as "other".
constexpr std::array<int, 15> http_codes{200, 201, 204, 304, 400, 401, 403,
                                         404, 405, 409, 413, 415, 429, 500,
                                         503};

/// Delivery channels and results for bellhop_deliveries_total.
enum class channel : uint8_t { ws, socketio, email, size_ };
enum class result : uint8_t { pushed, acked, sent, failed, size_ };

struct registry {
  counter bookings;
  std::array<counter, 4> notifications;  ///< by category index
  std::array<std::array<counter, static_cast<std::size_t>(result::size_)>,
             static_cast<std::size_t>(channel::size_)>
    deliveries;
  histogram delivery_seconds;  ///< notification created -> frame pushed
  gauge ws_sessions;
  gauge rest_connections;  ///< open REST connections
  gauge ws_connections;    ///< open sockets on the WebSocket port
  /// Files the process has for connections once both ports listen (0: no
  /// limit); see connection_files_left().
  gauge connection_files;
  gauge host_actors;
  gauge emails_pending;  ///< outbox entries the mailer sends or retries
  std::array<std::array<counter, http_codes.size() + 1>,
             static_cast<std::size_t>(route::size_)>
    http_requests;
  histogram http_request_seconds;
  counter rate_limited;
  counter connections_refused;  ///< REST connections refused: files ran low
  counter answers_cut;  ///< REST answers cut short: the slow writer was full
  histogram storage_commit_seconds;
  gauge storage_used_bytes;  ///< the store's high-water mark
  gauge storage_map_bytes;   ///< --map-size: past it, writes get 503
  counter retention_deleted;  ///< records deleted by --retention

  void request(route r, int status, double seconds);
  void delivery(channel c, result r) {
    deliveries[static_cast<std::size_t>(c)][static_cast<std::size_t>(r)].inc();
  }
  /// The whole registry in the Prometheus text format.
  std::string render() const;
};

/// The process's registry.
registry& metrics();

/// Files left for new connections: connection_files less two for each REST
/// connection (its socket, and the descriptor its answer may hold while an
/// actor makes it or the slow writer finishes it) and one for each
/// WebSocket one. INT64_MAX without a limit. The ports refuse connections
/// below what they need, so that accept never fails with EMFILE (Pistache's
/// accept loop spins on it).
int64_t connection_files_left();

} // namespace bellhop::telemetry
