// One host's actor: it serialises everything that happens to its host —
// overlap checks, id assignment, counters, mark-read, idempotency — so no
// lock guards host state. Writes are pipelined: the actor hands each write
// to the group-commit writer and goes on with the next message; it answers a
// request only when the writer reports the commit.
#pragma once

#include <exception>
#include <tuple>
#include <type_traits>

#include "bellhop/actors/errors.hpp"

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/typed_response_promise.hpp>

#include "bellhop/actors/core.hpp"
#include "bellhop/actors/interfaces.hpp"
#include "bellhop/actors/preferences.hpp"
#include "bellhop/telemetry/metrics.hpp"

namespace bellhop {

/// A point on the actor clock (steady: a step of the wall clock leaves it
/// alone). Email deadlines in memory are kept on it.
using steady_time = caf::actor_clock::time_point;

/// A stay not yet committed, for the overlap check.
struct pending_stay {
  uint64_t token;
  std::string check_in;
  std::string check_out;
};

/// A live WebSocket session of the host.
struct session_entry {
  caf::actor handle;
  std::string id;
  std::string via;  ///< "ws" or "socketio"
  uint64_t replayed_to = 0;  ///< newest id of its replay (not pushed again)
};

/// A create request waiting for its commit.
struct pending_create {
  caf::typed_response_promise<created_reply> promise;
  created_reply reply;  ///< the answer, once committed
  frame_msg frame;      ///< the event pushed to sessions once committed
  category cat = category::booking;
  /// How long its email waits from `asked` (none: no email).
  std::optional<std::chrono::milliseconds> email_wait;
  steady_time asked;  ///< when it was asked for, on the email timer's clock
  std::chrono::steady_clock::time_point created;  ///< for delivery latency
  std::string room_id;  ///< bookings only
  std::string idem_key; ///< storage key, empty when none
  /// A device acked it before its commit reached this actor (it read the
  /// committed note in a replay): no email wait is kept for it.
  bool acked = false;
};

/// A booking whose stay overlaps only stays not committed yet: it waits
/// for their commits (one that fails does not book the room) and is then
/// checked again.
struct parked_booking {
  booking_request request;
  caf::typed_response_promise<created_reply> promise;
  std::string idem_key;  ///< storage key, empty when none
};

/// Requests that reuse an idempotency key while its first use is in flight.
struct pending_key {
  std::string fingerprint;
  std::vector<caf::typed_response_promise<created_reply>> waiters;
};

struct host_state {
  static inline const char* name = "bellhop.host";

  std::string host_id;
  storage::store* store = nullptr;  ///< local: host actors live where their store is
  router_actor router;
  core_config cfg;

  uint64_t next_id = 1;       ///< id of the next notification
  uint64_t next_token = 1;    ///< id of the next write op
  std::unordered_map<uint64_t, pending_create> creates;
  /// A mark-read waiting for its commit; its read event needs the request.
  struct pending_mark {
    caf::typed_response_promise<mark_read_reply> promise;
    uint8_t mode;
    uint64_t up_to;
  };
  std::unordered_map<uint64_t, pending_mark> marks;
  std::vector<session_entry> sessions;  ///< live sessions (monitored)

  // -- email fallback (host_email.cpp) --
  preferences prefs;
  /// Notifications whose email has not fallen due yet: id -> due. Mirrors
  /// the `waits` table, whose due times are wall-clock ms (for a restart).
  std::map<uint64_t, steady_time> waits;
  std::vector<uint64_t> digest_ids;  ///< fell due, collected for a digest
  std::optional<steady_time> digest_until;  ///< end of the open digest window
  std::optional<steady_time> tick_at;       ///< when the email timer fires
  uint64_t tick_timer = 0;  ///< generation of the armed timer; older ones are void
  /// Email ops waiting for their commit: token -> the ids they take.
  std::unordered_map<uint64_t, std::vector<uint64_t>> email_ops;
  /// PUT /preferences waiting for their commit.
  std::unordered_map<uint64_t,
                     std::pair<caf::typed_response_promise<std::string>,
                               std::string>>
    prefs_puts;
  std::unordered_map<std::string, std::vector<pending_stay>> stays; ///< by room
  std::vector<parked_booking> parked;  ///< in order of arrival
  std::unordered_map<std::string, pending_key> keys;  ///< by storage key

  uint64_t received = 0;  ///< requests received through the router
  caf::actor_clock::time_point last_active;

  bool busy() const {
    return !creates.empty() || !marks.empty() || !sessions.empty()
           || !waits.empty() || !digest_ids.empty() || !email_ops.empty()
           || !prefs_puts.empty() || !parked.empty();
  }
};

host_actor::behavior_type
host(host_actor::stateful_pointer<host_state> self, std::string host_id,
     storage::store* st, router_actor router, core_config cfg);

using host_self = host_actor::stateful_pointer<host_state>;

// -- failure (host_failure.cpp) --

/// A handler threw: answers every pending request with an error and stops
/// the actor. Returns that error, for the request being handled.
caf::error fail_pending(host_self self, const std::string& what);

/// Runs the handler body `f`; when it throws, fails the host (above) and
/// answers the current request, if any, with the same kind of error.
template <class F>
auto guarded(host_self self, F f) -> decltype(f()) {
  caf::error err;
  try {
    return f();
  } catch (const std::exception& e) {
    err = fail_pending(self, e.what());
  } catch (...) {
    err = fail_pending(self, "unknown exception");
  }
  if constexpr (!std::is_void_v<decltype(f())>)
    return err;
}

/// Answers `promises` with "try again" if the scope is left by an
/// exception while they are still owed: a handler that took them out of the
/// state holds them alone, where fail_pending cannot see them.
template <class... Promises>
class owed_on_throw {
public:
  explicit owed_on_throw(Promises&... ps)
    : ps_(ps...), unwinding_(std::uncaught_exceptions()) {
  }
  ~owed_on_throw() {
    if (std::uncaught_exceptions() <= unwinding_)
      return;
    auto err = make_error(ec::unavailable, "try again");
    std::apply([&](auto&... p) { (answer(p, err), ...); }, ps_);
  }
  owed_on_throw(const owed_on_throw&) = delete;
  owed_on_throw& operator=(const owed_on_throw&) = delete;

private:
  template <class T>
  static void answer(caf::typed_response_promise<T>& p, const caf::error& err) {
    if (p.pending())
      p.deliver(err);
  }
  template <class T>
  static void answer(std::vector<T>& ps, const caf::error& err) {
    for (auto& p : ps)
      answer(p, err);
  }
  std::tuple<Promises&...> ps_;
  int unwinding_;
};

// -- sessions (host_sessions.cpp) --

/// The socket frame of a notification: {"event":"<type>","data":<doc>}.
std::string event_frame(std::string_view type, std::string_view doc);
/// Adds a session: hello figures and the replay of missed notifications.
caf::result<subscribe_reply> on_subscribe(host_self self, subscribe_request& r);
/// Forgets a session that ended or is closing.
void on_session_down(host_self self, const caf::actor_addr& who);
/// A session is closing: forgets it now rather than when it ends.
void on_unsubscribe(host_self self, const caf::actor& session);
/// The metrics channel of a session's protocol ("ws" or "socketio").
telemetry::channel channel_of(const std::string& via);
/// Sends one frame to every live session (built once, shared by all).
/// Notification frames are recorded as `pushed` in the audit log.
void broadcast(host_self self, frame_msg frame);

// -- email fallback (host_email.cpp) --

/// Loads the preferences and the waiting emails of the host.
void load_email_state(host_self self);
/// How long a new notification's email waits (none: no email).
std::optional<std::chrono::milliseconds> email_wait_for(host_self self,
                                                        category cat);
/// A notification with an email wait was committed; `pushed`: it went to
/// the host's live sessions.
void on_wait_committed(host_self self, uint64_t id, steady_time due,
                       bool pushed);
/// The email timer fired.
void on_email_tick(host_self self);
/// An email op was committed.
void on_email_committed(host_self self, commit_done& msg);
/// A device acked `id`: the audit entry, and its email wait dropped on
/// disk. Done by the router as the ack passes, so that an ack still in a
/// host actor's mailbox when that actor fails is not lost with it.
void record_ack(storage::store& st, const ack_msg& a, router_actor router);
/// A device acked `id`: the email timer forgets it.
void on_ack(host_self self, const ack_msg& a);
/// Notifications were read: their emails are off.
void forget_waits(host_self self, const std::vector<uint64_t>& ids);
/// PUT /preferences.
caf::result<std::string> on_preferences(host_self self, preferences_put& p);
/// A preferences op was committed.
void on_preferences_committed(host_self self, commit_done& msg);

} // namespace bellhop
