// The router's behaviour and the actor layer's entry points (core.hpp).
#include "router.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "bellhop/storage/store.hpp"
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
    s.names.erase(i);
  });
  // Host actors stop with the router.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    for (auto& kvp : self->state.hosts)
      self->send_exit(kvp.second.handle, msg.reason);
    self->quit(std::move(msg.reason));
  });
  return {
    [=](booking_request& r) {
      auto& h = host_for(self, r.host_id);
      return self->delegate(h, std::move(r));
    },
    [=](notification_request& r) {
      auto& h = host_for(self, r.host_id);
      return self->delegate(h, std::move(r));
    },
    [=](mark_read_request& r) {
      auto& h = host_for(self, r.host_id);
      return self->delegate(h, std::move(r));
    },
    [=](subscribe_request& r) {
      auto& h = host_for(self, r.host_id);
      return self->delegate(h, std::move(r));
    },
    [=](ack_msg& a) {
      auto& h = host_for(self, a.host_id);
      self->send(h, std::move(a));
    },
    [=](preferences_put& p) {
      auto& h = host_for(self, p.host_id);
      return self->delegate(h, std::move(p));
    },
    [=](wake_msg& w) {
      auto& h = host_for(self, w.host_id);
      self->send(h, std::move(w));
    },
    [=](retire_request& r) -> bool {
      auto& s = self->state;
      auto i = s.hosts.find(r.host_id);
      if (i == s.hosts.end() || i->second.forwarded != r.received)
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
