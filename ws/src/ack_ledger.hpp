// The notifications written on one session and not acked yet, exactly: an
// ack counts (is passed on, audited, exempt from the flood check) only when
// it takes an id out of here, so once per notification the session wrote.
// A session writes each id once and in increasing order, and a host's ids
// are consecutive, so the ids are kept as runs of consecutive ids: a client
// that acks nothing, or acks in order, costs one run (16 bytes), however
// many it was sent. Only acks out of order (or ids the host skipped) split
// runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bellhop::ws {

class ack_ledger {
public:
  /// Runs kept at most (64 KiB). Past it the oldest run is forgotten: the
  /// late acks of its ids no longer count, so an ack is never counted
  /// twice. Reaching it takes thousands of acks out of order, or of ids
  /// the host skipped (a failed commit), while none of the older is acked.
  static constexpr std::size_t max_runs = 4096;

  /// `id` was written. Ids must grow; one that does not is ignored.
  void written(uint64_t id);
  /// True, once, for an id written and not taken yet. O(log runs) to find,
  /// O(runs) when it splits a run.
  bool take(uint64_t id);

  bool empty() const {
    return runs_.empty();
  }
  std::size_t runs() const {
    return runs_.size();
  }

private:
  struct run {
    uint64_t first;
    uint64_t last;  ///< inclusive
  };
  void trim();

  std::vector<run> runs_;  ///< sorted, disjoint, oldest first
};

} // namespace bellhop::ws
