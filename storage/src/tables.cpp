// Key encoders, get/put/del, the cursor, and the counters codec.
#include "bellhop/storage/tables.hpp"

#include <cstring>

#include <openssl/sha.h>

namespace bellhop::storage {

namespace {

/// LMDB's longest key (MDB_MAXKEYSIZE, fixed when LMDB is built: Debian's
/// is the default, 511 bytes).
constexpr std::size_t max_key_size = 511;

MDB_val as_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

std::string_view as_view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

void append_be64(std::string& out, uint64_t x) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((x >> shift) & 0xff));
}

uint64_t read_le64(const char* p) {
  uint64_t x = 0;
  for (int i = 7; i >= 0; --i)
    x = (x << 8) | static_cast<unsigned char>(p[i]);
  return x;
}

void append_le64(std::string& out, uint64_t x) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
}

constexpr std::size_t counters_fields = 3 + 2 * category_count;

} // namespace

std::string note_key(std::string_view host, uint64_t id) {
  std::string k;
  k.reserve(host.size() + 9);
  k.append(host);
  k.push_back('\0');
  append_be64(k, id);
  return k;
}

std::string counters_key(std::string_view host) {
  auto k = note_key(host, UINT64_MAX);
  k.push_back('\0');
  return k;
}

std::string host_prefix(std::string_view host) {
  std::string k{host};
  k.push_back('\0');
  return k;
}

namespace {

/// host \1 kind: the prefix of one kind of a host's other records.
std::string kind_prefix(std::string_view host, char kind) {
  std::string k;
  k.reserve(host.size() + 24);
  k.append(host);
  k.push_back('\1');
  k.push_back(kind);
  return k;
}

} // namespace

std::string unread_prefix(std::string_view host) {
  return kind_prefix(host, 'U');
}

std::string unread_key(std::string_view host, uint64_t id) {
  auto k = unread_prefix(host);
  append_be64(k, id);
  return k;
}

std::string audit_prefix(std::string_view host) {
  return kind_prefix(host, 'A');
}

std::string audit_key(std::string_view host, uint64_t micros, uint64_t seq) {
  auto k = audit_prefix(host);
  append_be64(k, micros);
  append_be64(k, seq);
  return k;
}

uint64_t note_key_id(std::string_view key) {
  uint64_t x = 0;
  if (key.size() < 8)
    return 0;
  for (auto c : key.substr(key.size() - 8))
    x = (x << 8) | static_cast<unsigned char>(c);
  return x;
}

std::string calendar_key(std::string_view host, std::string_view room,
                         std::string_view check_in) {
  auto k = kind_prefix(host, 'C');
  k.append(room).push_back('\0');
  k.append(check_in);
  return k;
}

std::string idem_key(std::string_view principal, std::string_view key) {
  std::string k;
  k.reserve(principal.size() + key.size() + 1);
  k.append(principal).push_back('\0');
  k.append(key);
  if (k.size() <= max_key_size)
    return k;
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(k.data()), k.size(), md);
  std::string hashed{'\1'};
  hashed.append(reinterpret_cast<const char*>(md), sizeof md);
  return hashed;
}

std::optional<std::string_view> get(txn_ref t, MDB_dbi dbi,
                                     std::string_view key) {
  auto k = as_val(key);
  MDB_val v;
  int rc = mdb_get(t.txn, dbi, &k, &v);
  if (rc == MDB_NOTFOUND)
    return std::nullopt;
  if (rc != 0)
    throw lmdb_error(rc);
  return as_view(v);
}

void put(txn_ref t, MDB_dbi dbi, std::string_view key, std::string_view val) {
  auto k = as_val(key);
  auto v = as_val(val);
  if (int rc = mdb_put(t.txn, dbi, &k, &v, 0); rc != 0)
    throw lmdb_error(rc);
}

bool del(txn_ref t, MDB_dbi dbi, std::string_view key) {
  auto k = as_val(key);
  int rc = mdb_del(t.txn, dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND)
    return false;
  if (rc != 0)
    throw lmdb_error(rc);
  return true;
}

host_counters get_counters(txn_ref t, std::string_view host) {
  host_counters c;
  auto v = get(t, t.db->notes, counters_key(host));
  if (!v || v->size() != counters_fields * 8)
    return c;
  const char* p = v->data();
  c.next_id = read_le64(p);
  c.latest_id = read_le64(p + 8);
  c.unread = read_le64(p + 16);
  for (std::size_t i = 0; i < category_count; ++i) {
    c.unread_by_category[i] = read_le64(p + 24 + 8 * i);
    c.latest_by_category[i] = read_le64(p + 24 + 8 * (category_count + i));
  }
  return c;
}

void put_counters(txn_ref t, std::string_view host, const host_counters& c) {
  std::string v;
  v.reserve(counters_fields * 8);
  append_le64(v, c.next_id);
  append_le64(v, c.latest_id);
  append_le64(v, c.unread);
  for (auto x : c.unread_by_category)
    append_le64(v, x);
  for (auto x : c.latest_by_category)
    append_le64(v, x);
  put(t, t.db->notes, counters_key(host), v);
}

cursor::cursor(txn_ref t, MDB_dbi dbi) {
  if (int rc = mdb_cursor_open(t.txn, dbi, &cur_); rc != 0)
    throw lmdb_error(rc);
}

cursor::~cursor() {
  mdb_cursor_close(cur_);
}

bool cursor::move(MDB_cursor_op op, std::string_view k) {
  MDB_val key = as_val(k);
  MDB_val val{0, nullptr};
  int rc = mdb_cursor_get(cur_, &key, &val, op);
  if (rc == MDB_NOTFOUND)
    return false;
  if (rc != 0)
    throw lmdb_error(rc);
  key_ = as_view(key);
  val_ = as_view(val);
  return true;
}

bool cursor::first() {
  return move(MDB_FIRST);
}

bool cursor::seek(std::string_view k) {
  return move(MDB_SET_RANGE, k);
}

bool cursor::seek_before(std::string_view k) {
  if (move(MDB_SET_RANGE, k))
    return move(MDB_PREV);
  return move(MDB_LAST);
}

bool cursor::next() {
  return move(MDB_NEXT);
}

bool cursor::prev() {
  return move(MDB_PREV);
}

} // namespace bellhop::storage
