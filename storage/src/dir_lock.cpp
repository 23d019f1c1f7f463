// The data directory's lock (dir_lock.hpp).
#include "dir_lock.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace bellhop::storage {

namespace {

/// The pid written into the lock file by its holder, or "" if unreadable.
std::string holder_pid(int fd) {
  char buf[32] = {};
  auto n = pread(fd, buf, sizeof buf - 1, 0);
  std::string pid{buf, n > 0 ? static_cast<std::size_t>(n) : 0};
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
    pid.pop_back();
  return pid;
}

} // namespace

int lock_data_dir(const std::string& dir) {
  auto path = dir + "/bellhop.lock";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    auto pid = holder_pid(fd);
    close(fd);
    if (err == EWOULDBLOCK)
      throw std::runtime_error(
        "data directory " + dir + " is in use by another bellhop"
        + (pid.empty() ? std::string{} : " (pid " + pid + ")")
        + ": one server per data directory");
    throw std::runtime_error("cannot lock " + path + ": " + std::strerror(err));
  }
  auto pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The pid is only for the message above: the lock is what counts.
  }
  return fd;
}

void unlock_data_dir(int fd) {
  if (fd >= 0)
    close(fd);  // releases the flock
}

} // namespace bellhop::storage
