// Writing answers (see wire.hpp).
#include "wire.hpp"

#include <cerrno>
#include <thread>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "slow_writes.hpp"

namespace bellhop::http {

std::shared_ptr<const own_socket> own_socket::dup_of(int fd) {
  int own = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0)
    return nullptr;
  return std::make_shared<const own_socket>(own);
}

own_socket::~own_socket() {
  ::close(fd_);
}

bool answer_slot::take() {
  int s = state_.load();
  for (;;) {
    if (s & close_after)
      return false;
    if (s == 0) {
      state_.store(busy);  // only the reactor sets `busy`, and none is set
      return true;
    }
    if (s & sending_now) {
      // One send() on another thread: its end decides whether this request
      // came after the whole answer or was pipelined.
      std::this_thread::yield();
      s = state_.load();
      continue;
    }
    if (state_.compare_exchange_weak(s, s | close_after))
      return false;
  }
}

void answer_slot::end_after() {
  state_.fetch_or(close_after);
}

void answer_slot::sending() {
  state_.fetch_or(sending_now);
}

void answer_slot::not_sending() {
  state_.fetch_and(~sending_now);
}

void answer_slot::give_back(int fd) {
  if ((state_.fetch_and(close_after) & close_after) && fd >= 0)
    ::shutdown(fd, SHUT_RDWR);
}

sent send_now(int fd, const std::string& bytes, std::size_t& offset) {
  while (offset < bytes.size()) {
    auto n = ::send(fd, bytes.data() + offset, bytes.size() - offset,
                    MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0)
      offset += static_cast<std::size_t>(n);
    else if (n < 0 && errno == EINTR)
      continue;
    else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return sent::some;
    else
      return sent::failed;
  }
  return sent::all;
}

void write_answer(int fd, std::string bytes, bool close,
                  std::shared_ptr<answer_slot> slot) {
  if (fd < 0) {
    if (slot)
      slot->give_back(-1);
    return;
  }
  std::size_t offset = 0;
  if (slot)
    slot->sending();
  auto r = send_now(fd, bytes, offset);
  if (r == sent::some) {
    // The socket is full: the slow writer takes the rest, through a
    // descriptor of its own.
    if (slot)
      slot->not_sending();
    int later = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (later >= 0)
      return write_later(later, bytes.substr(offset), close, std::move(slot));
    r = sent::failed;  // out of descriptors: the connection cannot wait
  }
  // A failed send (reset, gone, ENOBUFS) ends the connection too: its
  // client would wait for the rest in vain.
  if (r == sent::failed || close)
    ::shutdown(fd, SHUT_RDWR);
  if (slot)
    slot->give_back(fd);
}

} // namespace bellhop::http
