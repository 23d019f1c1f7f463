// Read-only questions about a host, answered from an LMDB snapshot on the
// caller's thread. They bypass the host's mailbox on purpose: a snapshot
// holds only committed data, and every write is answered after its commit,
// so a reader never sees less than what a client was told is stored.
// Cost: one read transaction (no lock, no I/O) plus O(items) cursor steps;
// a filter (a category, a notification's audit entries) looks at no more
// than scan_limit records for one page.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bellhop/actors/domain.hpp"

namespace bellhop::storage {
class store;
}

namespace bellhop {

struct count_result {
  uint64_t unread = 0;
  uint64_t latest_id = 0;
};

/// Where a page of the list starts and which way it runs.
struct list_query {
  bool ascending = false;  ///< after= mode: oldest first
  uint64_t from = 0;       ///< exclusive bound: ids < from (desc), > from (asc)
  bool has_from = false;
  bool unread_only = false;
  std::optional<category> cat;
  std::size_t limit = 20;
};

/// Records a filtered page looks at, at most. The reader's thread (a REST
/// reactor) serves every other request too: a host with a million
/// notifications and none of the category asked for must not hold it for
/// a second. A page that stops here has fewer items than asked for, or
/// none, and a cursor that goes on from the last record looked at. Far
/// above the largest page (100): only a filter stops a page short.
constexpr std::size_t scan_limit = 10'000;

struct list_page {
  std::string items;                  ///< a JSON array
  std::optional<std::string> cursor;  ///< the next page's cursor, if any
  uint64_t unread = 0;
};

class host_queries {
public:
  explicit host_queries(const storage::store& st,
                        std::size_t max_scanned = scan_limit)
    : store_(st), max_scanned_(max_scanned) {
  }

  count_result count(std::string_view host, std::optional<category> cat) const;
  list_page list(std::string_view host, const list_query& q) const;
  /// The booking's JSON, or nullopt.
  std::optional<std::string> booking(std::string_view id) const;

  /// The host's preferences document (the defaults when none is stored).
  std::string preferences(std::string_view host) const;

  /// A page of the host's audit log, newest first: a JSON array and the
  /// next page's cursor. `notification_id` 0: every entry.
  list_page audit(std::string_view host, std::size_t limit,
                  std::optional<std::string> cursor_key,
                  uint64_t notification_id) const;

  /// Audit cursors: base64url of the last key's time and sequence.
  static std::string encode_audit_cursor(std::string_view key_suffix);
  static std::optional<std::string> decode_audit_cursor(std::string_view c);

  /// Cursors are opaque to clients: base64url of "d:<id>" or "a:<id>".
  static std::string encode_cursor(bool ascending, uint64_t id);
  /// Sets q.ascending/q.from; false for a malformed cursor.
  static bool decode_cursor(std::string_view cursor, list_query& q);

private:
  const storage::store& store_;
  std::size_t max_scanned_;  ///< per page (scan_limit; tests use less)
};

} // namespace bellhop
