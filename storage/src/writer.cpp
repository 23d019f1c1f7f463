// The group-commit writer: one thread that takes every op waiting in the
// queue, applies them in one write transaction and commits once. Throughput
// is bounded by the CPU cost of the ops, not by the disk: one fsync (0.3–2 ms
// here) is shared by everything that arrived while the previous commit ran.
#include <algorithm>
#include <chrono>
#include <string>

#include <pthread.h>

#include "bellhop/storage/store.hpp"
#include "bellhop/telemetry/log.hpp"

namespace bellhop::storage {

namespace {

status status_of(int rc) {
  return rc == MDB_MAP_FULL ? status::full : status::failed;
}

/// Logs a transaction that failed (its ops are answered 503), at most once
/// in 5 s with the number of failures since the last line: a disk that
/// fails every commit must not flood the log. Per writer thread.
void log_failure(status st, const std::string& why) {
  using clock = std::chrono::steady_clock;
  thread_local clock::time_point last{};
  thread_local int64_t unlogged = 0;
  ++unlogged;
  auto now = clock::now();
  if (last != clock::time_point{} && now - last < std::chrono::seconds(5))
    return;
  last = now;
  telemetry::log(st == status::full ? telemetry::level::warn
                                    : telemetry::level::error,
                 st == status::full ? "store full: writes get 503"
                                    : "store write failed: writes get 503",
                 {{"error", std::string_view{why}}, {"failures", unlogged}});
  unlogged = 0;
}

} // namespace

void store::submit(std::unique_ptr<write_op> op) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    queue_.push_back(std::move(op));
  }
  cv_.notify_one();
}

void store::on_commit(
  std::function<void(std::chrono::nanoseconds, std::size_t)> f) {
  on_commit_ = std::move(f);
}

void store::start_writer() {
  writer_ = std::thread{[this] {
    pthread_setname_np(pthread_self(), "bh-writer");  // as `top -H` shows it
    writer_loop();
  }};
}

void store::stop_writer() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_one();
  if (writer_.joinable())
    writer_.join();
}

std::size_t store::drain() {
  std::vector<std::unique_ptr<write_op>> batch;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    batch.swap(queue_);
  }
  return batch.empty() ? 0 : commit_batch(batch);
}

void store::writer_loop() {
  std::vector<std::unique_ptr<write_op>> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> guard{mtx_};
      cv_.wait(guard, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return; // stopping, and nothing left to commit
      if (queue_.size() <= opts_.max_batch) {
        batch.swap(queue_);
      } else {
        auto end = queue_.begin() + static_cast<long>(opts_.max_batch);
        std::move(queue_.begin(), end, std::back_inserter(batch));
        queue_.erase(queue_.begin(), end);
      }
    }
    commit_batch(batch);
    batch.clear();
  }
}

std::size_t store::commit_batch(std::vector<std::unique_ptr<write_op>>& batch) {
  auto start = std::chrono::steady_clock::now();
  std::vector<status> results(batch.size(), status::ok);
  auto st = commit_ops(batch, 0, batch.size(), results);
  if (st != status::ok && batch.size() > 1) {
    // One large op may have filled the map, or one op may have thrown:
    // commit the others one by one so that only the culprit is refused.
    for (std::size_t i = 0; i < batch.size(); ++i) {
      commit_ops(batch, i, i + 1, results); // sets results[i] on failure
    }
  } else if (st != status::ok) {
    std::fill(results.begin(), results.end(), st);
  }
  if (on_commit_)
    on_commit_(std::chrono::steady_clock::now() - start, batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i)
    batch[i]->done(results[i]);
  return batch.size();
}

// Applies batch[first, last) in one transaction and commits. On a
// transaction-level failure every result in the range is set to it, and
// it is logged.
status store::commit_ops(std::vector<std::unique_ptr<write_op>>& batch,
                         std::size_t first, std::size_t last,
                         std::vector<status>& results) {
  MDB_txn* txn = nullptr;
  auto fail = [&](status st, const std::string& why) {
    std::fill(results.begin() + static_cast<long>(first),
              results.begin() + static_cast<long>(last), st);
    log_failure(st, why);
    return st;
  };
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != 0)
    return fail(status_of(rc), mdb_strerror(rc));
  txn_ref ref{txn, &db_};
  try {
    for (auto i = first; i < last; ++i)
      results[i] = batch[i]->apply(ref);
  } catch (const lmdb_error& e) {
    mdb_txn_abort(txn);
    return fail(status_of(e.code), e.what());
  } catch (const std::exception& e) {
    mdb_txn_abort(txn);
    return fail(status::failed, e.what());
  } catch (...) {
    mdb_txn_abort(txn);
    return fail(status::failed, "unknown error");
  }
  rc = mdb_txn_commit(txn);
  if (rc != 0)
    return fail(status_of(rc), mdb_strerror(rc));
  return status::ok;
}

} // namespace bellhop::storage
