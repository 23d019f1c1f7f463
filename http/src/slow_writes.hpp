// The rest of answers that a socket did not take at once (a big answer, a
// client that reads slowly), written on a thread of its own with Asio,
// through a descriptor of the answer's own: never by descriptor number,
// which a new connection may be given once the client has gone (wire.hpp).
#pragma once

#include <cstdint>
#include <string>

namespace bellhop::http {

/// Starts the thread (rest_server::start).
void start_slow_writes();

/// Stops it; what is left is dropped (rest_server::shutdown, after the
/// drain waited for slow_writes_pending() to reach 0).
void stop_slow_writes();

/// Writes `rest` to `fd` and closes it (the writer owns `fd` from here);
/// with `close`, the connection is shut down once it is written. A client
/// that takes nothing for 60 s, or an answer the writer cannot take (it has
/// stopped), has its connection shut down. Thread-safe.
void write_later(int fd, std::string rest, bool close);

/// Writes handed over and not finished yet.
int64_t slow_writes_pending();

} // namespace bellhop::http
