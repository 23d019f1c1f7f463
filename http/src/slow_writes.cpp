// The slow writer (see slow_writes.hpp). One Asio thread; everything below
// the lock is touched only on it, except `pending` (atomic).
#include "slow_writes.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

namespace bellhop::http {

namespace {

namespace asio = boost::asio;

constexpr auto give_up_after = std::chrono::seconds(60);

struct slow_writer {
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{
    ioc.get_executor()};
  std::thread thread{[this] {
    pthread_setname_np(pthread_self(), "bh-http-slow");  // as `top -H` shows it
    ioc.run();
  }};
};

std::mutex lock;
std::unique_ptr<slow_writer> writer;  ///< under `lock`
std::atomic<int64_t> pending{0};

/// A descriptor handed to the writer and not yet taken by a write: closed
/// (its connection shut down) if the write never starts.
struct owned_fd {
  int fd;
  explicit owned_fd(int fd) : fd(fd) {
  }
  owned_fd(owned_fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {
  }
  owned_fd(const owned_fd&) = delete;
  owned_fd& operator=(const owned_fd&) = delete;
  owned_fd& operator=(owned_fd&&) = delete;
  ~owned_fd() {
    if (fd >= 0) {
      ::shutdown(fd, SHUT_RDWR);
      ::close(fd);
    }
  }
  int release() {
    return std::exchange(fd, -1);
  }
};

/// One answer's rest, written on the writer's thread piece by piece; each
/// piece the client takes gives it another `give_up_after`.
struct slow_write : std::enable_shared_from_this<slow_write> {
  slow_write(asio::io_context& ioc, std::string rest, bool close)
    : sd(ioc), timer(ioc), rest(std::move(rest)), close(close) {
  }

  void next() {
    timer.expires_after(give_up_after);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec)
        return;  // re-armed or done
      ::shutdown(self->sd.native_handle(), SHUT_RDWR);
      boost::system::error_code ignored;
      self->sd.cancel(ignored);
    });
    sd.async_write_some(
      asio::buffer(rest.data() + sent, rest.size() - sent),
      [self = shared_from_this()](const boost::system::error_code& ec,
                                  std::size_t n) {
        self->sent += n;
        if (!ec && self->sent < self->rest.size())
          return self->next();
        self->timer.cancel();
        if (ec || self->close)
          ::shutdown(self->sd.native_handle(), SHUT_RDWR);
        pending.fetch_sub(1);
      });  // the descriptor closes with the last handler holding it
  }

  asio::posix::stream_descriptor sd;
  asio::steady_timer timer;
  std::string rest;
  std::size_t sent = 0;
  bool close;
};

/// On the writer's thread.
void start_write(asio::io_context& ioc, owned_fd fd, std::string rest,
                 bool close) {
  auto w = std::make_shared<slow_write>(ioc, std::move(rest), close);
  boost::system::error_code assigned;
  w->sd.assign(fd.fd, assigned);
  if (assigned) {
    pending.fetch_sub(1);
    return;  // `fd` shuts and closes it
  }
  fd.release();
  w->next();
}

} // namespace

void start_slow_writes() {
  std::lock_guard<std::mutex> guard{lock};
  if (!writer)
    writer = std::make_unique<slow_writer>();
}

void stop_slow_writes() {
  std::unique_ptr<slow_writer> w;
  {
    std::lock_guard<std::mutex> guard{lock};
    w = std::move(writer);
  }
  if (!w)
    return;
  w->work.reset();
  w->ioc.stop();
  w->thread.join();
  pending.store(0);  // what was left goes with the io_context
}

void write_later(int fd, std::string rest, bool close) {
  owned_fd owned{fd};
  std::lock_guard<std::mutex> guard{lock};
  if (!writer)
    return;  // stopped: the connection is shut down, the client sees its end
  pending.fetch_add(1);
  auto& ioc = writer->ioc;
  // Run or dropped unrun with the io_context at a stop: either way the
  // descriptor is closed.
  asio::post(ioc, [&ioc, owned = std::make_shared<owned_fd>(std::move(owned)),
                   rest = std::move(rest), close]() mutable {
    start_write(ioc, std::move(*owned), std::move(rest), close);
  });
}

int64_t slow_writes_pending() {
  return pending.load();
}

} // namespace bellhop::http
