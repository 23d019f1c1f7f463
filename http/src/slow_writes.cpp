// The slow writer (see slow_writes.hpp). One Asio thread; everything below
// the lock is touched only on it, except `pending` (atomic).
#include "slow_writes.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

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

/// On the writer's thread.
void start_write(asio::io_context& ioc, int fd, std::string rest, bool close) {
  auto sd = std::make_shared<asio::posix::stream_descriptor>(ioc);
  boost::system::error_code assigned;
  sd->assign(fd, assigned);
  if (assigned) {
    ::close(fd);
    pending.fetch_sub(1);
    return;
  }
  auto buf = std::make_shared<std::string>(std::move(rest));
  auto timer = std::make_shared<asio::steady_timer>(ioc, give_up_after);
  timer->async_wait([sd](const boost::system::error_code& ec) {
    if (ec)
      return;  // cancelled: written
    ::shutdown(sd->native_handle(), SHUT_RDWR);
    boost::system::error_code ignored;
    sd->cancel(ignored);
  });
  // The descriptor closes when the last handler holding it is done.
  asio::async_write(*sd, asio::buffer(*buf),
                    [sd, buf, timer, close](const boost::system::error_code& ec,
                                            std::size_t) {
                      timer->cancel();
                      if (ec || close)
                        ::shutdown(sd->native_handle(), SHUT_RDWR);
                      pending.fetch_sub(1);
                    });
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
}

void write_later(int owned_fd, std::string rest, bool close) {
  std::lock_guard<std::mutex> guard{lock};
  if (!writer) {  // stopped: the answer is dropped with the connection
    ::close(owned_fd);
    return;
  }
  pending.fetch_add(1);
  auto& ioc = writer->ioc;
  asio::post(ioc, [&ioc, owned_fd, rest = std::move(rest), close]() mutable {
    start_write(ioc, owned_fd, std::move(rest), close);
  });
}

int64_t slow_writes_pending() {
  return pending.load();
}

} // namespace bellhop::http
