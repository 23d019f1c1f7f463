// Opening and closing the LMDB environment and its named databases, and the
// read transaction handle.
#include <filesystem>
#include <string>

#include "bellhop/storage/store.hpp"
#include "bellhop/storage/tables.hpp"

namespace bellhop::storage {

namespace {

// 1: counters in their own table; 2: counters in the notes table
// (counters_key), moved there when a version-1 directory is opened.
constexpr const char* schema_version = "2";

void check(int rc, const char* what) {
  if (rc != 0)
    throw std::runtime_error(std::string{what} + ": " + mdb_strerror(rc));
}

/// Refuses a directory written by a newer bellhop (a higher schema).
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

/// Moves every counters record of a version-1 directory into the notes
/// table, in the opening transaction (all or nothing).
void move_counters(MDB_txn* txn, MDB_dbi from, MDB_dbi notes) {
  MDB_cursor* cur = nullptr;
  check(mdb_cursor_open(txn, from, &cur), "mdb_cursor_open");
  MDB_val k, v;
  int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  while (rc == 0) {
    auto key = counters_key({static_cast<const char*>(k.mv_data), k.mv_size});
    MDB_val nk{key.size(), key.data()};
    if (int put = mdb_put(txn, notes, &nk, &v, 0); put != 0) {
      mdb_cursor_close(cur);
      check(put, "moving counters");
    }
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND)
    check(rc, "reading counters");
  check(mdb_drop(txn, from, 0), "emptying the old counters table");
}

} // namespace

lmdb_error::lmdb_error(int rc) : std::runtime_error(mdb_strerror(rc)), code(rc) {
}

read_txn::read_txn(MDB_env* env, const tables* db) : db_(db) {
  if (int rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn_); rc != 0)
    throw lmdb_error(rc);
}

read_txn::read_txn(read_txn&& other) noexcept
  : txn_(other.txn_), db_(other.db_) {
  other.txn_ = nullptr;
}

read_txn::~read_txn() {
  if (txn_ != nullptr)
    mdb_txn_abort(txn_);
}

store::store(options opts) : opts_(std::move(opts)) {
  std::error_code ec;
  std::filesystem::create_directories(opts_.dir, ec);
  if (ec)
    throw std::runtime_error("cannot create data directory " + opts_.dir
                             + ": " + ec.message());
  check(mdb_env_create(&env_), "mdb_env_create");
  try {
    check(mdb_env_set_maxdbs(env_, 16), "mdb_env_set_maxdbs");
    check(mdb_env_set_maxreaders(env_, opts_.max_readers),
          "mdb_env_set_maxreaders");
    check(mdb_env_set_mapsize(env_, opts_.map_size), "mdb_env_set_mapsize");
    // MDB_NOTLS: read transactions are not tied to a thread's slot, so that
    // CAF workers and Pistache reactors can all read. Durability stays on:
    // each commit syncs the data file before it returns.
    check(mdb_env_open(env_, opts_.dir.c_str(), MDB_NOTLS, 0644),
          ("cannot open data directory " + opts_.dir).c_str());
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, 0, &txn), "mdb_txn_begin");
    auto open = [&](const char* name, MDB_dbi& dbi) {
      int rc = mdb_dbi_open(txn, name, MDB_CREATE, &dbi);
      if (rc != 0) {
        mdb_txn_abort(txn);
        check(rc, name);
      }
    };
    open("bookings", db_.bookings);
    open("calendar", db_.calendar);
    open("notes", db_.notes);
    open("unread", db_.unread);
    open("counters", db_.counters);
    open("idem", db_.idem);
    open("prefs", db_.prefs);
    open("audit", db_.audit);
    open("waits", db_.waits);
    open("outbox", db_.outbox);
    open("meta", db_.meta);
    try {
      check_version(txn, db_.meta);
      move_counters(txn, db_.counters, db_.notes);
    } catch (...) {
      mdb_txn_abort(txn);
      throw;
    }
    MDB_val k{7, const_cast<char*>("version")};
    MDB_val v{1, const_cast<char*>(schema_version)};
    int rc = mdb_put(txn, db_.meta, &k, &v, 0);
    if (rc != 0) {
      mdb_txn_abort(txn);
      check(rc, "writing schema version");
    }
    check(mdb_txn_commit(txn), "mdb_txn_commit");
  } catch (...) {
    mdb_env_close(env_);
    throw;
  }
}

store::~store() {
  stop_writer();
  // Ops still queued with no writer to run them are committed now, so that
  // nothing submitted is silently dropped.
  drain();
  mdb_env_close(env_);
}

} // namespace bellhop::storage
