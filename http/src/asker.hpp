// The actors that ask the router for the REST reactors: a pool of
// long-lived actors, each with one ask at a time. A reactor thread takes
// an idle actor (or makes one), puts its ask (a function that sends the
// request and writes the answer) in the actor's box, and wakes it with an
// `ask_atom`: the ask holds the connection's writer, local state that no
// message may carry. The actor sends the request; the answer comes back to
// it, it writes the answer and returns to the pool.
//
// Long-lived, not one actor per request: an actor that ends cancels its
// timeouts on CAF's clock thread, which wakes that thread, about two
// context switches per booking (docs/benchmarks.md). One actor per ask,
// not one for many: an answer then wakes an actor waiting for nothing
// else, and runs at once on the worker that delivered it.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

namespace bellhop::http {

class asker {
public:
  /// Called by the ask once its answer is written: the actor goes back to
  /// the pool.
  using done_fn = std::function<void()>;
  /// Sends one request from `self` and, in its handlers, writes the answer
  /// and then calls `done` (exactly once).
  using ask_fn = std::function<void(caf::event_based_actor* self,
                                    done_fn done)>;

  /// The idle actors and the boxes of all (asker.cpp).
  struct pool;

  /// Keeps at most `max_idle` idle actors; more asks at once make more,
  /// which end after their answer.
  asker(caf::actor_system& sys, std::size_t max_idle);
  ~asker();
  asker(const asker&) = delete;
  asker& operator=(const asker&) = delete;

  /// Hands `fn` to an idle actor, or a new one (any thread). Once stop()
  /// ran, it is dropped.
  void submit(ask_fn fn);

  /// How many actors wait in the pool now (any thread).
  std::size_t idle_count() const;

  /// Ends the idle actors; each busy one ends after its answer. Later asks
  /// are dropped. Called at shutdown (the actor system waits for every
  /// actor), and by the destructor.
  void stop();

private:
  std::shared_ptr<pool> pool_;
};

} // namespace bellhop::http
