// Typed access to bellhop's tables: key encoders, get/put/del, a cursor, and
// the binary per-host counters record. Every function throws lmdb_error on
// an LMDB error other than "not found".
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bellhop/storage/store.hpp"

namespace bellhop::storage {

/// Number of notification categories (booking, review, message, system).
constexpr std::size_t category_count = 4;

/// A host's counters. The host actor is the only writer of its record.
struct host_counters {
  uint64_t next_id = 1;    ///< the id the next notification gets
  uint64_t latest_id = 0;  ///< the newest notification's id (0: none)
  uint64_t unread = 0;     ///< unread notifications, all categories
  std::array<uint64_t, category_count> unread_by_category{};
  std::array<uint64_t, category_count> latest_by_category{};
};

// -- keys ------------------------------------------------------------------

/// host \0 id, the id big-endian so that keys sort by id.
std::string note_key(std::string_view host, uint64_t id);
/// Where a host's counters record lives: in the notes table, right after
/// the host's newest possible note key (note_key(host, 2^64-1) + '\0').
/// Every booking writes its note and the counters; kept side by side they
/// usually share one leaf page, so a commit copies and writes one page for
/// both instead of one in each of two trees. Every walk over a host's notes
/// checks the key's length (has_prefix), which this key fails.
std::string counters_key(std::string_view host);
/// The id part of a note_key or unread_key.
uint64_t note_key_id(std::string_view key);
/// "host\0": the prefix of the host's notes and counters record.
std::string host_prefix(std::string_view host);
/// True when `key` is `prefix` followed by exactly `suffix_size` bytes.
inline bool has_prefix(std::string_view key, std::string_view prefix,
                       std::size_t suffix_size) {
  return key.size() == prefix.size() + suffix_size
         && key.substr(0, prefix.size()) == prefix;
}
// Since schema 3 a host's unread marks, audit entries and calendar sit in
// the notes table too, under "host \1 <kind>": all of one host's records are
// one contiguous key range (host ids never contain bytes below '-'), so for
// a host with few records a booking's note, counters, unread mark, audit
// entry and calendar entry share one leaf page, and a commit copies and
// writes that one page instead of one in each of five trees. Walks over
// notes stop at "host \1" (has_prefix fails); the handles db->unread,
// db->audit and db->calendar name the kind of record and are the notes
// table.
/// host \1 'U' id(BE64): the unread index (value: category byte).
std::string unread_key(std::string_view host, uint64_t id);
/// host \1 'U': the prefix of every unread key of the host.
std::string unread_prefix(std::string_view host);
/// host \1 'A': the prefix of every audit key of the host.
std::string audit_prefix(std::string_view host);
/// host \1 'A' micros(BE64) seq(BE64): audit entries sort by time.
std::string audit_key(std::string_view host, uint64_t micros, uint64_t seq);
/// host \1 'C' room \0 checkIn (YYYY-MM-DD sorts as dates do).
std::string calendar_key(std::string_view host, std::string_view room,
                         std::string_view check_in);
/// principal \0 key; when that is longer than LMDB's keys may be (511
/// bytes: a service's long sub with a long key), \1 and the SHA-256 of it
/// instead (no principal begins with \1).
std::string idem_key(std::string_view principal, std::string_view key);

// -- plain access ------------------------------------------------------------

/// The value under `key`, valid until the transaction ends.
std::optional<std::string_view> get(txn_ref t, MDB_dbi dbi,
                                     std::string_view key);
void put(txn_ref t, MDB_dbi dbi, std::string_view key, std::string_view val);
/// Deletes `key`; returns false when it was not there.
bool del(txn_ref t, MDB_dbi dbi, std::string_view key);

host_counters get_counters(txn_ref t, std::string_view host);
void put_counters(txn_ref t, std::string_view host, const host_counters& c);

// -- cursor -----------------------------------------------------------------

/// A cursor over one table. Positions return false when there is no entry.
class cursor {
public:
  cursor(txn_ref t, MDB_dbi dbi);
  ~cursor();
  cursor(const cursor&) = delete;
  cursor& operator=(const cursor&) = delete;

  /// The first entry of the table.
  bool first();
  /// First entry with key >= k.
  bool seek(std::string_view k);
  /// Last entry with key < k.
  bool seek_before(std::string_view k);
  bool next();
  bool prev();
  std::string_view key() const {
    return key_;
  }
  std::string_view value() const {
    return val_;
  }

private:
  bool move(MDB_cursor_op op, std::string_view k = {});
  MDB_cursor* cur_ = nullptr;
  std::string_view key_;
  std::string_view val_;
};

} // namespace bellhop::storage
