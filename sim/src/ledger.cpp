// The run's records and counters (see ledger.hpp).
#include "ledger.hpp"

#include <algorithm>

namespace bellhop::sim {

namespace {
constexpr std::size_t max_named_problems = 50;
}

void ledger::on_answer(int64_t now) {
  last_answer_us = now;
}

void ledger::on_transport_error(int64_t now, const std::string& what) {
  last_error_us = now;
  last_error = what;
}

void ledger::on_reply(int64_t now, int status, const std::string& error) {
  if (status == 0)
    on_transport_error(now, error);
  else
    on_answer(now);
}

void ledger::on_submitted(uint64_t k, int64_t now) {
  ++submitted;
  ++iv_scheduled_;
  auto lag = now - bookings[k].sched_us;
  schedule_lag.record(lag > 0 ? static_cast<uint64_t>(lag) : 0);
}

void ledger::on_written(uint64_t k, int64_t now) {
  auto& b = bookings[k];
  if (b.written_us != 0)
    return;
  b.written_us = now;
  if (first_write_us == 0)
    first_write_us = now;
  last_write_us = now;
  ++sent;
  ++iv_sent_;
}

void ledger::on_booking_answer(uint64_t k, int64_t now, booking_answer a) {
  auto& b = bookings[k];
  pool_queue.record(static_cast<uint64_t>(std::max<int64_t>(a.queued_us, 0)));
  if (a.status == 0) {
    cut_off(k, now, a.error);
    on_transport_error(now, a.error);
    return;
  }
  on_answer(now);
  b.status = static_cast<int16_t>(a.status);
  if (first_booking_answer_us == 0)
    first_booking_answer_us = now;
  last_booking_answer_us = now;
  record_post_latency(b, now);
  if (a.status == 201) {
    ++accepted;
    ++iv_accepted_;
    b.nid = a.nid;
    b.booking_id = std::move(a.booking_id);
  } else {
    ++refused;
    ++iv_refused_;
    ++refused_by_status[a.status];
  }
}

void ledger::cut_off_unanswered(int64_t now) {
  // The pool's callbacks never run once the run stops: without this, the
  // bookings in flight would be left out of POST latency and the errors.
  for (uint64_t k = 0; k < bookings.size(); ++k)
    if (bookings[k].written_us != 0 && bookings[k].status == -1)
      cut_off(k, now, "aborted: no answer when the run stopped");
}

void ledger::cut_off(uint64_t k, int64_t now, const std::string& kind) {
  auto& b = bookings[k];
  b.status = 0;
  // Every booking counts, answered or not: one that got no answer waited
  // at least this long, and leaving it out would hide a stalled server.
  record_post_latency(b, now);
  ++http_cut_off;
  ++errors;
  ++iv_errors_;
  ++errors_by_kind[kind];
}

void ledger::record_post_latency(const booking_rec& b, int64_t now) {
  auto latency = static_cast<uint64_t>(std::max<int64_t>(now - b.sched_us, 0));
  http_latency.record(latency);
  http_iv_.record(latency);
}

void ledger::on_socket_event(uint64_t k, uint32_t host, uint64_t nid,
                             int64_t now, bool live) {
  ++events;
  if (k >= bookings.size() || bookings[k].host != host) {
    ++misrouted;
    socket_problem("host " + hosts[host].id + " received r-"
                   + std::to_string(k) + " (notification "
                   + std::to_string(nid) + "), booked for another host");
    return;
  }
  auto& b = bookings[k];
  ++b.socket_copies;
  if (b.first_seen_us != 0)
    return;
  b.first_seen_us = now;
  b.socket_nid = nid;
  b.how = live ? seen_how::live : seen_how::catch_up;
  auto latency = static_cast<uint64_t>(std::max<int64_t>(now - b.sched_us, 0));
  delivery_all.record(latency);
  if (live)
    delivery_live.record(latency);
  socket_iv_.record(latency);
  ++iv_delivered_;
}

void ledger::socket_problem(std::string what) {
  if (socket_problems.size() < max_named_problems)
    socket_problems.push_back(std::move(what));
}

void ledger::close_interval(int64_t now) {
  series_point p;
  p.t = static_cast<double>(now - t0_us) / 1e6;
  p.scheduled = iv_scheduled_;
  p.sent = iv_sent_;
  p.accepted = iv_accepted_;
  p.refused = iv_refused_;
  p.errors = iv_errors_;
  p.delivered = iv_delivered_;
  p.http_n = http_iv_.count();
  p.http_p50 = http_iv_.percentile(50);
  p.http_p99 = http_iv_.percentile(99);
  p.http_max = http_iv_.max();
  p.socket_n = socket_iv_.count();
  p.socket_p50 = socket_iv_.percentile(50);
  p.socket_p99 = socket_iv_.percentile(99);
  p.socket_max = socket_iv_.max();
  p.open_sockets = open_sockets;
  series.push_back(p);
  http_iv_.reset();
  socket_iv_.reset();
  iv_scheduled_ = iv_sent_ = iv_accepted_ = iv_refused_ = iv_errors_ = 0;
  iv_delivered_ = 0;
}

const series_point& ledger::last_point() const {
  static const series_point empty;
  return series.empty() ? empty : series.back();
}

} // namespace bellhop::sim
