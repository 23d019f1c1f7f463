// The figures of a run (sim/src/figures.hpp) made from ledgers filled by
// hand: the rates are over the spans of the writes and of the answers, and
// the plan is there even when nothing was sent; and how the summary and the
// report write a duration.
#include <catch2/catch.hpp>

#include "figures.hpp"
#include "ledger.hpp"
#include "svg.hpp"

using namespace bellhop::sim;

namespace {

constexpr int64_t t0 = 1'000'000;

/// 100 bookings due at 50/s from t0, each written when due and answered
/// `answer_at(k)`.
template <class AnswerAt>
nlohmann::ordered_json run_of_100(AnswerAt answer_at) {
  sim_config cfg;
  cfg.rate = 50;
  cfg.duration_s = 2;
  ledger led;
  led.hosts.resize(1);
  led.t0_us = t0;
  led.bookings.resize(100);
  for (uint64_t k = 0; k < 100; ++k) {
    auto due = t0 + static_cast<int64_t>(k) * 20'000;
    led.bookings[k].sched_us = due;
    led.on_submitted(k, due);
    led.on_written(k, due);
    booking_answer a;
    a.status = 201;
    a.nid = k + 1;
    led.on_booking_answer(k, answer_at(k), a);
  }
  run_info info;
  info.send_seconds = cfg.duration_s;
  return make_figures(cfg, led, nullptr, info);
}

} // namespace

TEST_CASE("a server that keeps up shows the rate asked for, however late") {
  // Every answer a second after its booking was due.
  auto f = run_of_100([](uint64_t k) {
    return t0 + static_cast<int64_t>(k) * 20'000 + 1'000'000;
  });
  CHECK(f["bookings"]["sentPerS"].get<double>() == Approx(50));
  CHECK(f["bookings"]["acceptedPerS"].get<double>() == Approx(50));
  CHECK(f["run"]["writeSeconds"].get<double>() == Approx(2));
  CHECK(f["run"]["answerSeconds"].get<double>() == Approx(2));
}

TEST_CASE("a server that falls behind shows a lower rate") {
  // Answers 40 ms apart from 1 s on: 25 a second over 3.96 s.
  auto f = run_of_100([](uint64_t k) {
    return t0 + 1'000'000 + static_cast<int64_t>(k) * 40'000;
  });
  CHECK(f["bookings"]["sentPerS"].get<double>() == Approx(50));
  CHECK(f["bookings"]["acceptedPerS"].get<double>() == Approx(100 / 3.96));
}

TEST_CASE("a run stopped before sending still plans round(R x S)") {
  sim_config cfg;
  cfg.rate = 7;
  cfg.duration_s = 3;
  ledger led;
  run_info info;
  info.aborted = "cannot read the notification count of host h0";
  auto f = make_figures(cfg, led, nullptr, info);
  CHECK(f["bookings"]["planned"].get<uint64_t>() == 21);
  CHECK(f["bookings"]["sent"].get<uint64_t>() == 0);
}

TEST_CASE("durations are written in the unit their printed value needs") {
  using svg::duration_text;
  CHECK(duration_text(999.4) == "999 us");
  CHECK(duration_text(999.7) == "1 ms");
  CHECK(duration_text(1450) == "1.45 ms");
  CHECK(duration_text(999'700) == "1 s");
  CHECK(duration_text(2'500'000) == "2.5 s");
  CHECK(duration_text(1'500'000'000) == "1500 s");
}
