// One host's actor: it serialises everything that happens to its host —
// overlap checks, id assignment, counters, mark-read, idempotency — so no
// lock guards host state. Writes are pipelined: the actor hands each write
// to the group-commit writer and goes on with the next message; it answers a
// request only when the writer reports the commit.
#pragma once

#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/typed_response_promise.hpp>

#include "bellhop/actors/core.hpp"
#include "bellhop/actors/interfaces.hpp"

namespace bellhop {

/// A stay not yet committed, for the overlap check.
struct pending_stay {
  uint64_t token;
  std::string check_in;
  std::string check_out;
};

/// A create request waiting for its commit.
struct pending_create {
  caf::typed_response_promise<created_reply> promise;
  created_reply reply;  ///< the answer, once committed
  frame_msg frame;      ///< the event pushed to sessions once committed
  std::string room_id;  ///< bookings only
  std::string idem_key; ///< storage key, empty when none
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
  std::vector<caf::actor> sessions;  ///< live WebSocket sessions (monitored)
  std::deque<uint64_t> acked;        ///< recently acked ids, newest last
  std::unordered_map<std::string, std::vector<pending_stay>> stays; ///< by room
  std::unordered_map<std::string, pending_key> keys;  ///< by storage key

  uint64_t received = 0;  ///< requests received through the router
  caf::actor_clock::time_point last_active;

  bool busy() const {
    return !creates.empty() || !marks.empty() || !sessions.empty();
  }
};

host_actor::behavior_type
host(host_actor::stateful_pointer<host_state> self, std::string host_id,
     storage::store* st, router_actor router, core_config cfg);

} // namespace bellhop
