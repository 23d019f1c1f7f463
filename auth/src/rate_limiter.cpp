// Token-bucket rate limiting.
#include "bellhop/auth/rate_limiter.hpp"

#include "bellhop/telemetry/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

namespace bellhop::auth {

rate_limiter::rate_limiter(double rate, double burst)
  : rate_(rate), burst_(std::max(burst, 1.0)) {
}

int rate_limiter::take(const std::string& key) {
  if (rate_ <= 0)
    return 0;
  auto now = std::chrono::steady_clock::now();
  auto& s = shards_[std::hash<std::string>{}(key) % shard_count];
  std::lock_guard<std::mutex> guard{s.mtx};
  auto [it, fresh] = s.buckets.try_emplace(key, bucket{burst_, now});
  auto& b = it->second;
  if (!fresh) {
    std::chrono::duration<double> dt = now - b.at;
    b.tokens = std::min(burst_, b.tokens + dt.count() * rate_);
    b.at = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    if (fresh && s.buckets.size() > shard_cap)
      evict(s, now);
    return 0;
  }
  telemetry::metrics().rate_limited.inc();
  return std::max(1, static_cast<int>(std::ceil((1 - b.tokens) / rate_)));
}

void rate_limiter::evict(shard& s, std::chrono::steady_clock::time_point now) {
  for (auto i = s.buckets.begin(); i != s.buckets.end();) {
    std::chrono::duration<double> dt = now - i->second.at;
    if (i->second.tokens + dt.count() * rate_ >= burst_)
      i = s.buckets.erase(i);
    else
      ++i;
  }
}

} // namespace bellhop::auth
