// Opening and closing the LMDB environment and its named databases, and the
// read transaction handle.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bellhop/storage/store.hpp"
#include "dir_lock.hpp"
#include "lmdb_check.hpp"
#include "migrate.hpp"

namespace bellhop::storage {

namespace {

/// Gives LMDB's lock file (its reader table, which LMDB maps and writes
/// through the map) its disk blocks before LMDB opens it. LMDB sizes it
/// with ftruncate, a sparse file: on a full disk, a write to one of its
/// pages through the map finds no block and the process dies of SIGBUS, at
/// start or when a new reader slot is first used. A clear error instead.
void allocate_lock_file(const std::string& dir, unsigned max_readers) {
  auto path = dir + "/lock.mdb";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  struct stat sb {};
  // A reader slot is 64 bytes; the table's header needs less than a page.
  off_t want = static_cast<off_t>(max_readers) * 64 + 4096;
  int rc = fstat(fd, &sb) != 0 ? errno : 0;
  if (rc == 0)
    rc = posix_fallocate(fd, 0, std::max<off_t>(want, sb.st_size));
  close(fd);
  if (rc != 0)
    throw std::runtime_error("cannot allocate " + path + ": " + std::strerror(rc)
                             + (rc == ENOSPC ? " (the data directory's disk is full)" : ""));
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
  // Bookings and addresses are for this user alone, whatever the umask: a
  // directory made here is 0700, and the files made in it 0600. One that
  // exists keeps the mode its owner gave it.
  std::error_code ec;
  bool made = std::filesystem::create_directories(opts_.dir, ec);
  if (!ec && made)
    std::filesystem::permissions(opts_.dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  if (ec)
    throw std::runtime_error("cannot create data directory " + opts_.dir
                             + ": " + ec.message());
  dir_lock_ = lock_data_dir(opts_.dir);
  try {
    check(mdb_env_create(&env_), "mdb_env_create");
  } catch (...) {
    unlock_data_dir(dir_lock_);
    throw;
  }
  try {
    check(mdb_env_set_maxdbs(env_, 16), "mdb_env_set_maxdbs");
    check(mdb_env_set_maxreaders(env_, opts_.max_readers),
          "mdb_env_set_maxreaders");
    check(mdb_env_set_mapsize(env_, opts_.map_size), "mdb_env_set_mapsize");
    allocate_lock_file(opts_.dir, opts_.max_readers);
    // MDB_NOTLS: read transactions are not tied to a thread's slot, so that
    // CAF workers and Pistache reactors can all read. Durability stays on:
    // each commit syncs the data file before it returns.
    check(mdb_env_open(env_, opts_.dir.c_str(), MDB_NOTLS, 0600),
          ("cannot open data directory " + opts_.dir).c_str());
    MDB_stat stat{};
    check(mdb_env_stat(env_, &stat), "mdb_env_stat");
    page_size_ = stat.ms_psize;
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
    open("notes", db_.notes);
    open("idem", db_.idem);
    open("prefs", db_.prefs);
    open("waits", db_.waits);
    open("outbox", db_.outbox);
    open("meta", db_.meta);
    try {
      upgrade_schema(txn, db_.notes, db_.meta);
    } catch (...) {
      mdb_txn_abort(txn);
      throw;
    }
    // Per-host records of these kinds live in the notes table (tables.hpp).
    db_.unread = db_.audit = db_.calendar = db_.notes;
    check(mdb_txn_commit(txn), "mdb_txn_commit");
  } catch (...) {
    mdb_env_close(env_);
    unlock_data_dir(dir_lock_);
    throw;
  }
}

store::space_use store::space() const {
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  return {(static_cast<uint64_t>(info.me_last_pgno) + 1) * page_size_,
          static_cast<uint64_t>(info.me_mapsize)};
}

store::~store() {
  stop_writer();
  // Ops still queued with no writer to run them are committed now, so that
  // nothing submitted is silently dropped.
  drain();
  mdb_env_close(env_);
  unlock_data_dir(dir_lock_);
}

} // namespace bellhop::storage
