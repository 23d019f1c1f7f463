// The embedded store: one LMDB environment per process, read transactions
// for any thread, and one group-commit writer that owns every write.
//
// Caveats, as LMDB's own header puts them:
// - a transaction belongs to the thread that began it; readers are opened
//   with MDB_NOTLS so that a reader may also be reset on another thread, but
//   bellhop never lets a transaction outlive the call that opened it;
// - readers never wait for the writer (MVCC), and see only committed data;
// - all writes go through `store::submit`: the writer thread takes every op
//   waiting in its queue, applies them in one transaction, commits (fsync),
//   and only then calls each op's `done` — so an answer built in `done` is an
//   answer about data that is on disk.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <lmdb.h>

namespace bellhop::storage {

/// Outcome of a write op or a commit.
enum class status : uint8_t {
  ok,
  rejected,  ///< the op declined to write (its own reason is kept in the op)
  full,      ///< MDB_MAP_FULL: the map size is reached
  failed,    ///< any other LMDB error
};

/// Thrown by the table helpers on an LMDB error; the writer turns it into
/// `status::full` or `status::failed`.
struct lmdb_error : std::runtime_error {
  int code;
  explicit lmdb_error(int rc);
};

struct options {
  std::string dir = "./data";
  std::size_t map_size = std::size_t{1} << 30;
  unsigned max_readers = 1024;
  std::size_t max_batch = 2048;  ///< most ops in one commit
};

/// The named databases (LMDB "dbi"s) of the environment.
struct tables {
  MDB_dbi bookings;   ///< bookingId -> booking JSON
  /// host \0 id(BE64) -> notification JSON, host \0 FF×8 \0 -> counters,
  /// and (tables.hpp) the host's unread marks, audit and calendar.
  MDB_dbi notes;
  MDB_dbi calendar;   ///< = notes: calendar_key -> checkOut + bookingId
  MDB_dbi unread;     ///< = notes: unread_key -> category index (1 byte)
  MDB_dbi idem;       ///< principal \0 key -> idempotency record (text lines)
  MDB_dbi prefs;      ///< host -> preferences JSON
  MDB_dbi audit;      ///< = notes: audit_key -> audit entry JSON
  MDB_dbi waits;      ///< host \0 id(BE64) -> email due time (ms, decimal)
  MDB_dbi outbox;     ///< host \0 first id(BE64) -> pending email (JSON)
  MDB_dbi meta;       ///< schema version and other process-wide facts
};

/// A transaction handle passed to readers and to write ops. Not owning.
struct txn_ref {
  MDB_txn* txn;
  const tables* db;
};

/// RAII read-only transaction. Cheap (no lock, no I/O); keep it short.
class read_txn {
public:
  read_txn(MDB_env* env, const tables* db);
  ~read_txn();
  read_txn(read_txn&& other) noexcept;
  read_txn(const read_txn&) = delete;
  read_txn& operator=(const read_txn&) = delete;
  txn_ref ref() const {
    return {txn_, db_};
  }

private:
  MDB_txn* txn_ = nullptr;
  const tables* db_;
};

/// One unit of work for the writer. `apply` runs on the writer thread inside
/// the batch's transaction; it must check before it writes, so that a
/// `rejected` op has written nothing. `done` runs on the writer thread after
/// the commit returned (or failed), with the op's final status.
class write_op {
public:
  virtual ~write_op() = default;
  virtual status apply(txn_ref txn) = 0;
  virtual void done(status result) = 0;
};

/// Commit statistics, updated by the writer thread only.
struct writer_stats {
  uint64_t commits = 0;
  uint64_t ops = 0;
};

class store {
public:
  /// Opens (or creates) the environment in `opts.dir`. Throws
  /// std::runtime_error with a readable message when it cannot.
  explicit store(options opts);
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  read_txn begin_read() const {
    return read_txn(env_, &db_);
  }

  /// Queues `op` for the next group commit. Thread-safe.
  void submit(std::unique_ptr<write_op> op);

  /// Starts the writer thread. Without it, `drain` commits in the caller's
  /// thread (deterministic tests).
  void start_writer();

  /// Commits everything queued now, in the calling thread; returns how many
  /// ops it committed. Only while no writer thread runs.
  std::size_t drain();

  /// Stops the writer after it committed everything queued. Idempotent.
  void stop_writer();

  /// How much of the map is in use: the high-water mark of its pages (freed
  /// pages are reused below it, so it never shrinks) and the map's size
  /// (`--map-size`). Writes fail with `status::full` when one needs a page
  /// past the map. Cheap (reads the newest meta page); any thread.
  struct space_use {
    uint64_t used_bytes = 0;
    uint64_t map_bytes = 0;
  };
  space_use space() const;

  /// Called with the duration of each commit (writer thread). Set before
  /// `start_writer`.
  void on_commit(std::function<void(std::chrono::nanoseconds, std::size_t)> f);

  const options& opts() const {
    return opts_;
  }
  const tables& db() const {
    return db_;
  }
  MDB_env* env() const {
    return env_;
  }

private:
  void writer_loop();
  std::size_t commit_batch(std::vector<std::unique_ptr<write_op>>& batch);
  status commit_ops(std::vector<std::unique_ptr<write_op>>& batch,
                    std::size_t first, std::size_t last,
                    std::vector<status>& results);

  options opts_;
  int dir_lock_ = -1;  // one server per directory (storage/src/dir_lock.hpp)
  MDB_env* env_ = nullptr;
  uint64_t page_size_ = 0;  // for space(), read once at open
  tables db_{};
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<write_op>> queue_;  // guarded by mtx_
  bool stopping_ = false;                          // guarded by mtx_
  std::thread writer_;
  std::function<void(std::chrono::nanoseconds, std::size_t)> on_commit_;
};

} // namespace bellhop::storage
