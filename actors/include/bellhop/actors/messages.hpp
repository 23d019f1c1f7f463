// Every message that crosses an actor boundary in bellhop. Each is a plain
// value (no pointers, no references to local state) with an `inspect`
// overload, and all of them sit in one type-ID block, so that a host actor
// may live on another CAF node without a change to its callers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/type_id.hpp>

namespace bellhop {

/// POST /bookings, validated by the caller. Router -> host actor.
struct booking_request {
  std::string principal;    ///< "role:sub" of the caller (idempotency scope)
  std::string idem_key;     ///< Idempotency-Key, empty when absent
  std::string fingerprint;  ///< digest of the normalised request
  std::string host_id;
  std::string room_id;
  std::string guest_id;
  std::string check_in;   ///< YYYY-MM-DD
  std::string check_out;  ///< YYYY-MM-DD, after check_in
  int32_t guests = 1;
  bool has_note = false;
  std::string note;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, booking_request& x) {
  return f(caf::meta::type_name("booking_request"), x.principal, x.idem_key,
           x.fingerprint, x.host_id, x.room_id, x.guest_id, x.check_in,
           x.check_out, x.guests, x.has_note, x.note);
}

/// POST /notifications, validated by the caller. Router -> host actor.
struct notification_request {
  std::string principal;
  std::string idem_key;
  std::string fingerprint;
  std::string host_id;
  std::string type;
  std::string title;
  std::string body;
  std::string data_json;  ///< a JSON object, "{}" when absent
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, notification_request& x) {
  return f(caf::meta::type_name("notification_request"), x.principal,
           x.idem_key, x.fingerprint, x.host_id, x.type, x.title, x.body,
           x.data_json);
}

/// The answer to a create request: the `201` body and its Location header
/// (empty for notifications). A replayed idempotent request gets the first
/// answer again, byte for byte.
struct created_reply {
  std::string body;
  std::string location;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, created_reply& x) {
  return f(caf::meta::type_name("created_reply"), x.body, x.location);
}

/// How a mark-read request selects notifications.
enum class mark_mode : uint8_t { ids = 0, up_to = 1, all = 2 };

/// POST /notifications/mark-read (or the socket's mark-read op).
struct mark_read_request {
  std::string host_id;
  uint8_t mode = 0;  ///< a mark_mode
  std::vector<uint64_t> ids;
  uint64_t up_to = 0;
  std::string by;   ///< principal id, for the audit log
  std::string via;  ///< "rest", "ws" or "socketio"
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mark_read_request& x) {
  return f(caf::meta::type_name("mark_read_request"), x.host_id, x.mode, x.ids,
           x.up_to, x.by, x.via);
}

/// The answer to mark-read: how many changed and what is left unread.
struct mark_read_reply {
  uint64_t updated = 0;
  uint64_t unread = 0;
  uint64_t latest_id = 0;
  std::vector<uint64_t> changed;  ///< ids that changed (mode ids only)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mark_read_reply& x) {
  return f(caf::meta::type_name("mark_read_reply"), x.updated, x.unread,
           x.latest_id, x.changed);
}

/// Host actor -> router: "I have been idle; may I stop?". `received` counts
/// the messages the host got from the router; the router agrees only when it
/// has forwarded exactly that many, so nothing is in flight to the host.
struct retire_request {
  std::string host_id;
  uint64_t received = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, retire_request& x) {
  return f(caf::meta::type_name("retire_request"), x.host_id, x.received);
}

/// Writer thread -> host actor: the write op `token` has been committed (or
/// failed). Sent by the storage layer on the host's own node.
struct commit_done {
  uint64_t token = 0;
  uint8_t outcome = 0;  ///< an op_outcome (see write_ops.hpp)
  std::string body;      ///< replayed body / reason, by outcome
  std::string location;  ///< replayed Location
  mark_read_reply marked;  ///< mark-read ops only
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, commit_done& x) {
  return f(caf::meta::type_name("commit_done"), x.token, x.outcome, x.body,
           x.location, x.marked);
}

} // namespace bellhop

CAF_BEGIN_TYPE_ID_BLOCK(bellhop, caf::first_custom_type_id)
  CAF_ADD_TYPE_ID(bellhop, (bellhop::booking_request))
  CAF_ADD_TYPE_ID(bellhop, (bellhop::notification_request))
  CAF_ADD_TYPE_ID(bellhop, (bellhop::created_reply))
  CAF_ADD_TYPE_ID(bellhop, (bellhop::mark_read_request))
  CAF_ADD_TYPE_ID(bellhop, (bellhop::mark_read_reply))
  CAF_ADD_TYPE_ID(bellhop, (bellhop::retire_request))
  CAF_ADD_TYPE_ID(bellhop, (bellhop::commit_done))
  CAF_ADD_ATOM(bellhop, bellhop, idle_atom, "idle")
CAF_END_TYPE_ID_BLOCK(bellhop)
