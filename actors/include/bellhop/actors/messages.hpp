// Every message that crosses an actor boundary in bellhop. Each is a plain
// value (no pointers, no references to local state) with an `inspect`
// overload, and all of them sit in one type-ID block, so that a host actor
// may live on another CAF node without a change to its callers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
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
  std::string session_id;  ///< the socket session that asked, if any
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mark_read_request& x) {
  return f(caf::meta::type_name("mark_read_request"), x.host_id, x.mode, x.ids,
           x.up_to, x.by, x.via, x.session_id);
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
  uint64_t email_first = 0;  ///< email ops: the outbox entry made (0: none)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, commit_done& x) {
  return f(caf::meta::type_name("commit_done"), x.token, x.outcome, x.body,
           x.location, x.marked, x.email_first);
}

/// A WebSocket session joins its host's room. Session -> router -> host.
/// From then on the host pushes every new notification and read event to
/// `session` as frame_msg, until the session ends (the host monitors it).
struct subscribe_request {
  std::string host_id;
  caf::actor session;      ///< a session_actor (interfaces.hpp)
  std::string session_id;
  bool has_after = false;  ///< replay notifications with id > after
  uint64_t after = 0;
  std::string via = "ws";  ///< "ws" or "socketio", for the audit log
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, subscribe_request& x) {
  return f(caf::meta::type_name("subscribe_request"), x.host_id, x.session,
           x.session_id, x.has_after, x.after, x.via);
}

/// One text frame for a session: a notification event (id > 0) or a read
/// event (id 0). Built once by the host and sent to all its sessions.
struct frame_msg {
  uint64_t id = 0;
  std::string text;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, frame_msg& x) {
  return f(caf::meta::type_name("frame_msg"), x.id, x.text);
}

/// The answer to subscribe: what the hello frame says, and the missed
/// notifications (oldest first, at most 100) when `after` was given.
struct subscribe_reply {
  uint64_t unread = 0;
  uint64_t latest_id = 0;
  std::vector<frame_msg> replay;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, subscribe_reply& x) {
  return f(caf::meta::type_name("subscribe_reply"), x.unread, x.latest_id,
           x.replay);
}

/// A device confirmed a notification. Session -> router -> host.
struct ack_msg {
  std::string host_id;
  uint64_t id = 0;
  std::string session_id;
  std::string via = "ws";  ///< "ws" or "socketio", for the audit log
  std::string by;  ///< the sub of the socket's token (an admin's, say); "": the host
  /// Its write failed (storage full or failing): the router writes it
  /// again and does not pass it on (the host actor has it already).
  bool rewrite = false;
  /// Its `acked` entry is on disk already: a rewrite only drops the email
  /// wait again (the host's second delete after an early ack).
  bool audited = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ack_msg& x) {
  return f(caf::meta::type_name("ack_msg"), x.host_id, x.id, x.session_id,
           x.via, x.by, x.rewrite, x.audited);
}

/// A session takes no more frames: it is closing, or waiting for its last
/// acks before it closes. Session -> router -> host, which stops counting it
/// as live (no pushes, no ack window, no `pushed` records).
struct unsubscribe_msg {
  std::string host_id;
  caf::actor session;  ///< as in its subscribe_request
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unsubscribe_msg& x) {
  return f(caf::meta::type_name("unsubscribe_msg"), x.host_id, x.session);
}

/// PUT /preferences, validated by the caller. Router -> host actor, which
/// answers with the stored document.
struct preferences_put {
  std::string host_id;
  std::string doc;  ///< the §4 document, normalised
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, preferences_put& x) {
  return f(caf::meta::type_name("preferences_put"), x.host_id, x.doc);
}

/// Wakes a host actor (at start-up, for hosts with emails still waiting).
struct wake_msg {
  std::string host_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, wake_msg& x) {
  return f(caf::meta::type_name("wake_msg"), x.host_id);
}

/// Storage writer -> idempotency sweeper: one chunk of a sweep pass was
/// committed; the pass goes on from `next` unless it is `finished`.
struct sweep_progress {
  std::string next;
  uint64_t removed = 0;
  bool finished = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sweep_progress& x) {
  return f(caf::meta::type_name("sweep_progress"), x.next, x.removed,
           x.finished);
}

/// Host actor (or start-up) -> mailer: send the outbox entry of
/// (host_id, first_id). `attempt` counts the tries so far.
struct email_job {
  std::string host_id;
  uint64_t first_id = 0;
  uint32_t attempt = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, email_job& x) {
  return f(caf::meta::type_name("email_job"), x.host_id, x.first_id,
           x.attempt);
}

/// Mailer worker -> itself, a second after the write that closes a sent
/// email's outbox entry failed (storage full): write it again, so that the
/// `emailed` audit entries land and no restart sends the email again.
struct email_sent {
  std::string host_id;
  uint64_t first_id = 0;       ///< the outbox entry's key
  std::vector<uint64_t> ids;   ///< the notifications the email carried
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, email_sent& x) {
  return f(caf::meta::type_name("email_sent"), x.host_id, x.first_id, x.ids);
}

/// Start-up -> mailer: the page's address, linked in every email (known
/// once the REST port is bound).
struct mailer_page_url {
  std::string url;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mailer_page_url& x) {
  return f(caf::meta::type_name("mailer_page_url"), x.url);
}

/// Storage writer -> router (same node): every write queued before a host
/// actor failed has been committed or has failed, so a new host actor may
/// read that host's state from the store.
struct writes_settled {
  std::string host_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, writes_settled& x) {
  return f(caf::meta::type_name("writes_settled"), x.host_id);
}

/// Gateway -> session (same node): a text frame from the client.
struct client_text {
  std::string text;
  /// When it arrived: the steady clock's count since its epoch, taken on
  /// the gateway's thread, so that the per-second limit counts arrivals,
  /// not the moments a busy session handles them. 0: when handled.
  int64_t arrived = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, client_text& x) {
  return f(caf::meta::type_name("client_text"), x.text, x.arrived);
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
  CAF_ADD_TYPE_ID(bellhop, (bellhop::subscribe_request))
  CAF_ADD_TYPE_ID(bellhop, (bellhop::frame_msg))
  CAF_ADD_TYPE_ID(bellhop, (bellhop::subscribe_reply))
  CAF_ADD_TYPE_ID(bellhop, (bellhop::ack_msg))
  CAF_ADD_TYPE_ID(bellhop, (bellhop::client_text))
  CAF_ADD_TYPE_ID(bellhop, (bellhop::preferences_put))
  CAF_ADD_TYPE_ID(bellhop, (bellhop::wake_msg))
  CAF_ADD_TYPE_ID(bellhop, (bellhop::email_job))
  CAF_ADD_TYPE_ID(bellhop, (bellhop::mailer_page_url))
  CAF_ADD_TYPE_ID(bellhop, (bellhop::sweep_progress))
  CAF_ADD_TYPE_ID(bellhop, (bellhop::writes_settled))
  CAF_ADD_ATOM(bellhop, bellhop, idle_atom, "idle")
  // Session timers and the gateway's notice that the socket closed.
  CAF_ADD_ATOM(bellhop, bellhop, ttl_atom, "ttl")
  CAF_ADD_ATOM(bellhop, bellhop, expiry_atom, "expiry")
  CAF_ADD_ATOM(bellhop, bellhop, ping_atom, "ping")
  CAF_ADD_ATOM(bellhop, bellhop, closed_atom, "closed")
  // Host -> its sessions: the host actor failed; the session closes (1011)
  // and the device comes back to the host's next actor.
  CAF_ADD_ATOM(bellhop, bellhop, host_down_atom, "hostdown")
  // A host actor's email timer.
  CAF_ADD_ATOM(bellhop, bellhop, email_atom, "email")
  // The idempotency sweeper's timer.
  CAF_ADD_ATOM(bellhop, bellhop, sweep_atom, "sweep")
  // Added later; at the end, so that the IDs above keep their numbers.
  CAF_ADD_TYPE_ID(bellhop, (bellhop::unsubscribe_msg))
  // A session's wait for the acks of what it wrote before closing is over.
  CAF_ADD_ATOM(bellhop, bellhop, grace_atom, "grace")
  CAF_ADD_TYPE_ID(bellhop, (bellhop::email_sent))
  // One of the REST server's asking actors has an ask in its box.
  CAF_ADD_ATOM(bellhop, bellhop, ask_atom, "ask")
CAF_END_TYPE_ID_BLOCK(bellhop)
