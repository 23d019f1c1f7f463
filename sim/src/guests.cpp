// The open-loop booking generator (see guests.hpp). One Asio timer walks
// the schedule: each time it fires it sends every booking now due and
// re-arms for the next one, so a late wake-up sends the overdue ones at
// once (the lag is recorded) instead of shifting the schedule.
#include "guests.hpp"

#include <cstdio>
#include <ctime>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "clock.hpp"
#include "http_pool.hpp"
#include "ledger.hpp"

namespace bellhop::sim {

namespace {

/// splitmix64: a small, fast, seedable generator for the host of each
/// booking.
uint64_t next_random(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/// YYYY-MM-DD, `days` from today (UTC).
std::string date_from_today(int days) {
  std::time_t t = std::time(nullptr) + static_cast<std::time_t>(days) * 86400;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

} // namespace

struct guests::impl {
  boost::asio::steady_timer timer;
  const sim_config& cfg;
  http_pool& pool;
  ledger& led;
  std::vector<std::string> tokens;
  std::string check_in = date_from_today(30);
  std::string check_out = date_from_today(32);
  uint64_t next = 0;       ///< the next booking to send
  uint64_t total = 0;
  std::size_t in_flight = 0;
  bool stopped = false;

  impl(boost::asio::io_context& io, const sim_config& c, http_pool& p,
       ledger& l, std::vector<std::string> t)
    : timer(io), cfg(c), pool(p), led(l), tokens(std::move(t)) {}

  void arm() {
    if (stopped || next >= total)
      return;
    timer.expires_at(at_us(led.bookings[next].sched_us));
    timer.async_wait([this](boost::system::error_code ec) {
      if (!ec)
        fire();
    });
  }

  void fire() {
    auto now = now_us();
    while (!stopped && next < total && led.bookings[next].sched_us <= now)
      send(next++, now);
    arm();
  }

  void send(uint64_t k, int64_t now) {
    auto& b = led.bookings[k];
    const auto& host = led.hosts[b.host].id;
    auto guest = k % cfg.guests;
    char body[256];
    std::snprintf(body, sizeof body,
                  R"({"hostId":"%s","roomId":"r-%llu","guestId":"g-%llu",)"
                  R"("checkIn":"%s","checkOut":"%s","guests":2})",
                  host.c_str(), static_cast<unsigned long long>(k),
                  static_cast<unsigned long long>(guest), check_in.c_str(),
                  check_out.c_str());
    http_request req;
    req.post = true;
    req.target = "/bookings";
    req.authorization = tokens[guest % tokens.size()];
    req.body = body;
    req.idempotency_key = "sim-" + cfg.run_id + "-" + std::to_string(k);
    led.on_submitted(k, now);
    ++in_flight;
    pool.submit(
      std::move(req),
      [this, k](http_result& r) {
        --in_flight;
        answered(k, r);
      },
      [this, k] { led.on_written(k, now_us()); });
  }

  void answered(uint64_t k, http_result& r) {
    booking_answer a;
    a.status = r.status;
    a.error = std::move(r.error);
    a.queued_us = r.queued.count();
    if (r.status == 201) {
      auto j = nlohmann::json::parse(r.body, nullptr, false);
      if (j.is_object()) {
        auto n = j.find("notification");
        if (n != j.end() && n->is_object() && n->contains("id")
            && (*n)["id"].is_number_unsigned())
          a.nid = (*n)["id"].get<uint64_t>();
        auto b = j.find("booking");
        if (b != j.end() && b->is_object() && b->contains("id")
            && (*b)["id"].is_string())
          a.booking_id = (*b)["id"].get<std::string>();
      }
    }
    led.on_booking_answer(k, now_us(), std::move(a));
  }
};

guests::guests(boost::asio::io_context& io, const sim_config& cfg,
               http_pool& pool, ledger& led, std::vector<std::string> tokens)
  : d_(std::make_unique<impl>(io, cfg, pool, led, std::move(tokens))) {}

guests::~guests() = default;

void guests::start(int64_t t0_us) {
  auto& led = d_->led;
  auto total = planned_bookings(d_->cfg);
  d_->total = total;
  led.bookings.resize(total);
  uint64_t rng = d_->cfg.seed;
  auto n_hosts = led.hosts.size();
  for (uint64_t k = 0; k < total; ++k) {
    auto& b = led.bookings[k];
    b.sched_us = t0_us + static_cast<int64_t>(static_cast<double>(k) * 1e6
                                              / d_->cfg.rate);
    b.host = static_cast<uint32_t>(next_random(rng) % n_hosts);
  }
  d_->arm();
}

void guests::stop() {
  d_->stopped = true;
  d_->timer.cancel();
}

bool guests::done_sending() const {
  return d_->stopped || d_->next >= d_->total;
}

std::size_t guests::in_flight() const {
  return d_->in_flight;
}

} // namespace bellhop::sim
