// The end-of-run check: reads every host's notifications by REST
// (`GET /notifications/list?after=0`, then `nextCursor`, 100 at a time)
// and matches them to the bookings by roomId. Every booking answered
// `201` must be stored exactly once, under the notification id its 201
// named, in its host's list; nothing refused may be stored.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace bellhop::sim {

class http_pool;
class ledger;

struct verdict {
  bool checked = false;          ///< the check ran to its end
  uint64_t hosts_checked = 0;
  std::vector<std::string> host_errors;  ///< hosts whose list was unreadable
  uint64_t items = 0;            ///< notifications read
  uint64_t found = 0;            ///< accepted bookings stored exactly once
  std::vector<uint64_t> missing;     ///< 201 but not stored: lost
  /// 201s not found in lists that could not be read to their end: neither
  /// found nor lost.
  uint64_t unchecked = 0;
  std::vector<bool> unreadable;  ///< by host: its list was not read whole
  std::vector<uint64_t> duplicated;  ///< stored more than once
  std::vector<uint64_t> mismatched;  ///< stored under another id than the 201's
  std::vector<uint64_t> refused_but_stored;
  uint64_t stored_unanswered = 0;  ///< stored, but its answer never came
  uint64_t misplaced = 0;        ///< in another host's list than booked
  uint64_t foreign = 0;          ///< not a booking of this run

  /// Nothing lost, duplicated, misplaced, and every list was read.
  bool ok() const;
};

class verifier {
public:
  verifier(http_pool& rest, ledger& led);
  ~verifier();
  /// Reads every host's list, then calls `done` (on the io thread). Every
  /// HTTP answer and transport error goes to the ledger, so that a run
  /// gives up on a server that stops answering here too.
  void start(std::function<void()> done);
  /// Hosts whose lists are still being read.
  std::size_t pending() const;
  /// Valid once `done` was called.
  const verdict& result() const;

private:
  struct impl;
  std::unique_ptr<impl> d_;
};

} // namespace bellhop::sim
