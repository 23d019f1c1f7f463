// A host actor's email fallback (§7): which notifications wait for an
// email, the timer that finds them due, digests, and the preferences that
// decide it all. Waits are durable (the `waits` table, written with the
// notification), so a restart resumes them; the host actor keeps a copy in
// `waits` and one timer for the earliest due time. Nothing sleeps.
//
// Clocks: a delay is an interval, so in memory every deadline (waits, the
// digest window, the timer) is on the actor clock, which is steady; a step
// of the wall clock moves none of them. Only the durable copy is wall-clock
// time, the one thing that outlives the process; loading it caps what is
// left of each wait at its longest window (load_email_state).
#include <algorithm>
#include <chrono>

#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "bellhop/actors/errors.hpp"
#include "bellhop/storage/tables.hpp"
#include "host_actor.hpp"
#include "write_ops.hpp"

namespace bellhop {

namespace {

/// How long a digest gathers after its first notification fell due: the
/// delay, at least 1 s (§7).
std::chrono::milliseconds digest_window(uint32_t delay_seconds) {
  return std::chrono::milliseconds(
    std::max<int64_t>(1000, int64_t{delay_seconds} * 1000));
}

/// Arms the email timer for the earliest thing that can happen next.
void schedule(host_self self) {
  auto& st = self->state;
  std::optional<steady_time> next;
  if (!st.waits.empty()) {
    auto earliest = std::min_element(
      st.waits.begin(), st.waits.end(),
      [](auto& a, auto& b) { return a.second < b.second; });
    next = earliest->second;
  }
  if (st.digest_until && (!next || *st.digest_until < *next))
    next = st.digest_until;
  // A timer armed for no later than `next` will tick then and re-arm: it is
  // on the steady clock, so no clock step can have put it off.
  if (!next || (st.tick_at && *st.tick_at <= *next))
    return;
  st.tick_at = next;
  // An earlier time replaces the armed timer, which CAF cannot cancel: its
  // message comes all the same and is ignored.
  self->scheduled_send(self, *next, email_atom::value, ++st.tick_timer);
}

void submit_due(host_self self, std::vector<uint64_t> ids) {
  auto& st = self->state;
  std::sort(ids.begin(), ids.end());
  auto op = std::make_unique<email_due_op>();
  op->host = caf::actor_cast<host_actor>(self);
  op->token = st.next_token++;
  op->host_id = st.host_id;
  op->ids = std::move(ids);
  op->to = st.prefs.email.value_or("");
  st.email_ops.emplace(op->token, op->ids);
  st.store->submit(std::move(op));
}

} // namespace

void load_email_state(host_self self) {
  auto& st = self->state;
  auto txn = st.store->begin_read();
  auto t = txn.ref();
  if (auto doc = storage::get(t, t.db->prefs, st.host_id))
    st.prefs = preferences::from_json(*doc);
  // A stored due time is wall-clock ms. What is left of it is kept, but
  // never more than the longest window a wait can have: a due time set by
  // a clock that ran ahead (or read by one that runs behind) must not hold
  // the email back for the size of that error.
  auto wall = epoch_ms(std::chrono::system_clock::now());
  auto now = self->clock().now();
  auto longest = std::max<int64_t>(st.cfg.ack_timeout.count(),
                                   int64_t{st.prefs.email_delay_seconds} * 1000);
  auto prefix = storage::host_prefix(st.host_id);
  storage::cursor cur{t, t.db->waits};
  for (bool ok = cur.seek(prefix); ok; ok = cur.next()) {
    if (!storage::has_prefix(cur.key(), prefix, 8))
      break;
    auto due = std::strtoll(std::string{cur.value()}.c_str(), nullptr, 10);
    auto left = std::clamp<int64_t>(due - wall, 0, longest);
    st.waits.emplace(storage::note_key_id(cur.key()),
                     now + std::chrono::milliseconds(left));
  }
  schedule(self);
}

std::optional<std::chrono::milliseconds> email_wait_for(host_self self,
                                                        category cat) {
  auto& st = self->state;
  auto& ch = st.prefs.of(cat);
  if (!ch.email || !st.prefs.email || !st.cfg.mailer)
    return std::nullopt;
  // A live device gets the ack timeout to confirm; with none, no wait.
  int64_t ack_window = ch.realtime && !st.sessions.empty()
                         ? st.cfg.ack_timeout.count()
                         : 0;
  int64_t delay = int64_t{st.prefs.email_delay_seconds} * 1000;
  return std::chrono::milliseconds(std::max(ack_window, delay));
}

void on_wait_committed(host_self self, uint64_t id, steady_time due,
                       bool pushed) {
  auto& st = self->state;
  // The due time was set when the write was asked for. A session that
  // joined before the commit got the push all the same, and it gets its
  // ack window from now (the durable wait keeps the earlier time: after a
  // restart no session is left to ack).
  if (pushed)
    due = std::max(due, self->clock().now() + st.cfg.ack_timeout);
  st.waits.emplace(id, due);
  schedule(self);
}

void on_email_tick(host_self self) {
  auto& st = self->state;
  st.tick_at.reset();
  auto now = self->clock().now();
  std::vector<uint64_t> due;
  for (auto i = st.waits.begin(); i != st.waits.end();) {
    if (i->second <= now) {
      due.push_back(i->first);
      i = st.waits.erase(i);
    } else {
      ++i;
    }
  }
  if (!st.prefs.digest) {
    // A digest window left open when the host turned digests off goes out
    // now, one email each.
    due.insert(due.end(), st.digest_ids.begin(), st.digest_ids.end());
    st.digest_ids.clear();
    st.digest_until.reset();
    for (auto id : due)
      submit_due(self, {id});
  } else {
    // A digest gathers everything that falls due within the delay (at
    // least 1 s) of the first one.
    st.digest_ids.insert(st.digest_ids.end(), due.begin(), due.end());
    if (!st.digest_until && !st.digest_ids.empty())
      st.digest_until = now + digest_window(st.prefs.email_delay_seconds);
    if (st.digest_until && now >= *st.digest_until) {
      submit_due(self, std::move(st.digest_ids));
      st.digest_ids.clear();
      st.digest_until.reset();
    }
  }
  schedule(self);
}

void on_email_committed(host_self self, commit_done& msg) {
  auto& st = self->state;
  auto i = st.email_ops.find(msg.token);
  if (i == st.email_ops.end())
    return;
  auto ids = std::move(i->second);
  st.email_ops.erase(i);
  if (static_cast<op_outcome>(msg.outcome) != op_outcome::committed) {
    // Nothing was written: the durable waits are still there. Try again
    // in a second (the store may have room by then).
    auto again = self->clock().now() + std::chrono::seconds(1);
    for (auto id : ids)
      st.waits.emplace(id, again);
    schedule(self);
    return;
  }
  if (msg.email_first > 0 && st.cfg.mailer)
    caf::anon_send(st.cfg.mailer, email_job{st.host_id, msg.email_first, 0});
}

void record_ack(storage::store& st, const ack_msg& a, router_actor router) {
  auto op = std::make_unique<audit_op>();
  op->host_id = a.host_id;
  op->rewrite_to = std::move(router);
  op->ack = a;
  if (!a.audited)
    op->entries.push_back(
      audit_entry{a.host_id, a.id, "acked", a.by.empty() ? a.host_id : a.by,
                  a.via, a.session_id});
  // Whatever the host actor still holds: an email due now finds no wait
  // (email_due_op) and is not sent.
  op->drop_waits.push_back(a.id);
  if (!a.rewrite)
    telemetry::metrics().delivery(channel_of(a.via), telemetry::result::acked);
  st.submit(std::move(op));
}

void on_ack(host_self self, const ack_msg& a) {
  auto& st = self->state;
  // The durable part was done by the router (record_ack): here the email
  // timer forgets it. Acked in time: the email is off.
  st.waits.erase(a.id);
  auto d = std::find(st.digest_ids.begin(), st.digest_ids.end(), a.id);
  if (d != st.digest_ids.end()) {
    st.digest_ids.erase(d);
    if (st.digest_ids.empty())
      st.digest_until.reset();  // the next one due opens a window of its own
  }
  // A session that subscribed between a notification's commit and the
  // commit's answer to this actor got it in its replay and may ack it
  // before the wait exists here: the wait in memory is never made
  // (finish_create).
  for (auto& [token, pending] : st.creates)
    if (pending.frame.id == a.id)
      pending.acked = true;
}

void forget_waits(host_self self, const std::vector<uint64_t>& ids) {
  auto& st = self->state;
  for (auto id : ids) {
    st.waits.erase(id);
    st.digest_ids.erase(std::remove(st.digest_ids.begin(), st.digest_ids.end(), id),
                        st.digest_ids.end());
  }
  if (st.digest_ids.empty())
    st.digest_until.reset();  // the next one due opens a window of its own
}

caf::result<std::string> on_preferences(host_self self, preferences_put& p) {
  auto& st = self->state;
  auto op = std::make_unique<preferences_op>();
  op->host = caf::actor_cast<host_actor>(self);
  op->token = st.next_token++;
  op->host_id = st.host_id;
  op->doc = p.doc;
  auto rp = self->make_response_promise<std::string>();
  st.prefs_puts.emplace(op->token, std::make_pair(rp, p.doc));
  st.store->submit(std::move(op));
  return rp;
}

void on_preferences_committed(host_self self, commit_done& msg) {
  auto& st = self->state;
  auto i = st.prefs_puts.find(msg.token);
  if (i == st.prefs_puts.end())
    return;
  auto [rp, doc] = std::move(i->second);
  st.prefs_puts.erase(i);
  if (static_cast<op_outcome>(msg.outcome) != op_outcome::committed) {
    rp.deliver(make_error(ec::unavailable, "storage failed"));
    return;
  }
  auto before = st.prefs.email_delay_seconds;
  st.prefs = preferences::from_json(doc);
  if (st.prefs.email_delay_seconds != before
      && (!st.waits.empty() || st.digest_until)) {
    // The emails still waiting follow the new delay. Their durable due
    // times keep the old one, which a restart goes back to. A live device
    // keeps a whole ack window from now: a notification just pushed to it
    // may be acked yet (§7).
    auto shift = std::chrono::seconds(int64_t{st.prefs.email_delay_seconds}
                                      - int64_t{before});
    auto floor = self->clock().now()
                 + (st.sessions.empty() ? std::chrono::milliseconds(0)
                                        : st.cfg.ack_timeout);
    for (auto& w : st.waits)
      w.second = std::max(w.second + shift, std::min(w.second, floor));
    // An open digest window (its notifications are due already) moves by
    // the difference of the windows' lengths (each at least 1 s).
    if (st.digest_until) {
      auto window_shift = digest_window(st.prefs.email_delay_seconds)
                          - digest_window(before);
      auto& until = *st.digest_until;
      until = std::max(until + window_shift, std::min(until, floor));
    }
    st.tick_at.reset();  // re-armed for the new earliest time
    schedule(self);
  }
  rp.deliver(std::move(doc));
}

} // namespace bellhop
