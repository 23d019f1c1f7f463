// Writing answers (http/src/wire.hpp): over real loopback TCP, with the
// server side's send buffer made small, as a distant or slow client's is,
// so that an answer does not fit at once and the slow writer takes the
// rest.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bellhop/telemetry/metrics.hpp"
#include "loopback.hpp"
#include "slow_writes.hpp"
#include "wire.hpp"

using namespace bellhop::http;

namespace {

/// A connected pair over 127.0.0.1: `server` non-blocking with a 4 KiB
/// send buffer (like Pistache's sockets, but small), `client` blocking
/// with a small receive buffer.
struct connection {
  int server = -1;
  int client = -1;

  connection() {
    sockaddr_in a;
    int listener = listen_on_loopback(a, 1);
    client = ::socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    ::setsockopt(client, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    server = ::accept(listener, nullptr, nullptr);
    ::close(listener);
    REQUIRE(server >= 0);
    ::setsockopt(server, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    ::fcntl(server, F_SETFL, ::fcntl(server, F_GETFL) | O_NONBLOCK);
    timeval t{10, 0};
    ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
  }
  ~connection() {
    ::close(server);
    ::close(client);
  }

  /// Reads until `n` bytes came or the connection ended.
  std::string read(std::size_t n) {
    std::string got;
    char buf[4096];
    while (got.size() < n) {
      auto r = ::recv(client, buf, sizeof buf, 0);
      if (r <= 0)
        break;
      got.append(buf, static_cast<std::size_t>(r));
    }
    return got;
  }
};

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>('a' + i % 26);
  return s;
}

struct slow_writer_running {
  slow_writer_running() {
    start_slow_writes();
  }
  ~slow_writer_running() {
    stop_slow_writes();
  }
};

bool settles(int64_t want) {
  for (int i = 0; i < 500 && slow_writes_pending() != want; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return slow_writes_pending() == want;
}

} // namespace

TEST_CASE("an answer the socket cannot take at once arrives whole, and the "
          "connection stays open", "[wire]") {
  slow_writer_running writer;
  connection c;
  auto answer = pattern(2'000'000);
  write_answer(c.server, answer, false);
  CHECK(slow_writes_pending() == 1);  // the rest waits for the client
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(c.read(answer.size()) == answer);
  REQUIRE(settles(0));
  // Still open: the next answer on it comes through.
  write_answer(c.server, "next", false);
  CHECK(c.read(4) == "next");
}

TEST_CASE("a closing answer shuts the connection once all of it is written",
          "[wire]") {
  slow_writer_running writer;
  connection c;
  auto answer = pattern(500'000);
  write_answer(c.server, answer, true);
  CHECK(slow_writes_pending() == 1);
  CHECK(c.read(answer.size() + 1) == answer);  // then the end
  REQUIRE(settles(0));
}

TEST_CASE("the rest goes through a descriptor of its own: the connection's "
          "number may be closed meanwhile", "[wire]") {
  slow_writer_running writer;
  connection c;
  auto answer = pattern(1'000'000);
  write_answer(c.server, answer, false);
  // The reactor closes its descriptor (the number is free for the next
  // connection); the answer still reaches this client.
  ::close(c.server);
  c.server = ::open("/dev/null", O_WRONLY);
  CHECK(c.read(answer.size()) == answer);
  REQUIRE(settles(0));
}

TEST_CASE("a client that goes away before reading ends the slow write",
          "[wire]") {
  slow_writer_running writer;
  connection c;
  write_answer(c.server, pattern(1'000'000), false);
  CHECK(slow_writes_pending() == 1);
  ::close(c.client);
  c.client = ::open("/dev/null", O_RDONLY);
  CHECK(settles(0));
}

TEST_CASE("a connection's turn: a request during a send waits for its end",
          "[wire]") {
  answer_slot slot;
  REQUIRE(slot.take());
  slot.sending();
  // The send completes the answer: the request came after it.
  std::thread finisher{[&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    slot.give_back(-1);
  }};
  CHECK(slot.take());
  finisher.join();
  // This time the send leaves a rest: the request was pipelined.
  slot.sending();
  std::thread partial{[&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    slot.not_sending();
  }};
  CHECK_FALSE(slot.take());
  partial.join();
  slot.give_back(-1);
  CHECK_FALSE(slot.take());  // a connection that is to close takes no more
}

TEST_CASE("a connection's next request waits for the whole answer",
          "[wire]") {
  slow_writer_running writer;
  connection c;
  auto slot = std::make_shared<answer_slot>();
  REQUIRE(slot->take());
  auto answer = pattern(1'000'000);
  write_answer(c.server, answer, false, slot);
  REQUIRE(slow_writes_pending() == 1);  // the rest waits for the client
  SECTION("read while the rest waits: pipelined, the connection ends after "
          "the answer") {
    CHECK_FALSE(slot->take());  // not handled
    CHECK(c.read(answer.size() + 1) == answer);  // whole, then the end
    REQUIRE(settles(0));
  }
  SECTION("read once the answer is written: the next one") {
    CHECK(c.read(answer.size()) == answer);
    REQUIRE(settles(0));
    REQUIRE(slot->take());
    write_answer(c.server, "next", false, slot);
    CHECK(c.read(4) == "next");
    CHECK(slot->take());
  }
}

TEST_CASE("the slow writer holds at most its byte limit: an answer beyond it "
          "is cut short", "[wire]") {
  slow_writer_running writer;
  connection holding, cut;
  write_answer(holding.server, pattern(slow_write_byte_limit - (1 << 20)),
               false);
  REQUIRE(slow_writes_pending() == 1);
  auto cuts = bellhop::telemetry::metrics().answers_cut.value();
  auto answer = pattern(2'000'000);
  write_answer(cut.server, answer, false);
  CHECK(slow_writes_pending() == 1);
  CHECK(bellhop::telemetry::metrics().answers_cut.value() == cuts + 1);
  auto got = cut.read(answer.size());
  CHECK(got.size() < answer.size());  // what the socket took, then the end
  CHECK(got == answer.substr(0, got.size()));
  // The held answer goes on; once its client leaves, the writer is empty.
  ::close(holding.client);
  holding.client = ::open("/dev/null", O_RDONLY);
  CHECK(settles(0));
}
