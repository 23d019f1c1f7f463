// The session actor's behaviour (see session_actor.hpp).
#include "session_actor.hpp"

#include <algorithm>
#include <atomic>

#include <caf/actor_cast.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/skip.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>

#include "bellhop/actors/errors.hpp"
#include "client_ops.hpp"
#include "bellhop/telemetry/metrics.hpp"

namespace bellhop::ws {

namespace {

using json = nlohmann::ordered_json;
using self_ptr = caf::stateful_actor<session_state>*;

constexpr auto subscribe_timeout = std::chrono::seconds(10);
constexpr auto keepalive_interval = std::chrono::seconds(25);
constexpr std::size_t max_delivered = 4096;
/// Notifications written and not acked that a session remembers: a replay
/// (100) and bursts fit; the oldest are forgotten first (their late acks
/// count as messages). As many as a Socket.IO connection keeps ack ids for
/// (socketio_config::max_pending_acks), so that every ack it passes on is
/// known here. The buffer exists only while acks are owed.
constexpr std::size_t max_awaiting = 1024;

/// Tells the host actor to send nothing more and to stop counting this
/// session as live (its pushes, its ack window).
void unsubscribe(self_ptr self) {
  auto& st = self->state;
  self->send(st.router, unsubscribe_msg{st.cfg.host_id,
                                        caf::actor_cast<caf::actor>(self)});
}

void close_session(self_ptr self, uint16_t code, std::string reason) {
  auto& st = self->state;
  if (st.closing)
    return;
  if (!st.draining)
    unsubscribe(self);
  st.closing = true;
  st.sink->close(st.cfg.socket, code, std::move(reason));
}

const char* reason_of(uint16_t code) {
  return code == delivered ? "delivered" : "ttl";
}

/// Forgets the fresh notifications that are `ack_grace` old; true when
/// none is left to wait for.
bool none_fresh(self_ptr self) {
  auto& st = self->state;
  if (!st.fresh)
    return true;
  auto now = self->clock().now();
  while (!st.fresh->empty() && st.fresh->front().second + ack_grace <= now)
    st.fresh->pop_front();
  return st.fresh->empty();
}

/// Closes with `code` (4000 or 4001) once every notification written in
/// the last `ack_grace` has been acked or is that old. Nothing new is
/// written meanwhile.
void begin_close(self_ptr self, uint16_t code) {
  auto& st = self->state;
  if (st.closing || st.draining)
    return;
  if (none_fresh(self)) {
    close_session(self, code, reason_of(code));
    return;
  }
  st.draining = true;
  st.drain_code = code;
  unsubscribe(self);
  // The newest is the last to grow old.
  auto left = st.fresh->back().second + ack_grace - self->clock().now();
  self->delayed_send(self, left, grace_atom::value);
}

void end_drain(self_ptr self) {
  auto& st = self->state;
  if (st.draining)
    close_session(self, st.drain_code, reason_of(st.drain_code));
}

/// Notes a notification written: its ack is owed (any session), and, for
/// a session that can close for its TTL or on delivery, waited for.
void remember_written(self_ptr self, uint64_t id) {
  auto& st = self->state;
  if (!st.awaiting_ack)
    st.awaiting_ack = std::make_unique<std::vector<uint64_t>>();
  if (st.awaiting_ack->size() >= max_awaiting)
    st.awaiting_ack->erase(st.awaiting_ack->begin());
  st.awaiting_ack->push_back(id);
  if (st.cfg.close_on_delivery) {
    if (!st.delivered)
      st.delivered = std::make_unique<std::unordered_set<uint64_t>>();
    if (st.delivered->size() >= max_delivered)
      st.delivered->clear();
    st.delivered->insert(id);
  }
  if (st.cfg.ttl.count() > 0 || st.cfg.close_on_delivery) {
    none_fresh(self);  // keeps only the last ack_grace
    if (!st.fresh)
      st.fresh = std::make_unique<
        std::deque<std::pair<uint64_t, caf::actor_clock::time_point>>>();
    if (st.fresh->size() >= max_delivered)
      st.fresh->pop_front();
    st.fresh->emplace_back(id, self->clock().now());
  }
}

/// An ack of `id`: it is no longer waited for.
void forget_fresh(self_ptr self, uint64_t id) {
  auto& f = self->state.fresh;
  if (!f)
    return;
  auto i = std::find_if(f->begin(), f->end(),
                        [id](auto& e) { return e.first == id; });
  if (i != f->end())
    f->erase(i);
}

/// §5's error event; `code` as in §4's error shape.
void send_error(self_ptr self, const std::string& message,
                const std::string& code = "invalid_request") {
  json e;
  e["event"] = "error";
  e["data"] = json{{"code", code}, {"message", message}};
  self->state.sink->send_text(self->state.cfg.socket, e.dump());
}

caf::behavior live_behavior(self_ptr self);

/// Writes a frame, once: a notification already written (replayed, then
/// pushed live) is skipped.
void write(self_ptr self, frame_msg& f) {
  auto& st = self->state;
  if (f.id > 0) {
    if (f.id <= st.last_sent)
      return;
    st.last_sent = f.id;
    remember_written(self, f.id);
  }
  st.sink->send_text(st.cfg.socket, std::move(f.text));
}

void on_subscribed(self_ptr self, subscribe_reply& r) {
  auto& st = self->state;
  if (st.closing)
    return;
  json hello;
  hello["event"] = "hello";
  hello["data"] = json{{"sessionId", st.cfg.session_id},
                       {"hostId", st.cfg.host_id},
                       {"ttlMs", st.cfg.ttl.count()},
                       {"unread", r.unread},
                       {"latestId", r.latest_id}};
  st.sink->send_text(st.cfg.socket, hello.dump());
  for (auto& f : r.replay)
    write(self, f);
  auto early = std::move(st.early);
  for (auto& f : early)
    write(self, f);
  // Client ops that came before hello were skipped: they run now.
  self->set_default_handler(caf::print_and_drop);
  self->become(live_behavior(self));
}

/// More than the allowed number of client messages in the last second,
/// counting this one, which arrived at `arrived` (0: now)?
bool flooding(self_ptr self, int64_t arrived) {
  auto& st = self->state;
  if (!st.recent)
    st.recent = std::make_unique<flood_ring>();
  auto& ring = *st.recent;
  // CAF's clock is the steady clock (0.17: actor_clock::clock_type), the
  // gateway's stamp too; only tests leave the stamp out.
  static_assert(std::is_same_v<caf::actor_clock::clock_type,
                               std::chrono::steady_clock>);
  auto now = arrived != 0 ? caf::actor_clock::time_point{
                              caf::actor_clock::duration_type{arrived}}
                          : self->clock().now();
  // More than max messages in one second: counting this one, the message
  // max back in the ring arrived less than a second ago.
  auto n = std::min(st.cfg.max_messages_per_second, ring.at.size());
  auto& slot = ring.at[ring.count % n];
  bool flood = ring.count >= n && now - slot < std::chrono::seconds(1);
  slot = now;
  ++ring.count;
  return flood;
}

/// True, once, for the ack of a notification written on this session.
bool owed_ack(self_ptr self, uint64_t id) {
  auto& a = self->state.awaiting_ack;
  if (!a)
    return false;
  auto i = std::find(a->begin(), a->end(), id);
  if (i == a->end())
    return false;
  a->erase(i);
  if (a->empty())
    a.reset();  // a session with nothing to ack keeps no buffer
  return true;
}

void on_client_text(self_ptr self, const std::string& text, int64_t arrived) {
  auto& st = self->state;
  // The acks the server asked for are not counted: a device that acks a
  // burst, or a replay of 100, as it comes must not be closed for it, nor
  // emailed what it acked. Any other message is; only a possible ack is
  // decoded before the count.
  decoded_op op;
  bool decoded = st.awaiting_ack && text.find("ack") != std::string::npos;
  if (decoded)
    op = decode_client_op(text);
  bool owed = decoded && op.kind == client_op::ack && owed_ack(self, op.ack_id);
  if (!owed && flooding(self, arrived)) {
    if (!st.closing) {
      telemetry::metrics().rate_limited.inc();
      close_session(self, policy_violation, "too many messages");
    }
    return;
  }
  if (!decoded)
    op = decode_client_op(text);
  // A closing session still passes on the acks and mark-reads that were on
  // their way when it began to close (two acks sent together, the first of
  // which closes it on delivery): a device that confirmed a notification
  // must not be emailed it too. It answers nothing more.
  if ((st.closing || st.draining) && op.kind != client_op::ack
      && op.kind != client_op::mark_read)
    return;
  switch (op.kind) {
    case client_op::invalid:
      send_error(self, op.error);
      break;
    case client_op::ping:
      st.sink->send_text(st.cfg.socket, R"({"event":"pong"})");
      break;
    case client_op::ack: {
      // Any other ack (a late one on the device's next socket, a second
      // one, an id never sent) is recorded too, but within the host's
      // budget: each is an audit entry on disk, and the host's sockets
      // could otherwise send them without end (20 a second each).
      // (The limiter counts what it refuses in bellhop_rate_limited_total.)
      if (!owed && st.cfg.foreign_acks
          && st.cfg.foreign_acks->take(st.cfg.host_id) != 0)
        break;
      self->send(st.router, ack_msg{st.cfg.host_id, op.ack_id,
                                    st.cfg.session_id, st.cfg.via,
                                    st.cfg.by});
      forget_fresh(self, op.ack_id);
      if (st.draining) {
        if (none_fresh(self))
          end_drain(self);
      } else if (st.delivered && st.delivered->count(op.ack_id) > 0) {
        begin_close(self, delivered);
      }
      break;
    }
    case client_op::mark_read: {
      auto req = std::move(op.mark);
      req.host_id = st.cfg.host_id;
      req.by = st.cfg.by;
      req.via = st.cfg.via;
      req.session_id = st.cfg.session_id;
      // The read event reaches every session of the host, this one too.
      self->request(st.router, std::chrono::seconds(10), std::move(req))
        .then([](mark_read_reply&) {}, [=](caf::error& err) {
          if (self->state.closing || self->state.draining)
            return;
          auto text = message_of(err);  // "" for CAF's own (a timeout)
          send_error(self, text.empty() ? "try again" : text,
                     to_string(code_of(err)));
        });
      break;
    }
  }
}

/// Schedules the token-expiry message once it falls due before the session
/// would look again: with a TTL, only if it comes first (else the TTL ends
/// the session); without, once it is within the next keep-alive interval
/// (each ping calls this again). So a token valid for a day holds no timer
/// (a delayed message in CAF's clock) until its last 25 s.
void arm_expiry(self_ptr self) {
  auto& st = self->state;
  if (st.expiry_set)
    return;
  auto left = st.token_deadline - self->clock().now();
  caf::timespan horizon = keepalive_interval;
  if (st.cfg.ttl.count() > 0)
    horizon = st.cfg.ttl;
  if (left > horizon)
    return;
  st.expiry_set = true;
  self->delayed_send(self, std::max(left, caf::timespan{0}), expiry_atom::value);
}

/// The timers and the gateway's notice that the socket closed, in one
/// handler: each handler of the behaviour is memory in every session.
void on_signal(self_ptr self, caf::atom_value a) {
  auto& st = self->state;
  if (a == closed_atom::value) {
    self->quit();
  } else if (a == ttl_atom::value) {
    begin_close(self, ttl_expired);
  } else if (a == grace_atom::value) {
    end_drain(self);
  } else if (a == expiry_atom::value) {
    close_session(self, token_expired, "token expired");
  } else if (a == host_down_atom::value) {
    close_session(self, internal_error, "unavailable");
  } else if (a == ping_atom::value && !st.closing) {
    arm_expiry(self);
    st.sink->ping(st.cfg.socket);
    self->delayed_send(self, keepalive_interval, ping_atom::value);
  }
}

std::atomic<int64_t> alive{0};

} // namespace

session_state::session_state() {
  alive.fetch_add(1, std::memory_order_relaxed);
}

session_state::~session_state() {
  // Release: what the session sent before it ended (its acks to the
  // router) happens before a stop that sees the count drop.
  alive.fetch_sub(1, std::memory_order_release);
}

int64_t session_actors_alive() {
  return alive.load(std::memory_order_acquire);
}

caf::behavior session(caf::stateful_actor<session_state>* self,
                      session_config cfg, std::shared_ptr<session_sink> sink,
                      router_actor router) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.sink = std::move(sink);
  st.router = std::move(router);
  subscribe_request sub{st.cfg.host_id, caf::actor_cast<caf::actor>(self),
                        st.cfg.session_id, st.cfg.has_after, st.cfg.after,
                        st.cfg.via};
  self->request(st.router, subscribe_timeout, std::move(sub))
    .then([=](subscribe_reply& r) { on_subscribed(self, r); },
          [=](caf::error&) {
            close_session(self, internal_error, "unavailable");
          });
  if (st.cfg.ttl.count() > 0)
    self->delayed_send(self, st.cfg.ttl, ttl_atom::value);
  else
    self->delayed_send(self, keepalive_interval, ping_atom::value);
  st.token_deadline = self->clock().now() + st.cfg.token_left;
  arm_expiry(self);
  // hello is the first frame (§5): until it is written, client ops stay
  // in the mailbox (skipped), and notifications wait in `early`.
  self->set_default_handler(caf::skip);
  return {
    [=](frame_msg& f) {
      if (!self->state.closing)
        self->state.early.push_back(std::move(f));
    },
    [=](caf::atom_value a) { on_signal(self, a); },
  };
}

namespace {

caf::behavior live_behavior(self_ptr self) {
  return {
    [=](frame_msg& f) {
      if (!self->state.closing && !self->state.draining)
        write(self, f);
    },
    [=](client_text& m) { on_client_text(self, m.text, m.arrived); },
    [=](caf::atom_value a) { on_signal(self, a); },
  };
}

} // namespace

} // namespace bellhop::ws
