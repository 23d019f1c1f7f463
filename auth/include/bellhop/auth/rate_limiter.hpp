// Token buckets keyed by principal (or client address), in a fixed number
// of shards, each behind its own mutex: two reactor threads rarely touch the
// same shard. Memory is bounded: a shard that grows past its cap drops the
// buckets that have refilled (they hold no information).
#pragma once

#include <array>
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace bellhop::auth {

class rate_limiter {
public:
  /// `rate` tokens per second, at most `burst` saved up. rate 0: no limit.
  rate_limiter(double rate, double burst);

  /// Takes a token for `key`. Returns 0 when allowed, else the whole
  /// seconds to wait before a token is there (the Retry-After value).
  int take(const std::string& key);

  bool enabled() const {
    return rate_ > 0;
  }

private:
  struct bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  struct shard {
    std::mutex mtx;
    std::unordered_map<std::string, bucket> buckets;
  };
  static constexpr std::size_t shard_count = 16;
  static constexpr std::size_t shard_cap = 16384;

  void evict(shard& s, std::chrono::steady_clock::time_point now);

  double rate_;
  double burst_;
  std::array<shard, shard_count> shards_;
};

} // namespace bellhop::auth
