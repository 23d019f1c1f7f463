// The audit log of who saw what (§4 GET /admin/audit): entries are written
// inside write ops, so they are group-committed with the change they record.
#pragma once

#include <cstdint>
#include <string>

#include "bellhop/storage/store.hpp"

namespace bellhop {

struct audit_entry {
  std::string host_id;
  uint64_t notification_id = 0;
  std::string action;   ///< created, pushed, acked, emailed, email_failed, read
  std::string by;       ///< the principal's id, or "bellhop"
  std::string via;      ///< rest, ws, socketio, email
  std::string session;  ///< the session id, empty for none
};

/// Writes `e`, stamped with the current time, in the transaction `t`.
void put_audit(storage::txn_ref t, const audit_entry& e);

} // namespace bellhop
