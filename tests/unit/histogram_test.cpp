// The simulator's latency histogram: bucket layout and percentiles.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>

#include "histogram.hpp"

using bellhop::sim::histogram;

namespace {

/// Percentile of a sorted vector, by the same rank rule as the histogram.
uint64_t exact_percentile(const std::vector<uint64_t>& sorted, double p) {
  auto rank = static_cast<std::size_t>(std::round(
    p * static_cast<double>(sorted.size()) / 100.0 + 0.4999999));
  rank = std::max<std::size_t>(rank, 1);
  return sorted[rank - 1];
}

} // namespace

TEST_CASE("buckets tile the value range without gaps") {
  uint64_t expect_low = 0;
  for (std::size_t i = 0; i < histogram::index_of(histogram::max_value) + 1;
       ++i) {
    REQUIRE(histogram::low_of(i) == expect_low);
    REQUIRE(histogram::high_of(i) >= histogram::low_of(i));
    REQUIRE(histogram::index_of(histogram::low_of(i)) == i);
    REQUIRE(histogram::index_of(histogram::high_of(i)) == i);
    expect_low = histogram::high_of(i) + 1;
  }
  REQUIRE(expect_low == histogram::max_value + 1);
}

TEST_CASE("bucket width stays under 1/128 of the value") {
  std::initializer_list<uint64_t> values{256,    1000,    4095,
                                         123456, 9999999, histogram::max_value};
  for (uint64_t v : values) {
    auto i = histogram::index_of(v);
    auto width = histogram::high_of(i) - histogram::low_of(i) + 1;
    REQUIRE(width * 128 <= histogram::low_of(i));
  }
}

TEST_CASE("an empty histogram answers zero") {
  histogram h;
  REQUIRE(h.count() == 0);
  REQUIRE(h.percentile(50) == 0);
  REQUIRE(h.percentile(99.9) == 0);
  REQUIRE(h.max() == 0);
  REQUIRE(h.mean() == 0);
  REQUIRE(h.buckets().empty());
}

TEST_CASE("small values are exact") {
  histogram h;
  for (uint64_t v = 1; v <= 100; ++v)
    h.record(v);
  REQUIRE(h.count() == 100);
  REQUIRE(h.min() == 1);
  REQUIRE(h.max() == 100);
  REQUIRE(h.percentile(50) == 50);
  REQUIRE(h.percentile(90) == 90);
  REQUIRE(h.percentile(99) == 99);
  REQUIRE(h.percentile(99.9) == 100);
  REQUIRE(h.percentile(100) == 100);
  REQUIRE(h.percentile(0) == 1);
  REQUIRE(h.mean() == Approx(50.5));
}

TEST_CASE("one value is every percentile") {
  histogram h;
  h.record(1234567);
  for (double p : {0.0, 50.0, 99.0, 99.9, 100.0})
    REQUIRE(h.percentile(p) == 1234567);  // clamped to min and max
}

TEST_CASE("uniform values: percentiles within 1 %") {
  histogram h;
  for (uint64_t v = 1; v <= 100000; ++v)
    h.record(v);
  REQUIRE(h.percentile(50) == Approx(50000).epsilon(0.01));
  REQUIRE(h.percentile(90) == Approx(90000).epsilon(0.01));
  REQUIRE(h.percentile(99) == Approx(99000).epsilon(0.01));
  REQUIRE(h.percentile(99.9) == Approx(99900).epsilon(0.01));
  REQUIRE(h.percentile(100) == 100000);
  // Never below the true value: a bucket reports its upper end.
  REQUIRE(h.percentile(50) >= 50000);
  REQUIRE(h.percentile(99) >= 99000);
}

TEST_CASE("skewed random values match exact percentiles within 1 %") {
  std::mt19937_64 rng{42};
  std::lognormal_distribution<double> dist{7.0, 1.2};  // ~1 ms, long tail
  histogram h;
  std::vector<uint64_t> all;
  for (int i = 0; i < 200000; ++i) {
    auto v = static_cast<uint64_t>(dist(rng));
    h.record(v);
    all.push_back(v);
  }
  std::sort(all.begin(), all.end());
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    auto truth = static_cast<double>(exact_percentile(all, p));
    auto got = static_cast<double>(h.percentile(p));
    INFO("p" << p << " exact " << truth << " histogram " << got);
    REQUIRE(got >= truth);
    REQUIRE(got <= truth * 1.01 + 1);
  }
  REQUIRE(h.max() == all.back());
  REQUIRE(h.min() == all.front());
}

TEST_CASE("a tail is seen by p99.9 but not by p99") {
  histogram h;
  h.record(1000, 9990);     // 99.9 % at 1 ms
  h.record(500000, 10);     // 0.1 % at 500 ms
  REQUIRE(h.percentile(99) == Approx(1000).epsilon(0.01));
  REQUIRE(h.percentile(99.9) == Approx(1000).epsilon(0.01));
  REQUIRE(h.percentile(99.95) == Approx(500000).epsilon(0.01));
  REQUIRE(h.max() == 500000);
  REQUIRE(h.count() == 10000);
}

TEST_CASE("merge equals recording into one") {
  histogram a, b, both;
  for (uint64_t v = 1; v < 5000; v += 3) {
    a.record(v);
    both.record(v);
  }
  for (uint64_t v = 2000; v < 90000; v += 7) {
    b.record(v);
    both.record(v);
  }
  a.merge(b);
  REQUIRE(a.count() == both.count());
  REQUIRE(a.min() == both.min());
  REQUIRE(a.max() == both.max());
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9})
    REQUIRE(a.percentile(p) == both.percentile(p));
  a.reset();
  REQUIRE(a.count() == 0);
  REQUIRE(a.percentile(50) == 0);
}

TEST_CASE("huge values are clamped, not lost") {
  histogram h;
  h.record(~uint64_t{0});
  h.record(10);
  REQUIRE(h.count() == 2);
  REQUIRE(h.max() == histogram::max_value);
  REQUIRE(h.percentile(100) == histogram::max_value);
}

TEST_CASE("buckets list what was recorded") {
  histogram h;
  h.record(5, 3);
  h.record(100000);
  auto bs = h.buckets();
  REQUIRE(bs.size() == 2);
  REQUIRE(bs[0].low == 5);
  REQUIRE(bs[0].n == 3);
  REQUIRE(bs[1].low <= 100000);
  REQUIRE(bs[1].high >= 100000);
  REQUIRE(bs[1].n == 1);
}
