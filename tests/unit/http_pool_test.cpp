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

} // namespace

TEST_CASE("a request that fails on a connection the server closed while "
          "idle is answered on a new one", "[http_pool]") {
  closing_server server;
  boost::asio::io_context io;
  url base{"http", "127.0.0.1", server.port, ""};
  http_pool pool{io, base, 4, std::chrono::milliseconds(5000)};
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
  CHECK(server.accepted == 5);
}
