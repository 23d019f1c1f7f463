// Asking the router from a reactor thread without blocking it: one of the
// REST server's asking actors (asker.hpp) sends the request, and its
// response handler (on a CAF worker thread) writes the answer to the
// connection's own descriptor (wire.hpp); a connection that is gone drops
// it.
//
// The request has no timeout: a write is answered when its commit returns
// (a 503 after a deadline could report a failure for a write that still
// commits), host actors answer every request they accept even when a handler
// throws (host_failure.cpp), and a request to an actor that is gone is
// answered by CAF at once. A timeout would also cost two events on CAF's
// clock thread per request (set and cancel) — ~10 % of a booking's CPU.
#pragma once

#include <atomic>
#include <exception>
#include <memory>

#include <caf/event_based_actor.hpp>

#include "bellhop/actors/errors.hpp"
#include "context.hpp"
#include "reply.hpp"

namespace bellhop::http {

/// Sends the error of a failed request in the contract's shape.
void send_actor_error(ResponseWriter& w, const caf::error& err);

/// Logs an answer that threw on an actor's thread (a bug path).
void log_answer_failure(const std::exception& e);

/// Runs `answer` with `ex` as this thread's exchange. One that throws
/// before it answered is answered 503; either way the exchange is let go
/// and the ask stops counting as in flight.
template <class Answer>
void answer_on_actor_thread(exchange& ex, ResponseWriter& w,
                            std::atomic<int64_t>& pending, Answer answer) {
  set_exchange(&ex);
  try {
    answer();
  } catch (const std::exception& e) {
    log_answer_failure(e);
    if (current_exchange() == &ex)
      send_retry_later(w, 503, "unavailable", "try again", 1);
  }
  set_exchange(nullptr);
  pending.fetch_sub(1);
}

/// What an ask's answer needs on the actor's thread: its exchange (with the
/// connection's own descriptor) and the request's writer. One allocation,
/// shared by the ask's handlers.
struct awaited_answer {
  exchange ex;
  ResponseWriter writer;
};

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
  auto a = std::make_shared<awaited_answer>(
    awaited_answer{std::move(ex), std::move(w)});
  auto* pending = &ctx.in_flight;  // the context outlives every ask
  pending->fetch_add(1);
  ctx.asks.submit([router = ctx.router, msg = std::move(msg), a, on_reply,
                   pending](caf::event_based_actor* self,
                            asker::done_fn done) mutable {
    try {
      self->request(router, caf::infinite, std::move(msg))
        .then(
          [a, on_reply, pending, done](Reply& r) mutable {
            answer_on_actor_thread(a->ex, a->writer, *pending,
                                   [&] { on_reply(a->writer, r); });
            done();
          },
          [a, pending, done](caf::error& err) mutable {
            answer_on_actor_thread(a->ex, a->writer, *pending,
                                   [&] { send_actor_error(a->writer, err); });
            done();
          });
    } catch (const std::exception& e) {
      // Out of memory before the handlers were set: none will answer, so
      // this does, and the ask stops counting as in flight (or a stop
      // would wait out its grace for it).
      answer_on_actor_thread(a->ex, a->writer, *pending, [&] {
        log_answer_failure(e);
        send_retry_later(a->writer, 503, "unavailable", "try again", 1);
      });
      done();
    }
  });
}

} // namespace bellhop::http
