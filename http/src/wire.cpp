// Writing answers (see wire.hpp).
#include "wire.hpp"

#include <cerrno>

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

void write_answer(int fd, std::string bytes, bool close) {
  if (fd < 0)
    return;
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    // The socket is non-blocking (Pistache's): what it cannot take now
    // goes to the slow writer.
    auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent,
                    MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int later = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
      if (later < 0) {  // out of descriptors: the connection cannot wait
        ::shutdown(fd, SHUT_RDWR);
        return;
      }
      write_later(later, bytes.substr(sent), close);
      return;
    } else {
      return;  // reset or gone
    }
  }
  if (close)
    ::shutdown(fd, SHUT_RDWR);
}

} // namespace bellhop::http
