// The host actor's writes, as ops for the storage layer's group-commit
// writer. `apply` runs on the writer thread inside the batch transaction;
// `done` runs there after the commit and tells the host actor by message.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bellhop/actors/domain.hpp"
#include "bellhop/actors/interfaces.hpp"
#include "audit.hpp"
#include "bellhop/storage/store.hpp"

namespace bellhop {

/// What became of an op, as the host actor sees it (commit_done::outcome).
enum class op_outcome : uint8_t {
  committed = 0,
  replay = 1,         ///< idempotency record found: body/location replayed
  key_mismatch = 2,   ///< idempotency key used with another request
  storage_full = 3,
  storage_failed = 4,
};

/// An idempotency record: the first answer to (principal, key), kept for
/// 24 hours. Stored as "expires_ms\nfingerprint\nlocation\nbody".
struct idem_record {
  int64_t expires_ms = 0;
  std::string fingerprint;
  std::string location;
  std::string body;

  std::string encode() const;
  static std::optional<idem_record> decode(std::string_view bytes);
};

/// Creates one notification (and, for a booking, the booking and its
/// calendar entry), bumps the host's counters, and stores the idempotency
/// record.
struct create_op final : storage::write_op {
  host_actor host;
  uint64_t token = 0;
  std::string host_id;
  uint64_t id = 0;
  category cat = category::booking;
  std::string note_json;
  // booking part (empty booking_id: a plain notification)
  std::string booking_id;
  std::string booking_json;
  std::string calendar_key;
  std::string calendar_value;
  // idempotency part (empty idem_key: none)
  std::string idem_key;
  idem_record record;
  // email fallback: when the email falls due (ms since the epoch; 0: none)
  int64_t wait_due_ms = 0;
  std::string created_by;  ///< for the audit log

  storage::status apply(storage::txn_ref t) override;
  void done(storage::status result) override;

private:
  commit_done reply_;
};

/// Appends audit entries, and drops the email waits of `drop_waits` (an ack
/// means no email). Nobody waits for it; an ack's write that fails is sent
/// back to `rewrite_to` (the router) a second later, to be written again.
struct audit_op final : storage::write_op {
  std::vector<audit_entry> entries;
  std::string host_id;
  std::vector<uint64_t> drop_waits;
  router_actor rewrite_to;
  ack_msg ack;

  storage::status apply(storage::txn_ref t) override;
  void done(storage::status result) override;
};

/// Emails that fell due: each id still waiting and unread goes into one
/// outbox entry (one email; a digest when there are several), and its wait
/// is dropped. Acked or read ones are dropped without email.
struct email_due_op final : storage::write_op {
  host_actor host;
  uint64_t token = 0;
  std::string host_id;
  std::vector<uint64_t> ids;  ///< ascending
  std::string to;             ///< empty: no address any more, drop the waits

  storage::status apply(storage::txn_ref t) override;
  void done(storage::status result) override;

private:
  uint64_t first_ = 0;
};

/// Stores a host's preferences.
struct preferences_op final : storage::write_op {
  host_actor host;
  uint64_t token = 0;
  std::string host_id;
  std::string doc;

  storage::status apply(storage::txn_ref t) override;
  void done(storage::status result) override;
};

/// The mailer's bookkeeping: an outbox entry was sent (audit `emailed`) or
/// is not needed any more; either way it leaves the outbox.
/// A write that fails is handed back to `retry_to` (the mailer worker) a
/// second later, to be written again.
struct outbox_done_op final : storage::write_op {
  email_sent sent;  ///< the entry (host, first id) and the ids it carried
  mailer_actor retry_to;

  storage::status apply(storage::txn_ref t) override;
  void done(storage::status result) override;
};

/// Marks notifications read and updates the counters.
struct mark_read_op final : storage::write_op {
  host_actor host;
  uint64_t token = 0;
  mark_read_request req;
  std::string read_at;  ///< RFC 3339 time written into each notification

  storage::status apply(storage::txn_ref t) override;
  void done(storage::status result) override;

private:
  mark_read_reply reply_;
};

} // namespace bellhop
