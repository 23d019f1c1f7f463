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

void broadcast(host_self self, frame_msg frame) {
  auto& st = self->state;
  if (st.sessions.empty())
    return;
  auto id = frame.id;
  auto msg = caf::make_message(std::move(frame));
  for (auto& s : st.sessions)
    caf::anon_send(s.handle, msg);
  if (id == 0)
    return;
  auto op = std::make_unique<audit_op>();
  op->host_id = st.host_id;
  for (auto& s : st.sessions) {
    op->entries.push_back(audit_entry{st.host_id, id, "pushed", "bellhop", s.via, s.id});
    telemetry::metrics().delivery(channel_of(s.via), telemetry::result::pushed);
  }
  st.store->submit(std::move(op));
}

} // namespace bellhop
