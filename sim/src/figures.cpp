// The figures document (see figures.hpp).
#include "figures.hpp"

#include <algorithm>

#include "histogram.hpp"
#include "ledger.hpp"
#include "verify.hpp"

namespace bellhop::sim {

namespace {

using ojson = nlohmann::ordered_json;

/// Bookings named in full in the JSON when something is wrong.
constexpr std::size_t max_named = 1000;

ojson summary_of(const histogram& h) {
  return ojson{{"count", h.count()},      {"min", h.min()},
               {"mean", h.mean()},        {"p50", h.percentile(50)},
               {"p90", h.percentile(90)}, {"p99", h.percentile(99)},
               {"p999", h.percentile(99.9)}, {"max", h.max()}};
}

ojson buckets_of(const histogram& h) {
  auto out = ojson::array();
  for (auto& b : h.buckets())
    out.push_back(ojson::array({b.low, b.high, b.n}));
  return out;
}

template <class Map>
ojson map_of(const Map& m) {
  auto out = ojson::object();
  for (auto& [k, v] : m) {
    if constexpr (std::is_same_v<std::decay_t<decltype(k)>, int>)
      out[std::to_string(k)] = v;
    else
      out[k] = v;
  }
  return out;
}

ojson named(const ledger& led, const std::vector<uint64_t>& ks) {
  auto out = ojson::array();
  for (std::size_t i = 0; i < ks.size() && i < max_named; ++i) {
    const auto& b = led.bookings[ks[i]];
    out.push_back({{"hostId", led.hosts[b.host].id},
                   {"roomId", "r-" + std::to_string(ks[i])},
                   {"bookingId", b.booking_id},
                   {"notificationId", b.nid},
                   {"stored", b.stored}});
  }
  return out;
}

double per_s(uint64_t n, double seconds) {
  return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
}

/// From `first_us` to `last_us` (0: never), at least `floor_s`.
double span_seconds(int64_t first_us, int64_t last_us, double floor_s) {
  auto span = first_us != 0 ? static_cast<double>(last_us - first_us) / 1e6
                            : 0.0;
  return std::max(span, floor_s);
}

double share(uint64_t n, uint64_t of) {
  return of > 0 ? static_cast<double>(n) / static_cast<double>(of) : 0.0;
}

/// A latency of one second of the series: null when nothing was measured.
ojson sample(uint64_t n, uint64_t us) {
  return n > 0 ? ojson(us) : ojson(nullptr);
}

} // namespace

ojson make_figures(const sim_config& cfg, const ledger& led, const verdict* v,
                   const run_info& info) {
  ojson f;
  f["config"] = {{"http", cfg.http_url},
                 {"ws", cfg.ws_url},
                 {"hosts", cfg.hosts},
                 {"online", cfg.online},
                 {"onlineHosts", info.online_hosts},
                 {"devicesPerHost", cfg.devices_per_host},
                 {"devices", info.devices},
                 {"rate", cfg.rate},
                 {"durationS", cfg.duration_s},
                 {"guests", cfg.guests},
                 {"bookAs", cfg.book_as_service ? "service" : "guest"},
                 {"pollMs", cfg.poll_ms},
                 {"rampMs", cfg.ramp_ms},
                 {"drainMs", cfg.drain_ms},
                 {"timeoutMs", cfg.timeout_ms},
                 {"giveUpMs", cfg.give_up_ms},
                 {"verify", cfg.verify},
                 {"connections", cfg.connections},
                 {"hostConnections", cfg.host_connections},
                 {"seed", cfg.seed},
                 {"runId", cfg.run_id}};

  // Delivery of the bookings accepted for online hosts.
  uint64_t online_accepted = 0, offline_accepted = 0, live = 0, caught_up = 0;
  uint64_t unseen = 0, rest_only = 0, lost_online = 0, redelivered = 0;
  uint64_t wrong_ids = 0;  // came on a socket under another id than the 201's
  uint64_t missed = 0;     // not seen, though a socket was owed it
  for (const auto& b : led.bookings) {
    if (b.status != 201)
      continue;
    if (b.socket_nid != 0 && b.socket_nid != b.nid)
      ++wrong_ids;
    if (!led.hosts[b.host].online) {
      ++offline_accepted;
      continue;
    }
    ++online_accepted;
    if (b.how == seen_how::live)
      ++live;
    else if (b.how == seen_how::catch_up)
      ++caught_up;
    else {
      ++unseen;
      // Owed to a socket unless it came before every device's first hello
      // (a 201 without an id is owed: it is not the contract's answer).
      missed += b.nid == 0 || b.nid > led.hosts[b.host].synced_at ? 1 : 0;
      if (v && v->checked) {
        if (b.stored > 0)
          ++rest_only;
        else if (!v->unreadable[b.host])
          ++lost_online;
      }
    }
    if (b.socket_copies > cfg.devices_per_host)
      ++redelivered;
  }

  // Rates: sends over the span of the writes, answers over the span of
  // the answers, each at least the schedule (N bookings at R/s are written
  // (N-1)/R apart: a server that keeps up shows R). The latency of the last
  // answers stays out; a server or pool that falls behind stretches a span
  // and shows as a lower rate.
  double write_seconds = span_seconds(led.first_write_us, led.last_write_us,
                                      info.send_seconds);
  double answer_seconds = span_seconds(led.first_booking_answer_us,
                                       led.last_booking_answer_us,
                                       info.send_seconds);
  double post_mean = led.http_latency.mean();
  double pool_share = post_mean > 0 ? led.pool_queue.mean() / post_mean : 0.0;

  f["run"] = {{"startedAt", info.started_at},
              {"sendSeconds", info.send_seconds},
              {"writeSeconds", write_seconds},
              {"answerSeconds", answer_seconds},
              {"wallSeconds", info.wall_seconds},
              {"simCpuSeconds", info.cpu_seconds},
              {"simCpuShareWhileSending", info.cpu_share_sending},
              {"poolQueueShare", pool_share},
              {"aborted", info.aborted.empty() ? ojson(nullptr)
                                               : ojson(info.aborted)},
              {"ok", false}};

  // Planned even when the run stopped before sending (the ledger's
  // bookings are made when sending starts).
  f["bookings"] = {{"planned", planned_bookings(cfg)},
                   {"sent", led.sent},
                   {"accepted", led.accepted},
                   {"refused", led.refused},
                   {"errors", led.errors},
                   {"targetPerS", cfg.rate},
                   {"sentPerS", per_s(led.sent, write_seconds)},
                   {"acceptedPerS", per_s(led.accepted, answer_seconds)},
                   {"refusedPerS", per_s(led.refused, answer_seconds)},
                   {"refusedByStatus", map_of(led.refused_by_status)},
                   {"errorsByKind", map_of(led.errors_by_kind)},
                   {"acceptedForOnlineHosts", online_accepted},
                   {"acceptedForOfflineHosts", offline_accepted}};

  auto post = summary_of(led.http_latency);
  post["cutOff"] = led.http_cut_off;  // no answer: counted as the time waited
  f["latencyUs"] = {{"post", std::move(post)},
                    {"socketLive", summary_of(led.delivery_live)},
                    {"socketAll", summary_of(led.delivery_all)},
                    {"scheduleLag", summary_of(led.schedule_lag)},
                    {"poolQueue", summary_of(led.pool_queue)}};

  f["delivery"] = {
    {"acceptedForOnlineHosts", online_accepted},
    {"live", live},
    {"caughtUp", caught_up},
    {"notSeenOnSocket", unseen},
    {"missedOnSocket", missed},
    {"restOnly", v && v->checked ? ojson(rest_only) : ojson(nullptr)},
    {"lost", v && v->checked ? ojson(lost_online) : ojson(nullptr)},
    {"fellBackToPolling", caught_up + unseen},
    {"realtimeShare", share(live, online_accepted)},
    {"fellBackShare", share(caught_up + unseen, online_accepted)},
    {"redelivered", redelivered}};

  f["sockets"] = {{"connects", led.ws_connects},
                  {"opened", led.ws_opened},
                  {"failed", led.ws_failed},
                  {"failures", map_of(led.ws_failures)},
                  {"closesByCode", map_of(led.ws_closes)},
                  {"frames", led.frames},
                  {"events", led.events},
                  {"acks", led.acks},
                  {"acksDeferred", led.acks_deferred},
                  {"duplicateFrames", led.duplicate_frames},
                  {"misrouted", led.misrouted},
                  {"wrongIds", wrong_ids},
                  {"errorEvents", led.error_events},
                  {"problems", led.socket_problems}};

  f["polls"] = {{"sent", led.polls},
                {"notModified", led.polls_not_modified},
                {"unchanged", led.polls_unchanged},
                {"news", led.polls_news},
                {"errors", led.poll_errors}};

  if (v == nullptr) {
    f["verify"] = {{"checked", false}, {"skipped", !cfg.verify}, {"ok", false}};
  } else {
    f["verify"] = {{"checked", v->checked},
                   {"ok", v->ok()},
                   {"hostsChecked", v->hosts_checked},
                   {"items", v->items},
                   {"found", v->found},
                   {"missing", v->missing.size()},
                   {"unchecked", v->unchecked},
                   {"duplicated", v->duplicated.size()},
                   {"mismatched", v->mismatched.size()},
                   {"refusedButStored", v->refused_but_stored.size()},
                   {"storedUnanswered", v->stored_unanswered},
                   {"misplaced", v->misplaced},
                   {"foreign", v->foreign},
                   {"hostErrors", v->host_errors},
                   {"missingBookings", named(led, v->missing)},
                   {"duplicatedBookings", named(led, v->duplicated)},
                   {"mismatchedBookings", named(led, v->mismatched)},
                   {"refusedButStoredBookings",
                    named(led, v->refused_but_stored)}};
  }

  auto series = ojson::array();
  for (const auto& p : led.series)
    series.push_back({{"t", p.t},
                      {"scheduled", p.scheduled},
                      {"sent", p.sent},
                      {"accepted", p.accepted},
                      {"refused", p.refused},
                      {"errors", p.errors},
                      {"delivered", p.delivered},
                      {"postP50Us", sample(p.http_n, p.http_p50)},
                      {"postP99Us", sample(p.http_n, p.http_p99)},
                      {"postMaxUs", sample(p.http_n, p.http_max)},
                      {"socketP50Us", sample(p.socket_n, p.socket_p50)},
                      {"socketP99Us", sample(p.socket_n, p.socket_p99)},
                      {"socketMaxUs", sample(p.socket_n, p.socket_max)},
                      {"openSockets", p.open_sockets}});
  f["series"] = std::move(series);
  f["histogramsUs"] = {{"post", buckets_of(led.http_latency)},
                       {"socketAll", buckets_of(led.delivery_all)}};

  f["run"]["ok"] = figures_ok(f);
  return f;
}

bool figures_ok(const ojson& f) {
  const auto& run = f["run"];
  if (!run["aborted"].is_null())
    return false;
  // Every booking must be taken (a refusal or no answer is a booking the
  // platform lost), and every one of an online host must reach a socket,
  // live or by the replay of a reconnect, before the drain time is over.
  const auto& b = f["bookings"];
  if (b.value("refused", 0) > 0 || b.value("errors", 0) > 0)
    return false;
  if (f["delivery"].value("missedOnSocket", 0) > 0)
    return false;
  const auto& v = f["verify"];
  bool skipped = v.value("skipped", false);  // --no-verify
  if (!skipped && (!v.value("checked", false) || !v.value("ok", false)))
    return false;
  const auto& s = f["sockets"];
  return s.value("duplicateFrames", 0) == 0 && s.value("misrouted", 0) == 0
         && s.value("wrongIds", 0) == 0;
}

} // namespace bellhop::sim
