// The simulator's keep-alive pool (sim/src/http_pool.hpp) against a real
// loopback server that closes each connection right after its answer, as a
// server closes idle keep-alive connections: the pool's parked connections
// are all dead, and a request that fails on one must still be answered.
#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include "http_pool.hpp"
#include "loopback.hpp"

using namespace bellhop::sim;

namespace {

/// Answers one request per connection (keep-alive in its headers), then
/// closes the connection.
struct closing_server {
  int listener = -1;
  uint16_t port = 0;
  std::atomic<int> accepted{0};
  std::thread thread;

  closing_server() {
    sockaddr_in a;
    listener = listen_on_loopback(a, 64);
    port = ntohs(a.sin_port);
    thread = std::thread{[this] { serve(); }};
  }
  ~closing_server() {
    ::shutdown(listener, SHUT_RDWR);
    thread.join();
    ::close(listener);
  }

  void serve() {
    for (;;) {
      int c = ::accept(listener, nullptr, nullptr);
      if (c < 0)
        return;
      ++accepted;
      std::string got;
      char buf[4096];
      while (got.find("\r\n\r\n") == std::string::npos) {
        auto n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0)
          break;
        got.append(buf, static_cast<std::size_t>(n));
      }
      static const std::string answer
        = "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2"
          "\r\n\r\nok";
      if (!got.empty())
        ::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
};

/// A pool of `size` connections to a closing_server of its own.
struct pool_fixture {
  closing_server server;
  boost::asio::io_context io;
  http_pool pool;

  explicit pool_fixture(std::size_t size)
    : pool{io, url{"http", "127.0.0.1", server.port, ""}, size,
           std::chrono::milliseconds(5000)} {}
};

} // namespace

TEST_CASE("a request that fails on a connection the server closed while "
          "idle is answered on a new one", "[http_pool]") {
  pool_fixture f{4};
  auto& io = f.io;
  auto& pool = f.pool;
  int answered = 0;
  std::vector<std::string> errors;
  auto count = [&](http_result& r) {
    if (r.status == 200)
      ++answered;
    else
      errors.push_back(r.error);
  };
  // Four at once: four connections, each answered, parked and then closed
  // by the server.
  for (int i = 0; i < 4; ++i)
    pool.submit(http_request{false, "/x", "", "", "", ""}, count);
  io.run();
  io.restart();
  REQUIRE(answered == 4);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // Every parked connection is dead now: the request's retry must not be
  // sent on another of them.
  pool.submit(http_request{false, "/x", "", "", "", ""}, count);
  io.run();
  CHECK(errors.empty());
  CHECK(answered == 5);
  CHECK(f.server.accepted == 5);
}

TEST_CASE("a request's wait for a connection is reported apart, and it is "
          "sent when written", "[http_pool]") {
  pool_fixture f{1};
  auto& io = f.io;
  auto& pool = f.pool;
  std::vector<std::chrono::microseconds> queued;
  std::vector<std::size_t> written_before_answer;
  int written = 0;
  // One connection, two requests: the second waits in the queue until
  // the first is answered, and is written only then.
  for (int i = 0; i < 2; ++i)
    pool.submit(
      http_request{false, "/x", "", "", "", ""},
      [&](http_result& r) {
        CHECK(r.status == 200);
        queued.push_back(r.queued);
        written_before_answer.push_back(static_cast<std::size_t>(written));
      },
      [&] { ++written; });
  CHECK(written == 0);  // nothing is written before the loop runs
  io.run();
  REQUIRE(queued.size() == 2);
  CHECK(queued[0].count() == 0);
  CHECK(queued[1].count() > 0);
  CHECK(written == 2);
  CHECK(written_before_answer == std::vector<std::size_t>{1, 2});
}
