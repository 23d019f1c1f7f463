// What a host actor does when one of its handlers throws (a failed LMDB read,
// an allocation failure): every request it still owes an answer gets an error
// at once, and the actor stops; the router spawns a fresh one from LMDB on
// the next request. REST asks wait for their answer without a timeout (a
// write is answered when its commit returns), so no promise may be dropped.
// Ops already handed to the writer may still commit: the client was told to
// try again, and a retry with its Idempotency-Key replays the first answer.
// The router starts no new actor for the host until those ops are settled
// (router.cpp, settle_after_failure).
#include "host_actor.hpp"

#include <caf/send.hpp>

#include "bellhop/actors/errors.hpp"
#include "bellhop/telemetry/log.hpp"

namespace bellhop {

caf::error fail_pending(host_self self, const std::string& what) {
  auto& s = self->state;
  telemetry::log(telemetry::level::error, "host actor failed",
                 {{"hostId", s.host_id}, {"error", what}});
  auto err = make_error(ec::unavailable, "try again");
  for (auto& kvp : s.creates)
    kvp.second.promise.deliver(err);
  for (auto& kvp : s.marks)
    kvp.second.promise.deliver(err);
  for (auto& kvp : s.prefs_puts)
    kvp.second.first.deliver(err);
  for (auto& kvp : s.keys)
    for (auto& waiter : kvp.second.waiters)
      waiter.deliver(err);
  for (auto& p : s.parked)
    p.promise.deliver(err);
  s.parked.clear();
  s.creates.clear();
  s.marks.clear();
  s.prefs_puts.clear();
  s.keys.clear();
  // The next actor of this host knows nothing of these sessions: they close,
  // and their devices reconnect (or poll) and subscribe to it.
  for (auto& session : s.sessions)
    caf::anon_send(session.handle, host_down_atom::value);
  s.sessions.clear();
  self->quit(err);
  return err;
}

} // namespace bellhop
