// The hosts' counts before the run (see baseline.hpp). The requests share
// the hosts' pool (--host-connections), so a thousand hosts take a
// thousand short requests on 32 connections.
#include "baseline.hpp"

#include <memory>

#include <nlohmann/json.hpp>

#include "clock.hpp"
#include "http_pool.hpp"
#include "ledger.hpp"

namespace bellhop::sim {

namespace {

/// What the reads share until the last one has answered.
struct pending_reads {
  std::size_t left = 0;
  std::string error;  ///< the first failure
  std::function<void(const std::string&)> done;
};

} // namespace

void read_baselines(http_pool& rest, ledger& led,
                    std::function<void(const std::string& error)> done) {
  auto state = std::make_shared<pending_reads>();
  state->done = std::move(done);
  for (auto& h : led.hosts)
    state->left += h.online ? 1 : 0;
  if (state->left == 0) {
    state->done("");
    return;
  }
  for (auto& host : led.hosts) {
    if (!host.online)
      continue;
    http_request req;
    req.target = "/notifications/count";
    req.authorization = "Bearer " + host.token;
    auto* h = &host;  // led.hosts is not resized during a run
    rest.submit(std::move(req), [state, h, &led](http_result& r) {
      // For the run's give-up rule, which watches these reads too.
      led.on_reply(now_us(), r.status, r.error);
      auto j = nlohmann::json::parse(r.body, nullptr, false);
      if (r.status == 200 && j.is_object() && j.contains("latestId")
          && j["latestId"].is_number_unsigned())
        h->synced_at = j["latestId"].get<uint64_t>();
      else if (state->error.empty())
        state->error = "host " + h->id + ": "
                       + (r.status == 0 ? r.error
                                        : "HTTP " + std::to_string(r.status));
      if (--state->left == 0)
        state->done(state->error);
    });
  }
}

} // namespace bellhop::sim
