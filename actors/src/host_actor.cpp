// The host actor's behaviour. See host_actor.hpp for what it owns.
#include "host_actor.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <string>

#include <caf/actor_clock.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "bellhop/actors/domain.hpp"
#include "bellhop/actors/errors.hpp"
#include "bellhop/storage/tables.hpp"
#include "bellhop/telemetry/metrics.hpp"
#include "write_ops.hpp"

namespace bellhop {

namespace {

using json = nlohmann::ordered_json;
using self_ptr = host_actor::stateful_pointer<host_state>;

constexpr int64_t idem_lifetime_ms = 24 * 3600 * 1000;

/// The answer to a request whose Idempotency-Key another request holds.
caf::error key_conflict() {
  return make_error(ec::conflict,
                    "Idempotency-Key was already used with another request");
}

void touch(self_ptr self) {
  self->state.received += 1;
  self->state.last_active = self->clock().now();
}

/// The sub of a "role:sub" principal key.
std::string principal_id(const std::string& principal) {
  auto colon = principal.find(':');
  return colon == std::string::npos ? principal : principal.substr(colon + 1);
}

caf::error storage_error(op_outcome o) {
  return make_error(ec::unavailable, o == op_outcome::storage_full
                                       ? "storage is full"
                                       : "storage failed");
}

/// The committed answer for (principal, key), a conflict, or nothing.
/// `out` is set when the key was used before with the same request.
caf::error check_idempotency(self_ptr self, const std::string& key,
                             const std::string& fingerprint,
                             std::optional<created_reply>& out) {
  auto txn = self->state.store->begin_read();
  auto bytes = storage::get(txn.ref(), txn.ref().db->idem, key);
  if (!bytes)
    return caf::none;
  auto rec = idem_record::decode(*bytes);
  if (!rec || rec->expires_ms <= epoch_ms(std::chrono::system_clock::now()))
    return caf::none;
  if (rec->fingerprint != fingerprint)
    return key_conflict();
  out = created_reply{rec->body, rec->location};
  return caf::none;
}

using booking_promise = caf::typed_response_promise<created_reply>;

/// Stays [in, out) that share a night (a check-out day may be a check-in).
bool stays_overlap(const std::string& in_a, const std::string& out_a,
                   const std::string& in_b, const std::string& out_b) {
  return in_a < out_b && in_b < out_a;
}

/// The promise of a request: `given` when the request was parked (its
/// promise made when it came), else a new one for the current message.
booking_promise promise_for(self_ptr self, const booking_promise* given) {
  return given != nullptr ? *given
                          : self->make_response_promise<created_reply>();
}

/// True when [in, out) overlaps a stay of the room not committed yet.
bool overlaps_pending(self_ptr self, const booking_request& r) {
  auto i = self->state.stays.find(r.room_id);
  if (i == self->state.stays.end())
    return false;
  for (auto& s : i->second)
    if (stays_overlap(s.check_in, s.check_out, r.check_in, r.check_out))
      return true;
  return false;
}

/// The parked booking that holds idempotency key `key` first, or null.
const parked_booking* parked_with_key(self_ptr self, const std::string& key) {
  if (key.empty())
    return nullptr;
  for (auto& p : self->state.parked)
    if (p.idem_key == key)
      return &p;
  return nullptr;
}

/// True when [in, out) overlaps a parked booking of the room: it came
/// first, so this one waits behind it.
bool overlaps_parked(self_ptr self, const booking_request& r) {
  for (auto& p : self->state.parked)
    if (p.request.room_id == r.room_id
        && stays_overlap(p.request.check_in, p.request.check_out, r.check_in,
                         r.check_out))
      return true;
  return false;
}

/// True when [in, out) overlaps a committed stay in the room.
bool overlaps_committed(self_ptr self, const booking_request& r) {
  // Committed stays of one room never overlap each other, so only the last
  // one that begins before our check-out can overlap us.
  auto txn = self->state.store->begin_read();
  storage::cursor cur{txn.ref(), txn.ref().db->calendar};
  auto prefix = storage::calendar_key(r.host_id, r.room_id, "");
  if (!cur.seek_before(storage::calendar_key(r.host_id, r.room_id, r.check_out)))
    return false;
  if (cur.key().substr(0, prefix.size()) != prefix)
    return false;
  auto their_check_out = cur.value().substr(0, 10);
  return r.check_in < their_check_out;
}

json booking_document(const booking_request& r, const std::string& id,
                      const std::string& created_at) {
  json b;
  b["id"] = id;
  b["hostId"] = r.host_id;
  b["roomId"] = r.room_id;
  b["guestId"] = r.guest_id;
  b["checkIn"] = r.check_in;
  b["checkOut"] = r.check_out;
  b["guests"] = r.guests;
  b["note"] = r.has_note ? json(r.note) : json(nullptr);
  b["createdAt"] = created_at;
  return b;
}

json notification_document(const std::string& host_id, uint64_t id,
                           const std::string& type, category cat,
                           const std::string& title, const std::string& body,
                           json data, const std::string& created_at) {
  json n;
  n["id"] = id;
  n["hostId"] = host_id;
  n["type"] = type;
  n["category"] = std::string{to_string(cat)};
  n["title"] = title;
  n["body"] = body;
  n["data"] = std::move(data);
  n["createdAt"] = created_at;
  n["readAt"] = nullptr;  // must stay last: mark-read rewrites the suffix
  return n;
}

/// Registers `op` as pending and hands it to the writer.
booking_promise
submit_create(self_ptr self, std::unique_ptr<create_op> op,
              created_reply reply, const std::string& room_id,
              const std::string& fingerprint, std::string_view type,
              const booking_promise* given = nullptr) {
  // The durable due time is wall-clock (a restart reads it); the host
  // actor times the wait on its steady clock from `asked`.
  auto wait = email_wait_for(self, op->cat);
  if (wait)
    op->wait_due_ms = epoch_ms(std::chrono::system_clock::now()) + wait->count();
  auto& st = self->state;
  auto token = st.next_token++;
  op->host = caf::actor_cast<host_actor>(self);
  op->token = token;
  auto rp = promise_for(self, given);
  if (!op->idem_key.empty())
    st.keys[op->idem_key] = pending_key{fingerprint, {}};
  frame_msg frame{op->id, event_frame(type, op->note_json)};
  st.creates.emplace(token, pending_create{rp, std::move(reply),
                                           std::move(frame), op->cat,
                                           wait, self->clock().now(),
                                           std::chrono::steady_clock::now(),
                                           room_id, op->idem_key});
  st.store->submit(std::move(op));
  return rp;
}

/// Idempotency checks shared by both create requests. Returns a result when
/// the request is answered without a new write.
std::optional<caf::result<created_reply>>
idempotent_answer(self_ptr self, const std::string& principal,
                  const std::string& key, const std::string& fingerprint,
                  std::string& storage_key,
                  const booking_promise* given = nullptr) {
  if (key.empty())
    return std::nullopt;
  storage_key = storage::idem_key(principal, key);
  auto& keys = self->state.keys;
  if (auto i = keys.find(storage_key); i != keys.end()) {
    if (i->second.fingerprint != fingerprint)
      return caf::result<created_reply>{key_conflict()};
    auto rp = promise_for(self, given);
    i->second.waiters.push_back(rp);
    return caf::result<created_reply>{rp};
  }
  std::optional<created_reply> replay;
  if (auto err = check_idempotency(self, storage_key, fingerprint, replay))
    return caf::result<created_reply>{std::move(err)};
  if (replay)
    return caf::result<created_reply>{std::move(*replay)};
  return std::nullopt;
}

/// A booking request; `given` is its promise when it was parked. The answer
/// is the result, or (delegated) comes through the promise.
caf::result<created_reply> on_booking(self_ptr self, booking_request& r,
                                      const booking_promise* given = nullptr) {
  auto& st = self->state;
  std::string idem;
  if (auto answer = idempotent_answer(self, r.principal, r.idem_key,
                                      r.fingerprint, idem, given))
    return std::move(*answer);
  // A parked booking holds its key: the same request waits behind it (and
  // replays its answer), another one with the key is a conflict.
  const auto* holder = parked_with_key(self, idem);
  if (holder != nullptr && holder->request.fingerprint != r.fingerprint)
    return key_conflict();
  if (overlaps_committed(self, r))
    return make_error(ec::conflict, "room " + r.room_id
                                      + " is already booked for overlapping dates");
  if (holder != nullptr || overlaps_pending(self, r) || overlaps_parked(self, r)) {
    // A 409 now could be wrong: the other stay's commit may still fail.
    // Parked bookings come first, in order.
    auto rp = promise_for(self, given);
    st.parked.push_back(parked_booking{std::move(r), rp, idem});
    return rp;
  }
  auto now = std::chrono::system_clock::now();
  auto created_at = format_time(now);
  auto op = std::make_unique<create_op>();
  op->host_id = r.host_id;
  op->id = st.next_id++;
  op->cat = category::booking;
  op->booking_id = new_booking_id();
  op->created_by = principal_id(r.principal);
  op->booking_json = booking_document(r, op->booking_id, created_at).dump();
  json data;
  data["bookingId"] = op->booking_id;
  data["roomId"] = r.room_id;
  data["guestId"] = r.guest_id;
  data["checkIn"] = r.check_in;
  data["checkOut"] = r.check_out;
  data["guests"] = r.guests;
  op->note_json
    = notification_document(r.host_id, op->id, "new_booking", category::booking,
                            booking_title(r.room_id),
                            booking_body(r.guest_id, r.room_id, r.check_in,
                                         r.check_out, r.guests),
                            std::move(data), created_at)
        .dump();
  op->calendar_key = storage::calendar_key(r.host_id, r.room_id, r.check_in);
  op->calendar_value = r.check_out + op->booking_id;
  // The answer holds the booking's document as stored: its text is reused,
  // not serialised again.
  created_reply reply{"{\"booking\":" + op->booking_json
                        + ",\"notification\":{\"id\":"
                        + std::to_string(op->id) + "}}",
                      "/bookings/" + op->booking_id};
  if (!idem.empty()) {
    op->idem_key = idem;
    op->record = idem_record{epoch_ms(now) + idem_lifetime_ms, r.fingerprint,
                             reply.location, reply.body};
  }
  st.stays[r.room_id].push_back(
    pending_stay{st.next_token, r.check_in, r.check_out});
  return submit_create(self, std::move(op), std::move(reply), r.room_id,
                       r.fingerprint, "new_booking", given);
}

/// A stay of `room_id` was committed or failed: the bookings parked for the
/// room are checked again, in the order they came (each may book, be
/// refused, or park again behind one that books now).
void retry_parked(self_ptr self, const std::string& room_id) {
  auto& st = self->state;
  std::vector<parked_booking> again;
  auto keep = std::stable_partition(
    st.parked.begin(), st.parked.end(),
    [&](const parked_booking& p) { return p.request.room_id != room_id; });
  std::move(keep, st.parked.end(), std::back_inserter(again));
  st.parked.erase(keep, st.parked.end());
  std::size_t next = 0;
  try {
    for (; next < again.size(); ++next) {
      auto& p = again[next];
      auto res = on_booking(self, p.request, &p.promise);
      if (res.flag == caf::rt_value)
        p.promise.deliver(res.value.get_as<created_reply>(0));
      else if (res.flag == caf::rt_error)
        p.promise.deliver(std::move(res.err));
    }
  } catch (...) {
    // The actor fails (guarded): fail_pending answers what it holds, and
    // these are held only here.
    for (; next < again.size(); ++next)
      again[next].promise.deliver(make_error(ec::unavailable, "try again"));
    throw;
  }
}

caf::result<created_reply> on_notification(self_ptr self,
                                           notification_request& r) {
  auto& st = self->state;
  std::string idem;
  if (auto answer = idempotent_answer(self, r.principal, r.idem_key,
                                      r.fingerprint, idem))
    return std::move(*answer);
  // A parked booking holds the key (on_booking): a notification is another
  // request.
  if (parked_with_key(self, idem) != nullptr)
    return key_conflict();
  auto cat = category_of_type(r.type);
  if (!cat)
    return make_error(ec::invalid_request, "unknown notification type");
  auto data = json::parse(r.data_json.empty() ? "{}" : r.data_json, nullptr,
                          false);
  if (data.is_discarded() || !data.is_object())
    return make_error(ec::invalid_request, "data must be a JSON object");
  auto now = std::chrono::system_clock::now();
  auto op = std::make_unique<create_op>();
  op->host_id = r.host_id;
  op->id = st.next_id++;
  op->cat = *cat;
  op->created_by = principal_id(r.principal);
  auto note = notification_document(r.host_id, op->id, r.type, *cat, r.title,
                                    r.body, std::move(data), format_time(now));
  op->note_json = note.dump();
  json body;
  body["notification"] = std::move(note);
  created_reply reply{body.dump(), ""};
  if (!idem.empty()) {
    op->idem_key = idem;
    op->record = idem_record{epoch_ms(now) + idem_lifetime_ms, r.fingerprint,
                             reply.location, reply.body};
  }
  return submit_create(self, std::move(op), std::move(reply), "",
                       r.fingerprint, r.type);
}

void finish_create(self_ptr self, commit_done& msg) {
  auto& st = self->state;
  auto i = st.creates.find(msg.token);
  if (i == st.creates.end())
    return;
  auto pending = std::move(i->second);
  st.creates.erase(i);
  std::vector<caf::typed_response_promise<created_reply>> waiters;
  owed_on_throw owed{pending.promise, waiters};
  if (!pending.room_id.empty()) {
    auto& v = st.stays[pending.room_id];
    v.erase(std::remove_if(v.begin(), v.end(),
                           [&](const pending_stay& s) {
                             return s.token == msg.token;
                           }),
            v.end());
    if (v.empty())
      st.stays.erase(pending.room_id);
  }
  if (!pending.idem_key.empty()) {
    if (auto k = st.keys.find(pending.idem_key); k != st.keys.end()) {
      waiters = std::move(k->second.waiters);
      st.keys.erase(k);
    }
  }
  waiters.push_back(std::move(pending.promise));
  auto outcome = static_cast<op_outcome>(msg.outcome);
  if (outcome == op_outcome::committed) {
    auto& m = telemetry::metrics();
    if (!pending.room_id.empty())
      m.bookings.inc();
    m.notifications[static_cast<std::size_t>(pending.cat)].inc();
    auto id = pending.frame.id;
    bool pushed = st.prefs.of(pending.cat).realtime && !st.sessions.empty();
    if (pushed) {
      std::chrono::duration<double> age
        = std::chrono::steady_clock::now() - pending.created;
      m.delivery_seconds.observe(age.count());
      broadcast(self, std::move(pending.frame));
    }
    if (pending.email_wait && !pending.acked) {
      auto wait = *pending.email_wait;
      // No device got it (the last one left before the commit): there is
      // no ack to wait for, only the delay (§7: "immediately when no
      // session is live"). The durable wait keeps the later time.
      if (!pushed)
        if (auto w = email_wait_for(self, pending.cat))
          wait = std::min(wait, *w);
      on_wait_committed(self, id, pending.asked + wait, pushed);
    } else if (pending.email_wait) {
      // Acked before its commit came back: the router's delete of the wait
      // may have reached the writer before this write made it. Delete it
      // again, after the write, so that no restart finds it; through the
      // router, which writes it again while that fails.
      ack_msg again;
      again.host_id = st.host_id;
      again.id = id;
      again.rewrite = true;
      again.audited = true;
      record_ack(*st.store, again, st.router);
    }
  }
  for (auto& rp : waiters) {
    switch (outcome) {
      case op_outcome::committed:
        rp.deliver(pending.reply);
        break;
      case op_outcome::replay:
        rp.deliver(created_reply{msg.body, msg.location});
        break;
      case op_outcome::key_mismatch:
        rp.deliver(key_conflict());
        break;
      default:
        rp.deliver(storage_error(outcome));
    }
  }
  if (!pending.room_id.empty() && !st.parked.empty())
    retry_parked(self, pending.room_id);
}

void finish_mark(self_ptr self, commit_done& msg) {
  auto& st = self->state;
  auto i = st.marks.find(msg.token);
  if (i == st.marks.end())
    return;
  auto pending = std::move(i->second);
  st.marks.erase(i);
  owed_on_throw owed{pending.promise};
  auto outcome = static_cast<op_outcome>(msg.outcome);
  if (outcome != op_outcome::committed) {
    pending.promise.deliver(storage_error(outcome));
    return;
  }
  auto& m = msg.marked;
  forget_waits(self, m.changed);
  if (m.updated > 0) {
    // Every device's badge follows: ids for an ids request, else the
    // watermark applied (the newest id for "all").
    json data;
    auto mode = static_cast<mark_mode>(pending.mode);
    data["ids"] = mode == mark_mode::ids ? json(m.changed) : json(nullptr);
    if (mode != mark_mode::ids)
      m.changed.clear();  // only an ids request's answer lists them
    data["upTo"] = mode == mark_mode::ids     ? json(nullptr)
                   : mode == mark_mode::up_to ? json(pending.up_to)
                                              : json(m.latest_id);
    data["unread"] = m.unread;
    data["latestId"] = m.latest_id;
    json ev;
    ev["event"] = "read";
    ev["data"] = std::move(data);
    broadcast(self, frame_msg{0, ev.dump()});
  }
  pending.promise.deliver(std::move(m));
}

void on_idle_check(self_ptr self) {
  auto& st = self->state;
  auto idle = self->clock().now() - st.last_active;
  if (st.busy() || idle < st.cfg.host_idle_timeout) {
    self->delayed_send(self, st.cfg.host_idle_timeout, idle_atom::value);
    return;
  }
  // No timeout: an actor that went on after the router had agreed (its
  // answer late) would live on unreachable, beside the host's next actor.
  // The router always answers; if it ends, so does this actor.
  self->request(st.router, caf::infinite,
                retire_request{st.host_id, st.received})
    .then(
      [=](bool agreed) {
        if (agreed)
          self->quit();
        else
          self->delayed_send(self, self->state.cfg.host_idle_timeout,
                             idle_atom::value);
      },
      [=](const caf::error&) {
        self->delayed_send(self, self->state.cfg.host_idle_timeout,
                           idle_atom::value);
      });
}

caf::result<mark_read_reply> on_mark_read(host_self self,
                                          mark_read_request& r) {
  auto& st = self->state;
  auto op = std::make_unique<mark_read_op>();
  op->host = caf::actor_cast<host_actor>(self);
  op->token = st.next_token++;
  op->read_at = format_time(std::chrono::system_clock::now());
  op->req = std::move(r);
  auto rp = self->make_response_promise<mark_read_reply>();
  st.marks.emplace(op->token,
                   host_state::pending_mark{rp, op->req.mode, op->req.up_to});
  st.store->submit(std::move(op));
  return rp;
}

} // namespace

host_actor::behavior_type
host(host_actor::stateful_pointer<host_state> self, std::string host_id,
     storage::store* st, router_actor router, core_config cfg) {
  auto& s = self->state;
  s.host_id = std::move(host_id);
  s.store = st;
  s.router = std::move(router);
  s.cfg = cfg;
  s.last_active = self->clock().now();
  try {
    auto txn = st->begin_read();
    s.next_id = storage::get_counters(txn.ref(), s.host_id).next_id;
    load_email_state(self);
  } catch (const std::exception& e) {
    self->quit(make_error(ec::unavailable, e.what()));
    return host_actor::behavior_type::make_empty_behavior();
  }
  self->set_down_handler(
    [=](caf::down_msg& dm) { on_session_down(self, dm.source); });
  self->delayed_send(self, cfg.host_idle_timeout, idle_atom::value);
  // Every handler is guarded (host_actor.hpp): no request is left unanswered
  // if one throws.
  return {
    [=](booking_request& r) -> caf::result<created_reply> {
      return guarded(self, [&] {
        touch(self);
        return on_booking(self, r);
      });
    },
    [=](notification_request& r) -> caf::result<created_reply> {
      return guarded(self, [&] {
        touch(self);
        return on_notification(self, r);
      });
    },
    [=](mark_read_request& r) -> caf::result<mark_read_reply> {
      return guarded(self, [&] {
        touch(self);
        return on_mark_read(self, r);
      });
    },
    [=](commit_done& msg) {
      guarded(self, [&] {
        auto& st = self->state;
        if (st.creates.count(msg.token) > 0)
          finish_create(self, msg);
        else if (st.marks.count(msg.token) > 0)
          finish_mark(self, msg);
        else if (st.email_ops.count(msg.token) > 0)
          on_email_committed(self, msg);
        else
          on_preferences_committed(self, msg);
      });
    },
    [=](subscribe_request& r) -> caf::result<subscribe_reply> {
      return guarded(self, [&] {
        touch(self);
        return on_subscribe(self, r);
      });
    },
    [=](ack_msg& a) {
      guarded(self, [&] {
        touch(self);
        on_ack(self, a);
      });
    },
    [=](unsubscribe_msg& u) {
      guarded(self, [&] {
        touch(self);
        on_unsubscribe(self, u.session);
      });
    },
    [=](preferences_put& p) -> caf::result<std::string> {
      return guarded(self, [&] {
        touch(self);
        return on_preferences(self, p);
      });
    },
    [=](wake_msg&) { touch(self); },
    [=](idle_atom) { guarded(self, [&] { on_idle_check(self); }); },
    [=](email_atom, uint64_t timer) {
      guarded(self, [&] {
        if (timer == self->state.tick_timer)
          on_email_tick(self);
      });
    },
  };
}

} // namespace bellhop
