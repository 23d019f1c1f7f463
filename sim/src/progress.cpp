// The progress line (see progress.hpp).
#include "progress.hpp"

#include <cstdio>
#include <iostream>

#include <unistd.h>

#include "ledger.hpp"
#include "svg.hpp"

namespace bellhop::sim {

namespace {

/// Without a terminal, one line per this many seconds.
constexpr unsigned plain_every = 5;

/// A latency of the last second, or "-" when nothing was measured in it.
std::string latency(uint64_t n, uint64_t us) {
  return n > 0 ? svg::duration_text(static_cast<double>(us)) : "-";
}

} // namespace

progress::progress(int mode)
  : in_place_(mode == 1 || (mode < 0 && isatty(STDERR_FILENO) == 1)) {}

void progress::tick(const ledger& led, double seconds, const char* what,
                    std::size_t in_flight) {
  ++ticks_;
  if (!in_place_ && ticks_ % plain_every != 0)
    return;
  const auto& p = led.last_point();
  char line[320];
  std::snprintf(
    line, sizeof line,
    "[%6.1fs %-9s] sent %llu/s ok %llu/s refused %llu err %llu | POST p50 "
    "%s p99 %s | socket p50 %s p99 %s | %llu sockets, %zu in flight",
    seconds, what, static_cast<unsigned long long>(p.sent),
    static_cast<unsigned long long>(p.accepted),
    static_cast<unsigned long long>(led.refused),
    static_cast<unsigned long long>(led.errors),
    latency(p.http_n, p.http_p50).c_str(),
    latency(p.http_n, p.http_p99).c_str(),
    latency(p.socket_n, p.socket_p50).c_str(),
    latency(p.socket_n, p.socket_p99).c_str(),
    static_cast<unsigned long long>(led.open_sockets), in_flight);
  if (in_place_) {
    std::cerr << "\r\033[K" << line << std::flush;
    dirty_ = true;
  } else {
    std::cerr << line << "\n" << std::flush;
  }
}

void progress::note(const std::string& text) {
  finish();
  std::cerr << text << "\n" << std::flush;
}

void progress::finish() {
  if (dirty_) {
    std::cerr << "\n" << std::flush;
    dirty_ = false;
  }
}

} // namespace bellhop::sim
