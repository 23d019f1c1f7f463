// The session's ledger of notifications awaiting their ack (see
// ack_ledger.hpp).
#include "ack_ledger.hpp"

#include <algorithm>

namespace bellhop::ws {

void ack_ledger::written(uint64_t id) {
  if (!runs_.empty()) {
    auto& newest = runs_.back();
    if (id <= newest.last)
      return;
    if (id == newest.last + 1) {
      newest.last = id;
      return;
    }
  }
  runs_.push_back(run{id, id});
  trim();
}

bool ack_ledger::take(uint64_t id) {
  // The first run that starts after id; the one before may hold it.
  auto i = std::upper_bound(runs_.begin(), runs_.end(), id,
                            [](uint64_t v, const run& r) {
                              return v < r.first;
                            });
  if (i == runs_.begin())
    return false;
  --i;
  if (id > i->last)
    return false;
  if (i->first == i->last) {
    runs_.erase(i);
  } else if (id == i->first) {
    ++i->first;
  } else if (id == i->last) {
    --i->last;
  } else {
    auto tail = run{id + 1, i->last};
    i->last = id - 1;
    runs_.insert(i + 1, tail);
    trim();
  }
  return true;
}

void ack_ledger::trim() {
  if (runs_.size() > max_runs)
    runs_.erase(runs_.begin());
}

} // namespace bellhop::ws
