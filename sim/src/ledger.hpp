// What happened in a run: one record per booking, and the counters,
// histograms and per-second series that the progress line, the summary,
// the JSON and the HTML report show. Touched only on the run's Asio thread
// (the simulator's only busy thread): no locks.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "histogram.hpp"

namespace bellhop::sim {

struct host_info {
  std::string id;
  std::string token;    ///< the host's JWT
  bool online = false;  ///< has devices on sockets
  /// Its latestId before the first booking (one count read at the start,
  /// see baseline.hpp): notifications up to it predate the run, so none of
  /// them is owed to a socket (a `--run-id` used again replays them), and
  /// its devices catch up from it.
  uint64_t synced_at = 0;
};

/// How a booking's notification first reached one of its host's sockets.
enum class seen_how : uint8_t {
  never,
  live,      ///< pushed to a socket that was open when it was created
  catch_up,  ///< replayed after a reconnect with `after=` (found by polling)
};

struct booking_rec {
  int64_t sched_us = 0;      ///< scheduled send time (run clock)
  int64_t written_us = 0;    ///< first written to a socket (0: not yet)
  uint32_t host = 0;         ///< index in ledger::hosts
  int16_t status = -1;       ///< HTTP status; 0 no answer; -1 not yet
  uint64_t nid = 0;          ///< notification id in the 201
  uint64_t socket_nid = 0;   ///< notification id it came with on a socket
  int64_t first_seen_us = 0; ///< first arrival on a socket (0: never)
  seen_how how = seen_how::never;
  uint32_t socket_copies = 0;///< frames, over every device and session
  uint32_t stored = 0;       ///< times found in the host's list at the end
  uint64_t stored_nid = 0;
  std::string booking_id;    ///< from the 201
};

/// One second of the run (times of answers and arrivals, not of sends).
struct series_point {
  double t = 0;  ///< end of the second, seconds since bookings started
  uint64_t scheduled = 0;  ///< handed to the pool (due)
  uint64_t sent = 0;       ///< written to a socket
  uint64_t accepted = 0, refused = 0, errors = 0;
  uint64_t delivered = 0;  ///< first arrivals on a socket
  /// Latencies of the second; they mean nothing when their count is 0.
  uint64_t http_n = 0, http_p50 = 0, http_p99 = 0, http_max = 0;  ///< us
  uint64_t socket_n = 0, socket_p50 = 0, socket_p99 = 0, socket_max = 0;
  uint64_t open_sockets = 0;
};

/// How a booking's request ended (guests.cpp fills it from the answer).
struct booking_answer {
  int status = 0;            ///< HTTP status; 0: no answer
  std::string error;         ///< why there is none ("receive: timed out")
  uint64_t nid = 0;          ///< notification id in a 201
  std::string booking_id;    ///< booking id in a 201
  int64_t queued_us = 0;     ///< waited in the sim's pool for a connection
};

class ledger {
public:
  std::vector<host_info> hosts;
  std::vector<booking_rec> bookings;  ///< index k: roomId "r-<k>"
  int64_t t0_us = 0;                  ///< when bookings started

  // POST /bookings.
  uint64_t submitted = 0;   ///< handed to the pool
  uint64_t sent = 0;        ///< written to a socket
  uint64_t accepted = 0, refused = 0, errors = 0;
  std::map<int, uint64_t> refused_by_status;
  std::map<std::string, uint64_t> errors_by_kind;
  /// Scheduled send to answer, for every booking that ended: one with no
  /// answer counts at the time it waited (a lower bound, a "cut-off").
  histogram http_latency;
  uint64_t http_cut_off = 0;  ///< of http_latency, bookings with no answer
  histogram schedule_lag;   ///< scheduled send to handed to the pool
  histogram pool_queue;     ///< waited in the pool for a free connection
  /// The spans that rates are taken over (figures.cpp): first and last
  /// write of a booking, first and last HTTP answer to one (0: none yet).
  int64_t first_write_us = 0, last_write_us = 0;
  int64_t first_booking_answer_us = 0, last_booking_answer_us = 0;

  // Sockets.
  uint64_t ws_connects = 0, ws_opened = 0, ws_failed = 0;
  uint64_t open_sockets = 0;
  std::map<std::string, uint64_t> ws_failures;  ///< "HTTP 429", "..."
  std::map<int, uint64_t> ws_closes;            ///< by close code
  uint64_t frames = 0, events = 0, acks = 0, acks_deferred = 0;
  uint64_t duplicate_frames = 0, misrouted = 0, error_events = 0;
  std::vector<std::string> socket_problems;     ///< the first few, named
  histogram delivery_live;  ///< send to socket, live pushes
  histogram delivery_all;   ///< send to socket, live and caught up

  // GET /notifications/count by devices whose socket closed.
  uint64_t polls = 0, polls_not_modified = 0, polls_unchanged = 0;
  uint64_t polls_news = 0, poll_errors = 0;

  // Is the server there? Any HTTP answer counts.
  int64_t last_answer_us = 0;
  int64_t last_error_us = 0;
  std::string last_error;

  std::vector<series_point> series;

  void on_answer(int64_t now);
  void on_transport_error(int64_t now, const std::string& what);
  /// An HTTP request ended `now`: answered (any status), or not (status 0,
  /// with the transport's error).
  void on_reply(int64_t now, int status, const std::string& error);
  /// A booking was handed to the pool `now` (it was due at its sched_us).
  void on_submitted(uint64_t k, int64_t now);
  /// Its request was written to a socket `now`.
  void on_written(uint64_t k, int64_t now);
  /// Its request ended: answered, or not (status 0, with the error).
  void on_booking_answer(uint64_t k, int64_t now, booking_answer a);
  /// The run stops now (aborted): every booking written and not answered
  /// ends as an error, cut off at the time it waited.
  void cut_off_unanswered(int64_t now);
  /// A new_booking event for booking k reached a socket of host `host`.
  void on_socket_event(uint64_t k, uint32_t host, uint64_t nid, int64_t now,
                       bool live);
  void socket_problem(std::string what);

  /// Ends the current second: adds a series point and starts a new one.
  void close_interval(int64_t now);
  /// The last closed second, or an empty point before the first.
  const series_point& last_point() const;

private:
  /// Ends booking k with no answer: an error of `kind`, in POST latency as
  /// a lower bound.
  void cut_off(uint64_t k, int64_t now, const std::string& kind);
  void record_post_latency(const booking_rec& b, int64_t now);

  histogram http_iv_, socket_iv_;  ///< the current second only
  uint64_t iv_scheduled_ = 0, iv_sent_ = 0, iv_accepted_ = 0, iv_refused_ = 0;
  uint64_t iv_errors_ = 0, iv_delivered_ = 0;
};

} // namespace bellhop::sim
