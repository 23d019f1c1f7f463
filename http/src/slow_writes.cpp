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

#include "bellhop/telemetry/metrics.hpp"

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
std::atomic<std::size_t> pending_bytes{0};  ///< of the writes in `pending`

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

/// One answer's rest, written on the writer's thread piece by piece
/// whenever the socket has room; each piece the client takes gives it
/// another `give_up_after`.
struct slow_write : std::enable_shared_from_this<slow_write> {
  slow_write(asio::io_context& ioc, std::string rest, bool close,
             std::shared_ptr<answer_slot> slot)
    : sd(ioc), timer(ioc), rest(std::move(rest)), close(close),
      slot(std::move(slot)) {
  }

  void arm_timer() {
    timer.expires_after(give_up_after);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      // A wait that ended in the same round as a piece's send is not
      // cancelled by the re-arming: only a wait whose expiry has come, of a
      // write not yet done, gives up.
      if (ec || self->done
          || self->timer.expiry() > std::chrono::steady_clock::now())
        return;
      ::shutdown(self->sd.native_handle(), SHUT_RDWR);
      boost::system::error_code ignored;
      self->sd.cancel(ignored);
    });
  }

  /// Sends what the socket takes now (through send_now, so that the
  /// answer's slot is marked while it runs), and waits for room for the
  /// rest: a wait that starts after a send found the socket full.
  void pump() {
    if (slot)
      slot->sending();
    auto before = offset;
    auto r = send_now(sd.native_handle(), rest, offset);
    if (r != sent::some)
      return finish(r == sent::all);
    if (slot)
      slot->not_sending();
    if (offset > before)
      arm_timer();
    sd.async_wait(asio::posix::stream_descriptor::wait_write,
                  [self = shared_from_this()](const boost::system::error_code& ec) {
                    if (ec)
                      return self->finish(false);
                    self->pump();
                  });
  }

  void finish(bool written) {
    done = true;
    timer.cancel();
    if (!written || close)
      ::shutdown(sd.native_handle(), SHUT_RDWR);
    if (slot)
      slot->give_back(sd.native_handle());
    pending_bytes.fetch_sub(rest.size());
    pending.fetch_sub(1);
  }  // the descriptor closes with the last handler holding this

  asio::posix::stream_descriptor sd;
  asio::steady_timer timer;
  std::string rest;
  std::size_t offset = 0;
  bool close;
  bool done = false;
  std::shared_ptr<answer_slot> slot;
};

/// On the writer's thread.
void start_write(asio::io_context& ioc, owned_fd fd, std::string rest,
                 bool close, std::shared_ptr<answer_slot> slot) {
  auto size = rest.size();
  auto w = std::make_shared<slow_write>(ioc, std::move(rest), close,
                                        std::move(slot));
  boost::system::error_code assigned;
  w->sd.assign(fd.fd, assigned);
  if (assigned) {
    pending_bytes.fetch_sub(size);
    pending.fetch_sub(1);
    return;  // `fd` shuts and closes it
  }
  fd.release();
  w->arm_timer();
  w->pump();
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
  pending_bytes.store(0);
}

void write_later(int fd, std::string rest, bool close,
                 std::shared_ptr<answer_slot> slot) {
  owned_fd owned{fd};
  std::lock_guard<std::mutex> guard{lock};
  if (!writer)
    return;  // stopped: the connection is shut down, the client sees its end
  if (pending_bytes.load() + rest.size() > slow_write_byte_limit) {
    telemetry::metrics().answers_cut.inc();
    return;  // shut down: the client sees an answer cut short
  }
  pending.fetch_add(1);
  pending_bytes.fetch_add(rest.size());
  auto& ioc = writer->ioc;
  // Run or dropped unrun with the io_context at a stop: either way the
  // descriptor is closed.
  asio::post(ioc, [&ioc, owned = std::make_shared<owned_fd>(std::move(owned)),
                   rest = std::move(rest), close,
                   slot = std::move(slot)]() mutable {
    start_write(ioc, std::move(*owned), std::move(rest), close,
                std::move(slot));
  });
}

int64_t slow_writes_pending() {
  return pending.load();
}

} // namespace bellhop::http
