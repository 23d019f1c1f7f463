// Where each online host stood before the run: one
// `GET /notifications/count` per host, read after the preflight and before
// any device connects or any booking is sent. Its latestId is the host's
// baseline (host_info::synced_at): notifications up to it predate the run,
// so no socket is owed them, and the host's devices catch up from it with
// `after=` (so a device whose first socket failed still gets every
// booking, and one that never gets it counts as missed).
#pragma once

#include <functional>
#include <string>

namespace bellhop::sim {

class http_pool;
class ledger;

/// Reads every online host's count into its synced_at, then calls `done`
/// with "" or the first failure ("host s1-h0: HTTP 401").
void read_baselines(http_pool& rest, ledger& led,
                    std::function<void(const std::string& error)> done);

} // namespace bellhop::sim
