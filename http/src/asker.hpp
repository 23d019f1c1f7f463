// The actors that ask the router for the REST reactors, one per reactor
// thread. A reactor thread queues an ask (a function that sends its request
// and writes the answer) in its actor's plain queue under a mutex: the ask
// holds the connection's writer, local state that no message may carry.
// It wakes the actor with an `ask_atom` only when the queue was empty; the
// actor, on a CAF worker, takes every waiting ask at once and sends its
// request. The answers come back to that actor, which writes them (ask.hpp).
//
// Long-lived actors, not one per request: an actor that ends cancels its
// timeouts on CAF's clock thread, which wakes that thread — about two
// context switches and a tenth more CPU per booking (docs/benchmarks.md).
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

namespace bellhop::http {

class asker {
public:
  /// Sends one request from the actor and handles its answer there.
  using ask_fn = std::function<void(caf::event_based_actor*)>;

  /// One actor's waiting asks, shared with its reactor (asker.cpp).
  struct queue;

  /// `lanes` actors (at least one): one per reactor thread.
  asker(caf::actor_system& sys, std::size_t lanes);
  ~asker();
  asker(const asker&) = delete;
  asker& operator=(const asker&) = delete;

  /// Queues `fn` for the calling thread's actor. Once stop() ran, it is
  /// dropped.
  void submit(ask_fn fn);

  /// Sends the asks queued so far, then lets each actor end once their
  /// answers came; later asks are dropped. Called at shutdown (the actor
  /// system waits for every actor), and by the destructor.
  void stop();

private:
  struct lane {
    std::shared_ptr<queue> waiting;
    caf::actor actor;
  };
  std::vector<lane> lanes_;
  std::atomic<std::size_t> next_lane_{0};  ///< hands threads their lane
};

} // namespace bellhop::http
