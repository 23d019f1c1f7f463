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
//
// One answer per connection at a time: HTTP/1.1 answers must go out whole
// and in the order of their requests, and an actor's answer or the slow
// writer's rest may still be on its way when the connection's next request
// is read (answer_slot).
#pragma once

#include <atomic>
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

/// A connection's turn to answer. A request read while the connection's
/// previous answer is still being made or written was pipelined (sent
/// before its predecessor's answer came): it is not handled, and the
/// connection is shut down once the answer in flight is written, so that
/// the client sees it end and may send the request again (RFC 9112 §9.3.2
/// lets a server close rather than answer a pipeline). Taken on the reactor
/// thread, given back by whichever thread finishes the answer.
///
/// The last send of an answer and its give_back are two steps: a client may
/// read the answer and send its next request in between. So the writer
/// marks each send (`sending`), and take() waits out a send in progress
/// instead of taking its request for a pipelined one.
class answer_slot {
public:
  /// Takes the turn for a request; false when an answer is in flight (the
  /// connection is then shut down after it) or the connection is closing.
  bool take();

  /// No answer is in flight: nothing but the reactor thread, which asks,
  /// may write to the connection until it takes the turn.
  bool idle() const {
    return state_.load() == 0;
  }

  /// The connection ends after the answer whose turn this is: later
  /// requests are not taken. After take(), on the reactor thread.
  void end_after();

  /// A send of the answer in flight starts; `not_sending` when it left a
  /// rest to write later.
  void sending();
  void not_sending();

  /// The answer in flight is written or dropped. `fd` is one of the
  /// connection's descriptors that this thread may use now; it is shut
  /// down if a pipelined request came meanwhile.
  void give_back(int fd);

private:
  static constexpr int busy = 1;
  static constexpr int sending_now = 2;
  static constexpr int close_after = 4;  ///< stays: the connection ends
  std::atomic<int> state_{0};
};

/// How much of an answer a send took.
enum class sent { all, some, failed };

/// Sends what the socket takes now of `bytes` from `offset` on (advanced by
/// what was sent). `fd` is non-blocking; `failed`: the peer is gone or
/// reset, or the socket failed.
sent send_now(int fd, const std::string& bytes, std::size_t& offset);

/// Writes `bytes` to `fd`, a descriptor this thread may write to now (see
/// above); with `close`, the connection is shut down once it is written.
/// A peer that is gone or reset drops it (and is shut down). `slot`, when
/// given, is given back once the answer is written or dropped.
void write_answer(int fd, std::string bytes, bool close,
                  std::shared_ptr<answer_slot> slot = nullptr);

} // namespace bellhop::http
