// The latency histogram (see histogram.hpp).
#include "histogram.hpp"

#include <algorithm>
#include <cmath>

namespace bellhop::sim {

uint64_t histogram::low_of(std::size_t index) {
  if (index < exact)
    return index;
  auto shift = (index - exact) / half + 1;
  auto sub = (index - exact) % half + half;
  return sub << shift;
}

uint64_t histogram::high_of(std::size_t index) {
  if (index < exact)
    return index;
  auto shift = (index - exact) / half + 1;
  auto sub = (index - exact) % half + half;
  return ((sub + 1) << shift) - 1;
}

void histogram::record(uint64_t us, uint64_t n) {
  if (n == 0)
    return;
  if (us > max_value)
    us = max_value;
  counts_[index_of(us)] += n;
  if (count_ == 0 || us < min_)
    min_ = us;
  max_ = std::max(max_, us);
  count_ += n;
  sum_ += static_cast<double>(us) * static_cast<double>(n);
}

void histogram::merge(const histogram& other) {
  if (other.count_ == 0)
    return;
  for (std::size_t i = 0; i < size; ++i)
    counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

void histogram::reset() {
  counts_.fill(0);
  count_ = min_ = max_ = 0;
  sum_ = 0;
}

double histogram::mean() const {
  return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_);
}

uint64_t histogram::percentile(double p) const {
  if (count_ == 0)
    return 0;
  p = std::clamp(p, 0.0, 100.0);
  // The rank of the wanted value, 1-based: the smallest value with at
  // least p % of the values at or below it. The tiny margin keeps a
  // rounding error (99.9 / 100 * 10000 = 9990.000000000002) from moving
  // the rank to the next value.
  double exact_rank = p / 100.0 * static_cast<double>(count_);
  auto rank = static_cast<uint64_t>(std::ceil(exact_rank * (1 - 1e-12)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (std::size_t i = 0; i < size; ++i) {
    seen += counts_[i];
    if (seen >= rank)
      return std::clamp(high_of(i), min_, max_);
  }
  return max_;
}

std::vector<histogram::bucket> histogram::buckets() const {
  std::vector<bucket> out;
  for (std::size_t i = 0; i < size; ++i)
    if (counts_[i] > 0)
      out.push_back({low_of(i), high_of(i), counts_[i]});
  return out;
}

} // namespace bellhop::sim
