// Integration test of the gateway's byte handling on /ws, with a raw TCP
// client that writes exactly what a test needs: a handshake and frames in
// one write, a frame a byte at a time, a message many times the server's
// read buffer, and peers that never send a handshake or never answer a
// close. Each case starts its own `bellhop serve` ($BELLHOP_BIN).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "bellhop/auth/jwt.hpp"
#include "ws_harness.hpp"

using namespace bellhop_it;

namespace {

using clock_type = std::chrono::steady_clock;

std::string transport_host() {
  static std::atomic<int> next{1};
  return "raw-host-" + std::to_string(next++);
}

/// A blocking TCP client to 127.0.0.1 with reads bounded by a deadline.
class raw_client {
public:
  explicit raw_client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~raw_client() {
    ::close(fd_);
  }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  void send(const std::string& bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
      auto n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      REQUIRE(n > 0);
      off += static_cast<std::size_t>(n);
    }
  }

  /// Reads into `received` until `done(received)`, the peer's EOF or the
  /// timeout. True when `done` was met.
  template <class Done>
  bool read_until(Done done, std::chrono::milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    while (!done(received)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - clock_type::now());
      if (left.count() <= 0 || eof)
        return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        continue;
      char buf[4096];
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        eof = true;
        continue;
      }
      received.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }

  std::string received;
  bool eof = false;

private:
  int fd_ = -1;
};

std::string upgrade_request(const std::string& token) {
  return "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
         "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
         "Authorization: Bearer " + token + "\r\n\r\n";
}

/// A client frame (masked, as RFC 6455 requires of clients); not the
/// message's last unless `fin`.
std::string client_frame(uint8_t opcode, const std::string& payload,
                         bool fin = true) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | opcode);
  if (payload.size() < 126) {
    f += static_cast<char>(0x80 | payload.size());
  } else {
    REQUIRE(payload.size() < 65536);
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size() & 0xff);
  }
  const char mask[4] = {0x12, 0x34, 0x56, 0x78};
  f.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    f += static_cast<char>(payload[i] ^ mask[i % 4]);
  return f;
}

struct server_frame {
  uint8_t opcode;
  std::string payload;
};

/// The server frames after the HTTP response's head, as far as complete.
std::vector<server_frame> frames_in(const std::string& bytes) {
  std::vector<server_frame> out;
  auto pos = bytes.find("\r\n\r\n");
  if (pos == std::string::npos)
    return out;
  pos += 4;
  while (pos + 2 <= bytes.size()) {
    auto op = static_cast<uint8_t>(bytes[pos]) & 0x0f;
    std::size_t len = static_cast<uint8_t>(bytes[pos + 1]) & 0x7f;
    std::size_t head = 2;
    if (len == 126) {
      if (pos + 4 > bytes.size())
        break;
      len = (static_cast<uint8_t>(bytes[pos + 2]) << 8)
            | static_cast<uint8_t>(bytes[pos + 3]);
      head = 4;
    } else if (len == 127) {
      break;  // the server sends nothing this large here
    }
    if (pos + head + len > bytes.size())
      break;
    out.push_back({static_cast<uint8_t>(op), bytes.substr(pos + head, len)});
    pos += head + len;
  }
  return out;
}

/// The server's close frame among the frames received so far: its code
/// and reason; code 0 while none has come.
struct close_frame_seen {
  uint16_t code = 0;
  std::string reason;
};
close_frame_seen close_frame_in(const std::string& bytes) {
  for (auto& f : frames_in(bytes))
    if (f.opcode == 8 && f.payload.size() >= 2)
      return {static_cast<uint16_t>((static_cast<uint8_t>(f.payload[0]) << 8)
                                    | static_cast<uint8_t>(f.payload[1])),
              f.payload.substr(2)};
  return {};
}

bool has_close_frame(const std::string& bytes) {
  return close_frame_in(bytes).code != 0;
}

/// The events of the text frames received so far, in order.
std::vector<std::string> events_in(const std::string& bytes) {
  std::vector<std::string> out;
  for (auto& f : frames_in(bytes))
    if (f.opcode == 1)
      out.push_back(event_of(json::parse(f.payload)));
  return out;
}

std::size_t count_of(const std::vector<std::string>& v, const std::string& x) {
  return static_cast<std::size_t>(std::count(v.begin(), v.end(), x));
}

std::string token_for(const std::string& host) {
  return bellhop::auth::sign_hs256(jwt_secret, host, bellhop::auth::role::host,
                                   3600);
}

} // namespace

TEST_CASE("ws transport: a handshake with frames in the same write, a frame "
          "in single bytes and a message many reads long are all read",
          "[ws][transport]") {
  server_process srv{{"--ws-ttl-ms", "0"}};
  raw_client c{srv.ws_port()};
  // The upgrade and the first op arrive together.
  c.send(upgrade_request(token_for(transport_host()))
         + client_frame(1, R"({"op":"ping"})"));
  auto pongs = [](std::size_t n) {
    return [n](const std::string& r) { return count_of(events_in(r), "pong") >= n; };
  };
  REQUIRE(c.read_until(pongs(1), std::chrono::seconds(5)));
  CHECK(c.received.rfind("HTTP/1.1 101", 0) == 0);
  auto ev = events_in(c.received);
  REQUIRE(ev.size() >= 2);
  CHECK(ev[0] == "hello");

  // One frame, a byte per write.
  for (char b : client_frame(1, R"({"op":"ping"})")) {
    c.send(std::string(1, b));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  REQUIRE(c.read_until(pongs(2), std::chrono::seconds(5)));

  // 6,000 bytes (leading blanks are valid JSON): far beyond one read.
  c.send(client_frame(1, std::string(6000, ' ') + R"({"op":"ping"})"));
  REQUIRE(c.read_until(pongs(3), std::chrono::seconds(5)));
  CHECK(count_of(events_in(c.received), "error") == 0);
}

TEST_CASE("ws transport: a message in fragments is read; continuation frames "
          "past 20 in a second close with 1008, and the rest is not read",
          "[ws][transport]") {
  server_process srv{{"--ws-ttl-ms", "0"}};
  raw_client c{srv.ws_port()};
  c.send(upgrade_request(token_for(transport_host())));
  REQUIRE(c.read_until([](const std::string& r) { return !events_in(r).empty(); },
                       std::chrono::seconds(5)));
  // A ping in three frames.
  c.send(client_frame(1, R"({"op":)", false) + client_frame(0, R"("pi)", false)
         + client_frame(0, R"(ng"})"));
  REQUIRE(c.read_until(
    [](const std::string& r) { return count_of(events_in(r), "pong") == 1; },
    std::chrono::seconds(5)));
  // 15 pings at once, each in 4 pieces of its 4 KiB (leading blanks are
  // valid JSON), as Go's gorilla/websocket sends a message: all answered.
  std::string pieces;
  for (int i = 0; i < 15; ++i) {
    auto text = std::string(3 * 4096, ' ') + R"({"op":"ping"})";
    pieces += client_frame(1, text.substr(0, 4096), false)
              + client_frame(0, text.substr(4096, 4096), false)
              + client_frame(0, text.substr(8192, 4096), false)
              + client_frame(0, text.substr(12288));
  }
  c.send(pieces);
  REQUIRE(c.read_until(
    [](const std::string& r) { return count_of(events_in(r), "pong") == 16; },
    std::chrono::seconds(5)));
  CHECK(!has_close_frame(c.received));
  // A message that never ends: empty continuation frames, which add
  // nothing to its size. websocketpp alone would read them for ever.
  std::string flood = client_frame(1, "", false);
  for (int i = 0; i < 5000; ++i)
    flood += client_frame(0, "", false);
  c.send(flood);
  auto t0 = clock_type::now();
  REQUIRE(c.read_until(has_close_frame, std::chrono::seconds(5)));
  CHECK(close_frame_in(c.received).code == 1008);
  CHECK(close_frame_in(c.received).reason == "too many messages");
  // Whatever the client sends from here on goes unread: a ping gets no
  // pong, and the connection ends.
  c.send(client_frame(1, R"({"op":"ping"})"));
  c.read_until([](const std::string&) { return false; }, std::chrono::seconds(10));
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
    clock_type::now() - t0);
  INFO("ended after " << took.count() << " ms");
  CHECK(c.eof);
  CHECK(count_of(events_in(c.received), "pong") == 16);
  CHECK(metric(srv, "bellhop_rate_limited_total") >= 1);
}

TEST_CASE("ws transport: an upgrade with a body, or without a version, is "
          "refused with 400", "[ws][transport]") {
  server_process srv{{"--ws-ttl-ms", "0"}};
  auto request = upgrade_request(token_for(transport_host()));
  auto head_end = request.size() - 2;  // before the blank line
  const std::string with_body =
    request.substr(0, head_end) + "Content-Length: 14\r\n\r\n"
    + std::string("\x81\xff\x40\0\0\0\0\0\0\0\0\0\0\0", 14);
  // The Hixie-76 draft's handshake, which websocketpp would otherwise
  // answer with 101.
  const std::string hixie =
    "GET /ws?access_token=" + token_for(transport_host()) + " HTTP/1.1\r\n"
    "Host: x\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n"
    "Origin: http://x\r\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n"
    "Sec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n\r\n^n:ds[4U";
  for (const auto& bytes : {with_body, hixie}) {
    raw_client c{srv.ws_port()};
    c.send(bytes);
    c.read_until([](const std::string&) { return false; }, std::chrono::seconds(5));
    INFO(c.received);
    CHECK(c.received.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(c.received.find(R"("code":"invalid_request")") != std::string::npos);
  }
}

TEST_CASE("ws transport: a connection that never sends its handshake is "
          "closed", "[ws][transport]") {
  server_process srv;
  raw_client c{srv.ws_port()};
  auto t0 = clock_type::now();
  c.read_until([](const std::string&) { return false; }, std::chrono::seconds(15));
  auto took = std::chrono::duration_cast<std::chrono::seconds>(clock_type::now() - t0);
  INFO("closed after " << took.count() << " s");
  CHECK(c.eof);
  CHECK(c.received.empty());
}

TEST_CASE("ws transport: a peer that never answers the close is dropped",
          "[ws][transport]") {
  server_process srv{{"--ws-ttl-ms", "300"}};
  raw_client c{srv.ws_port()};
  c.send(upgrade_request(token_for(transport_host())));
  // The TTL close frame comes; this client never answers it.
  REQUIRE(c.read_until(has_close_frame, std::chrono::seconds(5)));
  CHECK(close_frame_in(c.received).code == 4000);
  c.read_until([](const std::string&) { return false; }, std::chrono::seconds(15));
  CHECK(c.eof);
}

TEST_CASE("ws transport: a client that stops reading is dropped, and the "
          "server goes on", "[ws][transport]") {
  server_process srv{{"--ws-ttl-ms", "0"}};
  auto host = transport_host();
  raw_client c{srv.ws_port()};
  c.send(upgrade_request(token_for(host)));
  REQUIRE(c.read_until([](const std::string& r) { return !events_in(r).empty(); },
                       std::chrono::seconds(5)));
  REQUIRE(metric(srv, "bellhop_ws_sessions") == 1);
  // From here the client reads nothing. Notifications of ~10 KB each:
  // 2,000 are 20 MB, more than the kernel's socket buffers (a few MB) and
  // the 4 MiB the server keeps for one client.
  auto svc = bellhop::auth::sign_hs256(jwt_secret, "svc-transport",
                                       bellhop::auth::role::service, 3600);
  json body = {{"hostId", host},
               {"type", "system"},
               {"title", "filler"},
               {"body", std::string(2000, 'b')},
               {"data", {{"pad", std::string(8000, 'd')}}}};
  std::atomic<int> created{0};
  std::vector<std::thread> posters;
  for (int t = 0; t < 4; ++t)
    posters.emplace_back([&] {
      for (int i = 0; i < 500; ++i)
        created += srv.post_json("/notifications", svc, body).status == 201;
    });
  for (auto& t : posters)
    t.join();
  CHECK(created == 2000);
  auto deadline = clock_type::now() + std::chrono::seconds(20);
  while (metric(srv, "bellhop_ws_sessions") != 0 && clock_type::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(metric(srv, "bellhop_ws_sessions") == 0);
  // Nothing was lost for the host: every notification is unread in REST.
  auto count = srv.get("/notifications/count", token_for(host));
  REQUIRE(count.status == 200);
  CHECK(count.json_body()["unread"] == 2000);
  // And a new session of the same host is served as usual.
  raw_client again{srv.ws_port()};
  again.send(upgrade_request(token_for(host)));
  REQUIRE(again.read_until(
    [](const std::string& r) { return !events_in(r).empty(); },
    std::chrono::seconds(5)));
  CHECK(events_in(again.received)[0] == "hello");
}
