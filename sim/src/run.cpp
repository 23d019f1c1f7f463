// run_sim: one run, start to end, on one Asio io_context driven by the
// calling thread (the only busy thread of the simulator; websocketpp, the
// HTTP pools and every timer share it, so nothing here needs a lock).
//
// Phases: preflight (GET /healthz, then each online host's count: the
// baseline) -> connecting (devices ramp up) ->
// sending (open-loop bookings) -> answering (the last answers come) ->
// draining (late deliveries, devices still polling) -> verifying (every
// host's list by REST) -> done. A control timer (100 ms) moves between
// phases and aborts when the server stops answering; a one-second timer
// closes each second of the series and refreshes the progress line.
#include "bellhop/sim/sim.hpp"

#include <algorithm>
#include <csignal>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <utility>

#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "baseline.hpp"
#include "bellhop/auth/jwt.hpp"
#include "clock.hpp"
#include "figures.hpp"
#include "guests.hpp"
#include "hosts.hpp"
#include "http_pool.hpp"
#include "ledger.hpp"
#include "progress.hpp"
#include "report_html.hpp"
#include "summary.hpp"
#include "verify.hpp"

namespace bellhop::sim {

namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

enum class phase {
  preflight, connecting, sending, answering, draining, verifying, done
};

const char* name_of(phase p) {
  switch (p) {
    case phase::preflight: return "preflight";
    case phase::connecting: return "connecting";
    case phase::sending: return "sending";
    case phase::answering: return "answering";
    case phase::draining: return "draining";
    case phase::verifying: return "verifying";
    case phase::done: return "done";
  }
  return "?";
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
         + static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<milliseconds>(now.time_since_epoch())
              .count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

/// Raises RLIMIT_NOFILE's soft limit to the hard one and returns it:
/// every socket is a file, and the default soft limit is 1024.
rlim_t raise_file_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return 1024;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    getrlimit(RLIMIT_NOFILE, &lim);
  }
  return lim.rlim_cur;
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << text;
  out.close();
  return static_cast<bool>(out);
}

class runner {
public:
  runner(const sim_config& cfg, const url& http, const url& ws, ledger& led,
         std::vector<std::string> booking_tokens)
    : cfg_(cfg),
      led_(led),
      host_pool_(io_, http, cfg.host_connections, milliseconds(cfg.timeout_ms)),
      booking_pool_(io_, http, cfg.connections, milliseconds(cfg.timeout_ms)),
      devices_(io_, cfg, ws, host_pool_, led),
      guests_(io_, cfg, booking_pool_, led, std::move(booking_tokens)),
      verifier_(host_pool_, led),
      progress_(cfg.progress) {}

  /// The whole run; returns the figures.
  nlohmann::ordered_json run() {
    info_.started_at = utc_now();
    info_.devices = devices_.count();
    for (auto& h : led_.hosts)
      info_.online_hosts += h.online ? 1 : 0;
    auto start = now_us();
    signals_.async_wait([this](auto ec, int) { on_signal(ec); });
    control();  // from the first request on: a server that stops answering
    preflight();
    io_.run();
    progress_.finish();
    // A first Ctrl-C lets the bookings sent be answered and checked, but
    // the run did not do what was asked: it is not a pass.
    if (interrupted_ && info_.aborted.empty())
      info_.aborted = "interrupted";
    info_.wall_seconds = static_cast<double>(now_us() - start) / 1e6;
    info_.cpu_seconds = cpu_seconds();
    return make_figures(cfg_, led_, verified_ ? &verifier_.result() : nullptr,
                        info_);
  }

private:
  // ------------------------------------------------------------ phases

  void preflight() {
    http_request req;
    req.target = "/healthz";
    host_pool_.submit(std::move(req), [this](http_result& r) {
      if (phase_ != phase::preflight)
        return;
      if (r.status != 200) {
        abort("cannot reach the server: GET " + cfg_.http_url + "/healthz "
              + (r.status == 0 ? r.error
                               : "answered HTTP " + std::to_string(r.status)));
        return;
      }
      led_.on_answer(now_us());
      read_baselines(host_pool_, led_, [this](const std::string& error) {
        if (phase_ != phase::preflight)
          return;
        if (!error.empty())
          abort("cannot read the notification count of " + error);
        else
          connecting();
      });
    });
  }

  void connecting() {
    phase_ = phase::connecting;
    connect_deadline_ = now_us() + int64_t{cfg_.ramp_ms} * 1000
                        + int64_t{cfg_.timeout_ms} * 1000;
    devices_.start(int64_t{cfg_.ramp_ms} * 1000);
  }

  void sending() {
    phase_ = phase::sending;
    cpu_at_send_ = cpu_seconds();
    led_.t0_us = now_us() + 1000;  // a millisecond to arm the timers
    guests_.start(led_.t0_us);
    second_ = led_.t0_us;
    each_second();
  }

  void control() {
    control_timer_.expires_after(milliseconds(100));
    control_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || phase_ == phase::done)
        return;
      step();
      if (phase_ != phase::done)
        control();
    });
  }

  void step() {
    auto now = now_us();
    if (server_gone(now))
      return;
    switch (phase_) {
      case phase::connecting:
        if (devices_.first_connects_pending() == 0
            || now > connect_deadline_) {
          if (devices_.count() > 0 && led_.ws_opened == 0) {
            abort("no WebSocket connection to " + cfg_.ws_url
                  + " opened: " + first_ws_failure());
            return;
          }
          sending();
        }
        break;
      case phase::sending:
        if (guests_.done_sending())
          answering(now);
        break;
      case phase::answering:
        if (guests_.in_flight() == 0) {
          phase_ = phase::draining;
          drain_deadline_ = now + int64_t{cfg_.drain_ms} * 1000;
        }
        break;
      case phase::draining:
        if (undelivered() == 0 || now > drain_deadline_)
          verifying();
        break;
      default:
        break;
    }
  }

  void answering(int64_t now) {
    phase_ = phase::answering;
    auto sent_for = static_cast<double>(now - led_.t0_us) / 1e6;
    bool early = interrupted_ || !info_.aborted.empty();
    info_.send_seconds = early ? sent_for : cfg_.duration_s;
    if (sent_for > 0)
      info_.cpu_share_sending = (cpu_seconds() - cpu_at_send_) / sent_for;
  }

  void verifying() {
    phase_ = phase::verifying;
    devices_.stop();
    led_.close_interval(now_us());
    if (!cfg_.verify) {
      finish();
      return;
    }
    progress_.note("bellhop sim: checking every host's notifications...");
    verified_ = true;
    verifier_.start([this] { finish(); });
  }

  void finish() {
    if (phase_ == phase::done)
      return;
    phase_ = phase::done;
    stop_all();
  }

  void abort(const std::string& why) {
    if (phase_ == phase::done)
      return;
    info_.aborted = why;
    verified_ = false;
    auto now = now_us();
    if (phase_ == phase::sending)
      answering(now);
    // stop_all() drops the pool's pending callbacks: what is in flight ends
    // here, as errors cut off at the time they waited.
    led_.cut_off_unanswered(now);
    if (led_.t0_us != 0)
      led_.close_interval(now);
    phase_ = phase::done;
    stop_all();
  }

  void stop_all() {
    guests_.stop();
    devices_.stop();
    host_pool_.close_idle();
    booking_pool_.close_idle();
    control_timer_.cancel();
    second_timer_.cancel();
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    io_.stop();  // pending handlers are dropped, never run
  }

  // ------------------------------------------------------------ checks

  /// Aborts when requests fail and nothing has answered for give_up_ms.
  bool server_gone(int64_t now) {
    auto silent = now - led_.last_answer_us;
    if (led_.last_error_us <= led_.last_answer_us
        || silent < int64_t{cfg_.give_up_ms} * 1000)
      return false;
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f", static_cast<double>(silent) / 1e6);
    abort("the server stopped answering: no HTTP answer for "
          + std::string{secs} + " s, last error: " + led_.last_error);
    return true;
  }

  /// Accepted bookings for online hosts not yet seen on a socket.
  std::size_t undelivered() const {
    std::size_t n = 0;
    for (auto& b : led_.bookings)
      if (b.status == 201 && b.how == seen_how::never
          && led_.hosts[b.host].online)
        ++n;
    return n;
  }

  std::string first_ws_failure() const {
    if (led_.ws_failures.empty())
      return "no handshake completed in time";
    auto& [why, n] = *led_.ws_failures.begin();
    return why + " (" + std::to_string(n) + " times)";
  }

  void each_second() {
    second_ += 1'000'000;
    second_timer_.expires_at(at_us(second_));
    second_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || phase_ == phase::done || phase_ == phase::verifying)
        return;
      led_.close_interval(now_us());
      auto in_flight = booking_pool_.in_flight();
      progress_.tick(led_, static_cast<double>(now_us() - led_.t0_us) / 1e6,
                     name_of(phase_), in_flight);
      each_second();
    });
  }

  void on_signal(boost::system::error_code ec) {
    if (ec)
      return;
    if (interrupted_ || phase_ != phase::sending) {
      abort("interrupted");
      return;
    }
    interrupted_ = true;
    progress_.note("bellhop sim: interrupted; finishing (again to abort)");
    guests_.stop();
    answering(now_us());  // sending ended now, not at the next step
    signals_.async_wait([this](auto e, int) { on_signal(e); });
  }

  // Members are destroyed in reverse order: the io_context last, after
  // everything that holds sockets or timers on it.
  asio::io_context io_{1};
  const sim_config& cfg_;
  ledger& led_;
  http_pool host_pool_;     ///< polls, the preflight and the final check
  http_pool booking_pool_;  ///< POST /bookings only, so polls never delay it
  devices devices_;
  guests guests_;
  verifier verifier_;
  progress progress_;
  asio::steady_timer control_timer_{io_};
  asio::steady_timer second_timer_{io_};
  asio::signal_set signals_{io_, SIGINT, SIGTERM};
  phase phase_ = phase::preflight;
  run_info info_;
  bool verified_ = false;
  bool interrupted_ = false;
  int64_t connect_deadline_ = 0, drain_deadline_ = 0, second_ = 0;
  double cpu_at_send_ = 0;
};

/// What failed a run that was not aborted, as "N what" items: each of
/// figures_ok's reasons that is not zero.
std::string failures_of(const nlohmann::ordered_json& f) {
  const auto& b = f["bookings"];
  const auto& v = f["verify"];
  const auto& s = f["sockets"];
  const std::pair<uint64_t, const char*> reasons[] = {
    {b.value("refused", uint64_t{0}), "bookings refused"},
    {b.value("errors", uint64_t{0}), "bookings not answered"},
    {f["delivery"].value("missedOnSocket", uint64_t{0}),
     "bookings of online hosts that never reached a socket"},
    {v.value("missing", uint64_t{0}), "bookings answered 201 missing"},
    {v.value("unchecked", uint64_t{0}),
     "bookings not checked (lists unreadable)"},
    {v.value("duplicated", uint64_t{0}), "duplicated"},
    {v.value("mismatched", uint64_t{0}), "stored under another id"},
    {v.value("refusedButStored", uint64_t{0}), "refused but stored"},
    {v.value("misplaced", uint64_t{0}), "misplaced"},
    {s.value("duplicateFrames", uint64_t{0}), "duplicate frames"},
    {s.value("misrouted", uint64_t{0}), "misrouted events"},
    {s.value("wrongIds", uint64_t{0}), "events under another id"},
  };
  std::string out;
  for (const auto& [n, what] : reasons)
    if (n > 0)
      out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + what;
  if (v.contains("hostErrors") && !v["hostErrors"].empty())
    out += (out.empty() ? "" : ", ") + std::to_string(v["hostErrors"].size())
           + " hosts' lists unreadable";
  if (!v.value("skipped", false) && !v.value("checked", false))
    out += std::string{out.empty() ? "" : ", "} + "the check did not run";
  return out.empty() ? "see the figures" : out;
}

std::string random_run_id() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06x", rd() & 0xffffff);
  return buf;
}

} // namespace

int run_sim(const sim_config& given) {
  sim_config cfg = given;
  auto http = parse_url(cfg.http_url, "http");
  auto ws = parse_url(cfg.ws_url, "ws");
  if (!http || !ws) {
    std::cerr << "bellhop sim: --http must be http://HOST:PORT and --ws "
                 "ws://HOST:PORT[/ws]\n";
    return 2;
  }
  // A file that cannot be written is found now, not after the run.
  for (const auto* path : {&cfg.json_path, &cfg.report_path}) {
    if (path->empty())
      continue;
    std::ofstream probe{*path, std::ios::binary | std::ios::app};
    if (!probe) {
      std::cerr << "bellhop sim: cannot write " << *path << "\n";
      return 2;
    }
  }
  std::signal(SIGPIPE, SIG_IGN);
  run_epoch();
  if (cfg.run_id.empty())
    cfg.run_id = random_run_id();

  // Sockets needed: every device, both pools, a margin for the rest.
  auto online = static_cast<uint32_t>(cfg.hosts * cfg.online + 0.5);
  auto files_needed = uint64_t{online} * cfg.devices_per_host
                      + cfg.connections + cfg.host_connections + 64;
  auto files = raise_file_limit();
  if (files_needed > files) {
    std::cerr << "bellhop sim: " << files_needed << " sockets needed but the "
              << "open-file limit is " << files << " (ulimit -n)\n";
    return 2;
  }

  // Tokens, minted with the shared secret; they outlive the run.
  auto ttl = static_cast<int64_t>(cfg.duration_s) + cfg.drain_ms / 1000 + 3600;
  ledger led;
  led.hosts.resize(cfg.hosts);
  for (uint32_t h = 0; h < cfg.hosts; ++h) {
    auto& host = led.hosts[h];
    host.id = "s" + cfg.run_id + "-h" + std::to_string(h);
    host.online = h < online;
    host.token = auth::sign_hs256(cfg.jwt_secret, host.id, auth::role::host,
                                  ttl);
    if (host.token.empty()) {
      std::cerr << "bellhop sim: cannot sign a token\n";
      return 1;
    }
  }
  std::vector<std::string> booking_tokens;
  if (cfg.book_as_service) {
    booking_tokens.push_back(
      "Bearer "
      + auth::sign_hs256(cfg.jwt_secret, "sim-" + cfg.run_id,
                         auth::role::service, ttl));
  } else {
    // Guest g books k ≡ g (mod guests): more guests than bookings need
    // only a token each for the first few.
    auto guests = static_cast<uint32_t>(
      std::min<uint64_t>(cfg.guests, std::max<uint64_t>(planned_bookings(cfg), 1)));
    booking_tokens.reserve(guests);
    for (uint32_t g = 0; g < guests; ++g)
      booking_tokens.push_back(
        "Bearer "
        + auth::sign_hs256(cfg.jwt_secret, "g-" + std::to_string(g),
                           auth::role::guest, ttl));
  }

  nlohmann::ordered_json figures;
  try {
    runner r{cfg, *http, *ws, led, std::move(booking_tokens)};
    figures = r.run();
  } catch (const std::exception& e) {
    // Nothing ran (e.g. the host name does not resolve), but the run was
    // asked for: its figures say why, like any other aborted run.
    run_info info;
    info.started_at = utc_now();
    info.online_hosts = online;
    info.devices = uint64_t{online} * cfg.devices_per_host;
    info.aborted = e.what();
    figures = make_figures(cfg, led, nullptr, info);
  }

  int rc = figures_ok(figures) ? 0 : 1;
  auto save = [&](const std::string& path, const std::string& text) {
    if (path.empty() || write_file(path, text))
      return;
    std::cerr << "bellhop sim: cannot write " << path << "\n";
    rc = 1;
  };
  save(cfg.json_path, figures.dump(2));
  if (!cfg.report_path.empty())
    save(cfg.report_path, render_html(figures));
  print_summary(std::cout, figures);
  std::cout << std::flush;

  const auto& run = figures["run"];
  if (run["simCpuShareWhileSending"].get<double>() > 0.8)
    std::cerr << "bellhop sim: warning: the simulator used more than 80 % of "
                 "a core while sending; it may be the bottleneck\n";
  if (run["poolQueueShare"].get<double>() > 0.25)
    std::cerr << "bellhop sim: warning: bookings spent more than a quarter "
                 "of their POST latency waiting for one of the simulator's "
                 "--connections "
              << cfg.connections
              << "; its own pool held them back (raise --connections)\n";
  if (!run["aborted"].is_null()) {
    std::cerr << "bellhop sim: ABORTED: " << run["aborted"].get<std::string>()
              << "\n";
  } else if (rc != 0) {
    std::cerr << "bellhop sim: FAILED: " << failures_of(figures) << "\n";
  }
  return rc;
}

} // namespace bellhop::sim
