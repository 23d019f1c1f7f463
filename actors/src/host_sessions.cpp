// A host actor's WebSocket sessions: subscribing (hello figures and the
// replay of missed notifications), forgetting ended ones, and pushing one
// frame to all of them.
#include <algorithm>
#include <cstdint>

#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "bellhop/actors/errors.hpp"
#include "bellhop/storage/tables.hpp"
#include "bellhop/telemetry/metrics.hpp"
#include "host_actor.hpp"
#include "write_ops.hpp"

namespace bellhop {

namespace {

constexpr std::size_t max_replay = 100;

/// The type of a stored notification document: its first "type" key is the
/// top-level one (id and hostId come before it and cannot contain it).
std::string_view type_of(std::string_view doc) {
  constexpr std::string_view tag = "\"type\":\"";
  auto pos = doc.find(tag);
  if (pos == std::string_view::npos)
    return "system";
  auto start = pos + tag.size();
  return doc.substr(start, doc.find('"', start) - start);
}

/// Records that notification `id` was written to session `s`.
void add_push(host_self self, audit_op& op, uint64_t id, const session_entry& s) {
  op.entries.push_back(
    audit_entry{self->state.host_id, id, "pushed", "bellhop", s.via, s.id});
  telemetry::metrics().delivery(channel_of(s.via), telemetry::result::pushed);
}

} // namespace

telemetry::channel channel_of(const std::string& via) {
  return via == "socketio" ? telemetry::channel::socketio : telemetry::channel::ws;
}

std::string event_frame(std::string_view type, std::string_view doc) {
  std::string f = "{\"event\":\"";
  f.append(type).append("\",\"data\":").append(doc).append("}");
  return f;
}

caf::result<subscribe_reply> on_subscribe(host_self self, subscribe_request& r) {
  auto& st = self->state;
  if (!r.session)
    return make_error(ec::invalid_request, "no session");
  subscribe_reply reply;
  auto txn = st.store->begin_read();
  auto t = txn.ref();
  auto c = storage::get_counters(t, st.host_id);
  reply.unread = c.unread;
  reply.latest_id = c.latest_id;
  // Nothing is newer than the largest id (after + 1 would wrap to 0).
  if (r.has_after && r.after < UINT64_MAX) {
    auto prefix = storage::host_prefix(st.host_id);
    storage::cursor cur{t, t.db->notes};
    for (bool ok = cur.seek(storage::note_key(st.host_id, r.after + 1));
         ok && reply.replay.size() < max_replay; ok = cur.next()) {
      if (!storage::has_prefix(cur.key(), prefix, 8))
        break;
      auto doc = cur.value();
      reply.replay.push_back(frame_msg{storage::note_key_id(cur.key()),
                                       event_frame(type_of(doc), doc)});
    }
  }
  self->monitor(r.session);
  st.sessions.push_back(
    session_entry{std::move(r.session), std::move(r.session_id), std::move(r.via)});
  // The session writes its replay right after hello.
  if (!reply.replay.empty()) {
    st.sessions.back().replayed_to = reply.replay.back().id;
    auto op = std::make_unique<audit_op>();
    op->host_id = st.host_id;
    for (auto& f : reply.replay)
      add_push(self, *op, f.id, st.sessions.back());
    st.store->submit(std::move(op));
  }
  return reply;
}

void on_session_down(host_self self, const caf::actor_addr& who) {
  auto& v = self->state.sessions;
  v.erase(std::remove_if(v.begin(), v.end(),
                         [&](const session_entry& s) {
                           return s.handle.address() == who;
                         }),
          v.end());
  self->state.last_active = self->clock().now();
}

void on_unsubscribe(host_self self, const caf::actor& session) {
  if (!session)
    return;
  self->demonitor(session);
  on_session_down(self, session.address());
}

void broadcast(host_self self, frame_msg frame) {
  auto& st = self->state;
  if (st.sessions.empty())
    return;
  auto id = frame.id;
  auto msg = caf::make_message(std::move(frame));
  std::unique_ptr<audit_op> op;  // notifications only, not read events
  if (id > 0) {
    op = std::make_unique<audit_op>();
    op->host_id = st.host_id;
  }
  for (auto& s : st.sessions) {
    // A note committed while a session subscribed may be in its replay.
    if (id > 0 && id <= s.replayed_to)
      continue;
    caf::anon_send(s.handle, msg);
    if (op)
      add_push(self, *op, id, s);
  }
  if (op && !op->entries.empty())
    st.store->submit(std::move(op));
}

} // namespace bellhop
