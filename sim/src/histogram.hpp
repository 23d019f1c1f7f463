// An HDR-style latency histogram: fixed memory (35 KiB), values in
// microseconds, log-linear buckets. Values below 256 us are exact; above,
// each power of two is split into 128 equal buckets, so a percentile is
// within 0.8 % of the true value. Recording is O(1); a percentile walks
// the buckets (O(buckets), about 4,500). Not thread-safe: one owner.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace bellhop::sim {

class histogram {
public:
  /// Largest value kept apart; larger ones count as this (about 12 days).
  static constexpr uint64_t max_value = (uint64_t{1} << 40) - 1;

  void record(uint64_t us, uint64_t n = 1);
  void merge(const histogram& other);
  void reset();

  uint64_t count() const {
    return count_;
  }
  uint64_t min() const {
    return count_ == 0 ? 0 : min_;
  }
  uint64_t max() const {
    return max_;
  }
  double mean() const;

  /// The value at or below which `p` percent of the values lie (the upper
  /// end of that value's bucket, never above max()); 0 when empty.
  uint64_t percentile(double p) const;

  /// One non-empty bucket: values in [low, high], `n` of them.
  struct bucket {
    uint64_t low, high, n;
  };
  std::vector<bucket> buckets() const;

  // Layout, public for tests.
  static constexpr int sub_bits = 8;  // 256 exact values, then 128/octave
  static constexpr std::size_t index_of(uint64_t v);
  static uint64_t low_of(std::size_t index);
  static uint64_t high_of(std::size_t index);

private:
  static constexpr uint64_t exact = uint64_t{1} << sub_bits;   // 256
  static constexpr uint64_t half = exact / 2;                  // 128
  static constexpr std::size_t size = exact + (40 - sub_bits) * half;
  std::array<uint64_t, size> counts_{};
  uint64_t count_ = 0;
  uint64_t min_ = 0;
  uint64_t max_ = 0;
  double sum_ = 0;
};

constexpr std::size_t histogram::index_of(uint64_t v) {
  if (v > max_value)
    v = max_value;
  if (v < exact)
    return static_cast<std::size_t>(v);
  // v has its top bit at `top` >= sub_bits: keep its sub_bits leading bits.
  int top = 63 - __builtin_clzll(v);
  int shift = top - sub_bits + 1;                // >= 1
  uint64_t sub = v >> shift;                     // in [half, exact)
  return static_cast<std::size_t>(exact + (shift - 1) * half + (sub - half));
}

} // namespace bellhop::sim
