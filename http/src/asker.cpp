// The REST server's asking actors and their queues (asker.hpp).
#include "asker.hpp"

#include <exception>
#include <mutex>
#include <string>
#include <utility>

#include <caf/send.hpp>

#include "bellhop/actors/messages.hpp"
#include "bellhop/telemetry/log.hpp"

namespace bellhop::http {

struct asker::queue {
  std::mutex mtx;
  std::vector<ask_fn> asks;  ///< guarded by mtx
  bool woken = false;        ///< an ask_atom is on its way; mtx
  bool stopped = false;      ///< mtx
};

namespace {

/// Sends every waiting ask's request. An ask that throws (out of memory)
/// is logged; the others still go. Once stopped, the actor drops its
/// behaviour: CAF keeps it until the answers it awaits came, then it ends.
void send_waiting(caf::event_based_actor* self, asker::queue& q) {
  std::vector<asker::ask_fn> asks;
  bool stopped = false;
  {
    std::lock_guard<std::mutex> lock{q.mtx};
    asks.swap(q.asks);
    q.woken = false;
    stopped = q.stopped;
  }
  for (auto& fn : asks) {
    try {
      fn(self);
    } catch (const std::exception& e) {
      telemetry::log(telemetry::level::error, "ask failed",
                     {{"error", std::string{e.what()}}});
    }
  }
  if (stopped)
    self->unbecome();
}

} // namespace

asker::asker(caf::actor_system& sys, std::size_t lanes) {
  lanes_.resize(lanes > 0 ? lanes : 1);
  for (auto& l : lanes_) {
    l.waiting = std::make_shared<queue>();
    l.actor = sys.spawn([q = l.waiting](caf::event_based_actor* self) {
      // A wake-up after the last one (a submit racing stop) finds no
      // behaviour: dropped quietly.
      self->set_default_handler(caf::drop);
      return caf::behavior{[self, q](ask_atom) { send_waiting(self, *q); }};
    });
  }
}

asker::~asker() {
  stop();
}

void asker::submit(ask_fn fn) {
  // Each thread keeps the lane it was first given (reactor threads are
  // few and live as long as the server).
  thread_local std::size_t mine = next_lane_.fetch_add(1);
  auto& l = lanes_[mine % lanes_.size()];
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock{l.waiting->mtx};
    if (l.waiting->stopped)
      return;
    l.waiting->asks.push_back(std::move(fn));
    wake = !std::exchange(l.waiting->woken, true);
  }
  if (wake)
    caf::anon_send(l.actor, ask_atom::value);
}

void asker::stop() {
  for (auto& l : lanes_) {
    {
      std::lock_guard<std::mutex> lock{l.waiting->mtx};
      if (l.waiting->stopped)
        continue;
      l.waiting->stopped = true;
    }
    caf::anon_send(l.actor, ask_atom::value);
  }
}

} // namespace bellhop::http
