// The router's behaviour and the actor layer's entry points (core.hpp).
#include "router.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "bellhop/actors/errors.hpp"
#include "bellhop/storage/store.hpp"
#include "bellhop/telemetry/log.hpp"
#include "bellhop/telemetry/metrics.hpp"
#include "host_actor.hpp"
#include "idem_sweeper.hpp"
#include "retention_sweeper.hpp"

namespace bellhop {

namespace {

using self_ptr = router_actor::stateful_pointer<router_state>;

/// The host actor of `host_id`, spawned if it is not running. Counts the
/// request about to be forwarded.
host_actor& host_for(self_ptr self, const std::string& host_id) {
  auto& st = self->state;
  auto i = st.hosts.find(host_id);
  if (i == st.hosts.end()) {
    auto h = self->spawn(host, host_id, st.store,
                         caf::actor_cast<router_actor>(self), st.cfg);
    self->monitor(h);
    telemetry::metrics().host_actors.add(1);
    st.names.emplace(h.address(), host_id);
    i = st.hosts.emplace(host_id, router_state::entry{std::move(h), 0}).first;
  }
  i->second.forwarded += 1;
  return i->second.handle;
}

/// Waits for everything queued at the writer before it, then tells the
/// router (writes_settled). Writes nothing.
struct settle_op final : storage::write_op {
  router_actor router;
  std::string host_id;
  storage::status apply(storage::txn_ref) override {
    return storage::status::ok;
  }
  void done(storage::status) override {
    caf::anon_send(router, writes_settled{std::move(host_id)});
  }
};

/// A host actor ended with an error (a handler threw): its writes may still
/// be queued at the writer. Its host waits until they are settled.
void settle_after_failure(self_ptr self, const std::string& host_id) {
  auto& s = self->state;
  if (!s.recovering.emplace(host_id, std::vector<caf::message>{}).second)
    return;
  auto op = std::make_unique<settle_op>();
  op->router = caf::actor_cast<router_actor>(self);
  op->host_id = host_id;
  s.store->submit(std::move(op));
}

bool settling(self_ptr self, const std::string& host_id) {
  auto& r = self->state.recovering;  // empty but after a failure
  return !r.empty() && r.count(host_id) > 0;
}

/// Forwards a request to its host's actor (which answers the sender), or
/// answers 503 while the host's writes settle.
template <class Reply, class Request>
caf::result<Reply> forward(self_ptr self, Request& r) {
  if (settling(self, r.host_id))
    return make_error(ec::unavailable, "try again");
  return self->delegate(host_for(self, r.host_id), std::move(r));
}

/// An ack or a wake for `host_id`, held while its writes settle.
template <class Msg>
void send_or_hold(self_ptr self, const std::string& host_id, Msg msg) {
  if (settling(self, host_id)) {
    self->state.recovering[host_id].push_back(caf::make_message(std::move(msg)));
    return;
  }
  self->send(host_for(self, host_id), std::move(msg));
}

} // namespace

router_actor::behavior_type
router(router_actor::stateful_pointer<router_state> self, storage::store* st,
       core_config cfg) {
  self->state.store = st;
  self->state.cfg = cfg;
  // Linked: the sweeper stops with the router.
  self->spawn<caf::linked>(idem_sweeper, st, cfg.idem_sweep_interval);
  if (cfg.retention.count() > 0)
    self->spawn<caf::linked>(retention_sweeper, st, cfg.retention);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& s = self->state;
    auto i = s.names.find(dm.source);
    if (i == s.names.end())
      return;
    telemetry::metrics().host_actors.add(-1);
    auto h = s.hosts.find(i->second);
    if (h != s.hosts.end() && h->second.handle.address() == dm.source)
      s.hosts.erase(h);
    if (dm.reason && dm.reason != caf::make_error(caf::exit_reason::user_shutdown))
      settle_after_failure(self, i->second);
    s.names.erase(i);
  });
  // Host actors stop with the router.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    for (auto& kvp : self->state.hosts)
      self->send_exit(kvp.second.handle, msg.reason);
    self->quit(std::move(msg.reason));
  });
  return {
    [=](booking_request& r) { return forward<created_reply>(self, r); },
    [=](notification_request& r) { return forward<created_reply>(self, r); },
    [=](mark_read_request& r) { return forward<mark_read_reply>(self, r); },
    [=](subscribe_request& r) { return forward<subscribe_reply>(self, r); },
    [=](ack_msg& a) {
      record_ack(*self->state.store, a, caf::actor_cast<router_actor>(self));
      if (a.rewrite)
        return;
      auto host_id = a.host_id;
      send_or_hold(self, host_id, std::move(a));
    },
    [=](unsubscribe_msg& u) {
      // Only a running actor has sessions; none is started for this. A
      // failed host's actor has closed its sessions already.
      auto i = self->state.hosts.find(u.host_id);
      if (i != self->state.hosts.end() && !settling(self, u.host_id)) {
        i->second.forwarded += 1;
        self->send(i->second.handle, std::move(u));
      }
    },
    [=](preferences_put& p) { return forward<std::string>(self, p); },
    [=](wake_msg& w) {
      auto host_id = w.host_id;
      send_or_hold(self, host_id, std::move(w));
    },
    [=](writes_settled& w) {
      auto i = self->state.recovering.find(w.host_id);
      if (i == self->state.recovering.end())
        return;
      auto held = std::move(i->second);
      self->state.recovering.erase(i);
      try {
        // With email waits, the next actor starts now (it times them);
        // they would otherwise wait for the host's next request.
        if (resume_host_email(*self->state.store, w.host_id,
                              self->state.cfg.mailer))
          held.push_back(caf::make_message(wake_msg{w.host_id}));
      } catch (const std::exception& e) {
        telemetry::log(telemetry::level::warn,
                       "reading a failed host's emails failed",
                       {{"hostId", std::string_view{w.host_id}},
                        {"error", std::string_view{e.what()}}});
      }
      for (auto& m : held) {
        auto& h = host_for(self, w.host_id);
        if (m.match_elements<ack_msg>())
          self->send(h, m.get_as<ack_msg>(0));
        else if (m.match_elements<wake_msg>())
          self->send(h, m.get_as<wake_msg>(0));
      }
    },
    [=](retire_request& r) -> bool {
      auto& s = self->state;
      auto i = s.hosts.find(r.host_id);
      // Only the actor the router names for the host may retire, and only
      // when it has received everything forwarded to it.
      if (i == s.hosts.end() || i->second.forwarded != r.received
          || self->current_sender()
               != caf::actor_cast<caf::strong_actor_ptr>(i->second.handle))
        return false;
      // Its name stays until its down message, which counts it out of
      // bellhop_host_actors.
      s.hosts.erase(i);
      return true;
    },
  };
}

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::bellhop>();
}

router_actor spawn_router(caf::actor_system& sys, storage::store& st,
                          core_config cfg) {
  return sys.spawn(router, &st, cfg);
}

} // namespace bellhop
