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

/// The pid the holder wrote to `<dir>/bellhop.pid`, or "" if unreadable.
std::string holder_pid(const std::string& dir) {
  int fd = open((dir + "/bellhop.pid").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return {};
  char buf[32] = {};
  auto n = pread(fd, buf, sizeof buf - 1, 0);
  close(fd);
  std::string pid{buf, n > 0 ? static_cast<std::size_t>(n) : 0};
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
    pid.pop_back();
  return pid;
}

/// Writes this process's pid to `<dir>/bellhop.pid`. Only for the message
/// of a refused second server: the lock is what counts.
void write_pid(const std::string& dir) {
  int fd = open((dir + "/bellhop.pid").c_str(),
                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  auto pid = std::to_string(getpid()) + "\n";
  if (write(fd, pid.data(), pid.size()) < 0) {
    // Nothing: see above.
  }
  close(fd);
}

/// Servers before this lock held a flock on `<dir>/bellhop.lock` instead:
/// one of them still running on the directory (an upgrade started by
/// hand while the old service runs) is refused too.
void refuse_older_holder(const std::string& dir, int dir_fd) {
  int fd = open((dir + "/bellhop.lock").c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return;  // none: no older server has run here
  bool held = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  close(fd);  // and its flock, if taken: the directory's lock counts
  if (held) {
    close(dir_fd);
    throw std::runtime_error("data directory " + dir
                             + " is in use by an older bellhop (bellhop.lock is"
                               " locked): one server per data directory");
  }
}

} // namespace

int lock_data_dir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    throw std::runtime_error("cannot open " + dir + ": " + std::strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) {
      auto pid = holder_pid(dir);
      throw std::runtime_error(
        "data directory " + dir + " is in use by another bellhop"
        + (pid.empty() ? std::string{} : " (pid " + pid + ")")
        + ": one server per data directory");
    }
    throw std::runtime_error("cannot lock " + dir + ": " + std::strerror(err));
  }
  refuse_older_holder(dir, fd);
  write_pid(dir);
  return fd;
}

void unlock_data_dir(int fd) {
  if (fd >= 0)
    close(fd);  // releases the flock
}

} // namespace bellhop::storage
