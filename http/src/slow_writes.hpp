// The rest of answers that a socket did not take at once (a big answer, a
// client that reads slowly), written on a thread of its own with Asio,
// through a descriptor of the answer's own: never by descriptor number,
// which a new connection may be given once the client has gone (wire.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "wire.hpp"

namespace bellhop::http {

/// Starts the thread (rest_server::start).
void start_slow_writes();

/// Stops it; what is left is dropped (rest_server::shutdown, after the
/// drain waited for slow_writes_pending() to reach 0).
void stop_slow_writes();

/// Unwritten bytes the writer holds at most, all connections together: a
/// client that asks for big answers and does not read them must not make
/// the server hold them without bound. An answer beyond it is cut short.
constexpr std::size_t slow_write_byte_limit = std::size_t{64} << 20;

/// Writes `rest` to `fd` and closes it (the writer owns `fd` from here);
/// with `close`, the connection is shut down once it is written. A client
/// that takes nothing for 60 s, or an answer the writer cannot take (it has
/// stopped, or holds slow_write_byte_limit already), has its connection
/// shut down. `slot`, when given, is given back when the write ends.
/// Thread-safe.
void write_later(int fd, std::string rest, bool close,
                 std::shared_ptr<answer_slot> slot = nullptr);

/// Writes handed over and not finished yet.
int64_t slow_writes_pending();

} // namespace bellhop::http
