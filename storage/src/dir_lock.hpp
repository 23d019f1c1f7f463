// One server per data directory. LMDB lets several processes share an
// environment, but bellhop's host actors keep each host's ids and counters
// in memory: two servers on one directory would hand out the same ids and
// overwrite each other's records. So the store holds an exclusive flock on
// the directory itself for as long as it is open; the kernel drops it when
// the process ends, kill -9 included, so a crash never leaves a stale lock.
// (Not on a lock file: one deleted while the server runs, as a stale
// pidfile would be, would let a second server lock a new one.) The holder's
// pid is written to <dir>/bellhop.pid, for the refusal's message only.
#pragma once

#include <string>

namespace bellhop::storage {

/// Locks `dir` for this process and returns the locked descriptor.
/// Throws std::runtime_error, naming the holder's pid when it can, if
/// another process (or another store in this one) holds it.
int lock_data_dir(const std::string& dir);

/// Releases a lock taken by lock_data_dir (a no-op for -1).
void unlock_data_dir(int fd);

} // namespace bellhop::storage
