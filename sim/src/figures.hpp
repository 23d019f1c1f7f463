// Every figure of a run as one JSON document: what `--json` writes, and
// what the summary and the HTML report are made from (so the three always
// agree). Field names are documented in docs/simulator.md.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "bellhop/sim/sim.hpp"

namespace bellhop::sim {

class ledger;
struct verdict;

/// Facts about the run that the ledger does not hold.
struct run_info {
  std::string started_at;       ///< RFC 3339 UTC
  double send_seconds = 0;      ///< the booking schedule's length
  double wall_seconds = 0;      ///< the whole run
  double cpu_seconds = 0;       ///< the simulator's CPU time, whole run
  double cpu_share_sending = 0; ///< its CPU time / wall time while sending
  uint64_t devices = 0;
  uint64_t online_hosts = 0;
  std::string aborted;          ///< why the run stopped early ("" = it did not)
};

/// `v` is null when the end-of-run check did not run.
nlohmann::ordered_json make_figures(const sim_config& cfg, const ledger& led,
                                    const verdict* v, const run_info& info);

/// Does the run pass (nothing lost or duplicated, not aborted)?
bool figures_ok(const nlohmann::ordered_json& f);

} // namespace bellhop::sim
