// Writing audit entries.
#include "audit.hpp"

#include <atomic>
#include <chrono>

#include <nlohmann/json.hpp>

#include "bellhop/actors/domain.hpp"
#include "bellhop/storage/tables.hpp"

namespace bellhop {

void put_audit(storage::txn_ref t, const audit_entry& e) {
  // Keys sort by time; the sequence number keeps two entries of one
  // microsecond apart. Only the writer thread writes, but an atomic costs
  // nothing here and keeps that an implementation detail.
  static std::atomic<uint64_t> seq{0};
  auto now = std::chrono::system_clock::now();
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                  now.time_since_epoch())
                  .count();
  nlohmann::ordered_json doc;
  doc["at"] = format_time(now);
  doc["hostId"] = e.host_id;
  doc["notificationId"] = e.notification_id;
  doc["action"] = e.action;
  doc["by"] = e.by;
  doc["via"] = e.via;
  doc["session"] = e.session.empty() ? nlohmann::ordered_json(nullptr)
                                     : nlohmann::ordered_json(e.session);
  storage::put(t, t.db->audit,
               storage::audit_key(e.host_id, static_cast<uint64_t>(micros),
                                  seq.fetch_add(1)),
               doc.dump());
}

} // namespace bellhop
