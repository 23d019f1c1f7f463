// Writing an answer to its connection. Pistache 0.0.5 queues each write
// with the connection's descriptor number and performs it later on the
// reactor; a client that closes meanwhile frees that number, the next
// connection accepted may be given it, and the answer (another host's
// notifications, say) would go to that client. So bellhop writes its
// answers itself:
// - on the reactor thread, inside the request's handler, where the number
//   is certainly this connection's (the reactor closes it only later);
// - from another thread (an actor's answer), through a descriptor of the
//   answer's own, a dup made inside the handler: it stays this connection's
//   socket whatever becomes of the number.
// What the socket does not take at once goes to the slow writer.
#pragma once

#include <memory>
#include <string>

namespace bellhop::http {

/// A descriptor of the connection's own, closed with the last copy.
class own_socket {
public:
  /// A dup of `fd`, or null when the process is out of descriptors.
  static std::shared_ptr<const own_socket> dup_of(int fd);

  explicit own_socket(int fd) : fd_(fd) {
  }
  ~own_socket();
  own_socket(const own_socket&) = delete;
  own_socket& operator=(const own_socket&) = delete;

  int fd() const {
    return fd_;
  }

private:
  int fd_;
};

/// Writes `bytes` to `fd`, a descriptor this thread may write to now (see
/// above); with `close`, the connection is shut down once it is written.
/// A peer that is gone or reset drops it.
void write_answer(int fd, std::string bytes, bool close);

} // namespace bellhop::http
