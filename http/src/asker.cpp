// The REST server's pool of asking actors (asker.hpp).
#include "asker.hpp"

#include <exception>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <caf/send.hpp>

#include "bellhop/actors/messages.hpp"
#include "bellhop/telemetry/log.hpp"

namespace bellhop::http {

namespace {

/// Where a reactor leaves an actor's next ask. Written before the
/// `ask_atom` is sent and read after it is received: the mailbox orders
/// the two.
struct ask_box {
  asker::ask_fn fn;
};

struct member {
  caf::actor actor;
  std::shared_ptr<ask_box> box;
};

} // namespace

struct asker::pool {
  pool(caf::actor_system& sys, std::size_t max_idle)
    : sys(sys), max_idle(max_idle) {
  }
  caf::actor_system& sys;
  const std::size_t max_idle;
  std::mutex mtx;
  std::vector<member> idle;  ///< guarded by mtx
  bool stopped = false;      ///< mtx

  /// An actor done with its ask: back to the pool, or it ends (stopped, or
  /// enough idle ones). On the actor itself.
  void give_back(caf::event_based_actor* self,
                 const std::shared_ptr<ask_box>& box) {
    {
      std::lock_guard<std::mutex> lock{mtx};
      if (!stopped && idle.size() < max_idle) {
        idle.push_back(member{caf::actor_cast<caf::actor>(self), box});
        return;
      }
    }
    self->quit();
  }
};

namespace {

/// A pooled actor: runs each ask left in its box.
caf::behavior asking_actor(caf::event_based_actor* self,
                           std::shared_ptr<asker::pool> p,
                           std::shared_ptr<ask_box> box) {
  return {
    [self, p, box](ask_atom) {
      auto fn = std::move(box->fn);
      box->fn = nullptr;
      auto done = [self, p, box] { p->give_back(self, box); };
      try {
        fn(self, done);
      } catch (const std::exception& e) {
        // The REST server's asks answer their own failures (ask.hpp); one
        // that still throws is logged, and the actor serves the next ask.
        telemetry::log(telemetry::level::error, "ask failed",
                       {{"error", std::string{e.what()}}});
        done();
      }
    },
  };
}

} // namespace

asker::asker(caf::actor_system& sys, std::size_t max_idle)
  : pool_(std::make_shared<pool>(sys, max_idle)) {
}

asker::~asker() {
  stop();
}

void asker::submit(ask_fn fn) {
  member m;
  {
    std::lock_guard<std::mutex> lock{pool_->mtx};
    if (pool_->stopped)
      return;
    if (!pool_->idle.empty()) {
      m = std::move(pool_->idle.back());
      pool_->idle.pop_back();
    }
  }
  if (!m.actor) {
    m.box = std::make_shared<ask_box>();
    m.actor = pool_->sys.spawn(asking_actor, pool_, m.box);
  }
  m.box->fn = std::move(fn);
  caf::anon_send(m.actor, ask_atom::value);
}

std::size_t asker::idle_count() const {
  std::lock_guard<std::mutex> lock{pool_->mtx};
  return pool_->idle.size();
}

void asker::stop() {
  std::vector<member> idle;
  {
    std::lock_guard<std::mutex> lock{pool_->mtx};
    pool_->stopped = true;
    idle.swap(pool_->idle);
  }
  for (auto& m : idle)
    caf::anon_send_exit(m.actor, caf::exit_reason::user_shutdown);
}

} // namespace bellhop::http
