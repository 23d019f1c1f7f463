// Schema upgrades (migrate.hpp). Runs once per open, in the opening
// transaction, before any reader or the writer thread exists.
#include "migrate.hpp"

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "bellhop/storage/tables.hpp"
#include "lmdb_check.hpp"

namespace bellhop::storage {

namespace {

void check_version(MDB_txn* txn, MDB_dbi meta) {
  MDB_val k{7, const_cast<char*>("version")};
  MDB_val v;
  int rc = mdb_get(txn, meta, &k, &v);
  if (rc == MDB_NOTFOUND)
    return;
  check(rc, "reading the schema version");
  std::string found{static_cast<const char*>(v.mv_data), v.mv_size};
  if (found.size() > 1 || found > schema_version)
    throw std::runtime_error("the data directory has schema version " + found
                             + ", newer than this bellhop's ("
                             + schema_version + ")");
}

using rekey = std::function<std::string(std::string_view)>;

/// Moves every record of the table `name`, if it exists, into `notes` under
/// `new_key(old key)`, then deletes the table.
void move_table(MDB_txn* txn, const char* name, MDB_dbi notes,
                const rekey& new_key) {
  MDB_dbi from;
  int rc = mdb_dbi_open(txn, name, 0, &from);
  if (rc == MDB_NOTFOUND)
    return;
  check(rc, std::string{"opening "} + name);
  MDB_cursor* cur = nullptr;
  check(mdb_cursor_open(txn, from, &cur), "mdb_cursor_open");
  MDB_val k, v;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    auto key = new_key({static_cast<const char*>(k.mv_data), k.mv_size});
    MDB_val nk{key.size(), key.data()};
    if (int put = mdb_put(txn, notes, &nk, &v, 0); put != 0) {
      mdb_cursor_close(cur);
      check(put, std::string{"moving "} + name);
    }
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND)
    check(rc, std::string{"reading "} + name);
  check(mdb_drop(txn, from, 1), std::string{"deleting "} + name);
}

/// "host \0 rest" -> "host \1 kind rest".
rekey under_kind(char kind) {
  return [kind](std::string_view old) {
    auto cut = old.find('\0');
    if (cut == std::string_view::npos)
      throw std::runtime_error("a key without a host in an old table");
    std::string k{old.substr(0, cut)};
    k.push_back('\1');
    k.push_back(kind);
    k.append(old.substr(cut + 1));
    return k;
  };
}

} // namespace

void upgrade_schema(MDB_txn* txn, MDB_dbi notes, MDB_dbi meta) {
  check_version(txn, meta);
  move_table(txn, "counters", notes,
             [](std::string_view host) { return counters_key(host); });
  move_table(txn, "unread", notes, under_kind('U'));
  move_table(txn, "audit", notes, under_kind('A'));
  move_table(txn, "calendar", notes, under_kind('C'));
  MDB_val k{7, const_cast<char*>("version")};
  MDB_val v{1, const_cast<char*>(schema_version)};
  check(mdb_put(txn, meta, &k, &v, 0), "writing the schema version");
}

} // namespace bellhop::storage
