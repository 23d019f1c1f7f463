// The typed interfaces of bellhop's actors. Callers hold only these handles
// and never assume the actor behind one is local.
#pragma once

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "bellhop/actors/messages.hpp"

namespace bellhop {

/// The requests any caller (REST, WebSocket sessions) may send about a host.
/// Errors come back as caf::error values of category "bellhop" (errors.hpp).
using host_api = caf::typed_actor<
  // A new booking: overlap check, ids, durable commit. -> the 201 body.
  caf::replies_to<booking_request>::with<created_reply>,
  // A notification from a service. -> the 201 body.
  caf::replies_to<notification_request>::with<created_reply>,
  // Mark notifications read. -> updated and unread counts.
  caf::replies_to<mark_read_request>::with<mark_read_reply>,
  // A WebSocket session joins the host's room. -> hello figures and replay.
  caf::replies_to<subscribe_request>::with<subscribe_reply>,
  // A device acked a notification (delivery record; no answer).
  caf::reacts_to<ack_msg>,
  // A session is closing: no more frames for it.
  caf::reacts_to<unsubscribe_msg>,
  // Replace the host's preferences. -> the stored document.
  caf::replies_to<preferences_put>::with<std::string>,
  // Start the host's actor (it reloads its waiting emails).
  caf::reacts_to<wake_msg>>;

/// A WebSocket session, as its host actor sees it: it receives frames to
/// write to its socket. (Sessions are handed around as caf::actor inside
/// subscribe_request; this is the interface they implement.)
using session_api = caf::typed_actor<caf::reacts_to<frame_msg>>;

/// One host's actor. Owns everything that happens to that host.
using host_actor = host_api::extend<
  // From the storage writer (same node): an op of this host was committed.
  caf::reacts_to<commit_done>,
  // From itself: time to check whether it has been idle long enough to stop.
  caf::reacts_to<idle_atom>,
  // From itself: emails may have fallen due. The number is the timer's
  // generation: only the latest armed timer counts.
  caf::reacts_to<email_atom, uint64_t>>;

/// The mailer: sends the outbox's emails over SMTP and retries with backoff.
/// It runs on a thread of its own (SMTP calls block).
using mailer_actor = caf::typed_actor<caf::reacts_to<email_job>,
                                      caf::reacts_to<mailer_page_url>,
                                      caf::reacts_to<email_sent>>;

/// The router: spawns host actors on first use and forwards each request to
/// the host it names (the reply comes straight from the host). In a cluster
/// it is the one place that knows which node owns a host.
using router_actor = host_api::extend<
  // From a host actor: may it stop? -> true when nothing is in flight to it.
  caf::replies_to<retire_request>::with<bool>,
  // From the storage writer: a failed host's queued writes are settled.
  caf::reacts_to<writes_settled>>;

} // namespace bellhop
