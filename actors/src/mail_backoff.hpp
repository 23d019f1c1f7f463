// The mailer's retry schedule (API.md §7): the first retry within 1 s, then
// doubling, never more than 30 s apart.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace bellhop {

/// How long to wait before the retry that follows failed attempt number
/// `attempt` (0 for the first send): 500 ms, 1 s, 2 s, ... capped at 30 s.
inline std::chrono::milliseconds mail_backoff(uint32_t attempt) {
  auto ms = 500LL << std::min<uint32_t>(attempt, 16);
  return std::chrono::milliseconds(std::min<long long>(ms, 30'000));
}

} // namespace bellhop
