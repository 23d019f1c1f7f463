// Asking the router from a reactor thread without blocking it: a short-lived
// event-based actor sends the request, and its response handler (on a CAF
// worker thread) writes the answer to the connection's own descriptor
// (wire.hpp); a connection that is gone drops it.
//
// The request has no timeout: a write is answered when its commit returns
// (a 503 after a deadline could report a failure for a write that still
// commits), host actors answer every request they accept even when a handler
// throws (host_failure.cpp), and a request to an actor that is gone is
// answered by CAF at once. A timeout would also cost two events on CAF's
// clock thread per request (set and cancel) — ~10 % of a booking's CPU.
#pragma once

#include <memory>

#include <caf/event_based_actor.hpp>

#include "bellhop/actors/errors.hpp"
#include "context.hpp"
#include "reply.hpp"

namespace bellhop::http {

/// Sends the error of a failed request in the contract's shape.
void send_actor_error(ResponseWriter& w, const caf::error& err);

template <class Reply, class Message, class OnReply>
void ask(context& ctx, ResponseWriter w, Message msg, OnReply on_reply) {
  // The answer is sent on a CAF thread: it takes the exchange along, with
  // a descriptor of the connection's own (wire.hpp).
  exchange ex = current_exchange() ? *current_exchange() : exchange{};
  ex.own = own_socket::dup_of(ex.fd);
  if (!ex.own) {  // out of descriptors: nothing asked, nothing written
    send_retry_later(w, 503, "unavailable", "the server is busy", 1);
    return;
  }
  ex.fd = -1;
  set_exchange(nullptr);
  auto writer = std::make_shared<ResponseWriter>(std::move(w));
  auto* pending = &ctx.in_flight;  // the context outlives every ask
  pending->fetch_add(1);
  ctx.sys.spawn([router = ctx.router, msg = std::move(msg), writer, on_reply,
                 pending, ex](caf::event_based_actor* self) mutable {
    self->request(router, caf::infinite, std::move(msg))
      .then(
        [writer, on_reply, pending, ex](Reply& r) mutable {
          set_exchange(&ex);
          on_reply(*writer, r);
          set_exchange(nullptr);
          pending->fetch_sub(1);
        },
        [writer, pending, ex](caf::error& err) mutable {
          set_exchange(&ex);
          send_actor_error(*writer, err);
          set_exchange(nullptr);
          pending->fetch_sub(1);
        });
  });
}

} // namespace bellhop::http
