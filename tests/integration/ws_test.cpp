// Integration test of the native WebSocket protocol (API.md §1, §2, §5):
// the real `bellhop serve` ($BELLHOP_BIN), a websocketpp client and REST
// calls. Each test case starts its own server with the flags it needs and
// uses hosts of its own.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <ctime>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <jwt.h>

#include "bellhop/auth/jwt.hpp"
#include "ws_harness.hpp"

using namespace bellhop_it;
using bellhop::auth::role;
using bellhop::auth::sign_hs256;

namespace {

// ------------------------------------------------------------------ helpers

std::string uid(const std::string& prefix) {
  static std::atomic<int> next{1};
  return prefix + "-" + std::to_string(next++);
}

std::string host_token(const std::string& host) {
  return sign_hs256(jwt_secret, host, role::host, 3600);
}
std::string guest_token(const std::string& guest) {
  return sign_hs256(jwt_secret, guest, role::guest, 3600);
}
std::string service_token() {
  return sign_hs256(jwt_secret, "svc-ws-it", role::service, 3600);
}
std::string admin_token() {
  return sign_hs256(jwt_secret, "admin-ws-it", role::admin, 3600);
}

/// An HS256 token minted by hand: `exp` is absolute (seconds since epoch).
std::string manual_token(const std::string& secret, const std::string& sub,
                         const std::string& role_name, long exp) {
  jwt_t* j = nullptr;
  REQUIRE(jwt_new(&j) == 0);
  jwt_add_grant(j, "sub", sub.c_str());
  jwt_add_grant(j, "role", role_name.c_str());
  jwt_add_grant_int(j, "iat", static_cast<long>(std::time(nullptr)) - 60);
  jwt_add_grant_int(j, "exp", exp);
  jwt_set_alg(j, JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
              static_cast<int>(secret.size()));
  char* s = jwt_encode_str(j);
  std::string out = s ? s : "";
  free(s);
  jwt_free(j);
  REQUIRE_FALSE(out.empty());
  return out;
}

long now_s() {
  return static_cast<long>(std::time(nullptr));
}

std::string ws_query(const std::string& token, const std::string& more = "") {
  return "/ws?access_token=" + token + more;
}

json booking_body(const std::string& host, const std::string& room,
                  const std::string& guest = "") {
  json b = {{"hostId", host},         {"roomId", room},
            {"checkIn", "2030-01-11"}, {"checkOut", "2030-01-13"},
            {"guests", 2}};
  if (!guest.empty())
    b["guestId"] = guest;
  return b;
}

/// POST /bookings that must succeed; returns the 201's body.
json book(const server_process& srv, const std::string& token, const json& body) {
  auto r = srv.post_json("/bookings", token, body);
  INFO("POST /bookings -> " << r.status << " " << r.body);
  REQUIRE(r.status == 201);
  auto j = r.json_body();
  REQUIRE(j.is_object());
  REQUIRE(j["notification"]["id"].is_number_integer());
  return j;
}

/// POST /notifications (service token, type system); returns the id.
int64_t notify(const server_process& srv, const std::string& host,
               const std::string& title = "hello") {
  json body = {{"hostId", host}, {"type", "system"}, {"title", title}, {"body", "b"}};
  auto r = srv.post_json("/notifications", service_token(), body);
  INFO("POST /notifications -> " << r.status << " " << r.body);
  REQUIRE(r.status == 201);
  auto j = r.json_body();
  REQUIRE(j["notification"]["id"].is_number_integer());
  return j["notification"]["id"].get<int64_t>();
}

std::vector<int64_t> seed(const server_process& srv, const std::string& host, int n) {
  std::vector<int64_t> ids;
  for (int i = 0; i < n; ++i)
    ids.push_back(notify(srv, host, "n" + std::to_string(i + 1)));
  return ids;
}

/// GET /notifications/count as the host: {"unread":..,"latestId":..}.
json rest_count(const server_process& srv, const std::string& host) {
  auto r = srv.get("/notifications/count", host_token(host));
  INFO("GET /notifications/count -> " << r.status << " " << r.body);
  REQUIRE(r.status == 200);
  return r.json_body();
}

/// The host's notification with this id, as REST lists it.
json rest_notification(const server_process& srv, const std::string& host,
                       int64_t id) {
  auto r = srv.get("/notifications/list?limit=1&after=" + std::to_string(id - 1),
                   host_token(host));
  INFO("GET /notifications/list -> " << r.status << " " << r.body);
  REQUIRE(r.status == 200);
  auto items = r.json_body()["items"];
  REQUIRE(items.size() == 1);
  return items[0];
}

std::string dump_frames(const std::vector<json>& frames) {
  std::ostringstream os;
  for (auto& f : frames)
    os << "  " << f.dump() << "\n";
  return os.str();
}

/// Opens a host socket (token in the query) and waits for its hello.
ws_client::conn_id open_host(ws_client& c, const server_process& srv,
                             const std::string& host, const std::string& more = "") {
  auto id = c.connect(srv.ws_url(ws_query(host_token(host), more)));
  REQUIRE(c.wait_open(id));
  REQUIRE(c.wait_frames(id, 1));
  REQUIRE(event_of(c.frames(id)[0]) == "hello");
  return id;
}

/// Waits until the socket's frame count reaches n, then fails with all
/// frames shown if it did not.
std::vector<json> frames_at_least(ws_client& c, ws_client::conn_id id, std::size_t n,
                                  ms timeout = ms(10000)) {
  bool ok = c.wait_frames(id, n, timeout);
  auto f = c.frames(id);
  INFO("expected at least " << n << " frames, got:\n" << dump_frames(f));
  REQUIRE(ok);
  return f;
}

/// A quiet period: long enough for a frame that was going to come to come.
const ms settle{400};

void check_read_event(const json& frame, const json& ids, const json& up_to,
                      int64_t unread, int64_t latest) {
  INFO("frame: " << frame.dump());
  REQUIRE(event_of(frame) == "read");
  const auto& d = frame["data"];
  REQUIRE(d.is_object());
  CHECK(d.size() == 4);
  CHECK(d["ids"] == ids);
  CHECK(d["upTo"] == up_to);
  CHECK(d["unread"] == unread);
  CHECK(d["latestId"] == latest);
}

} // namespace

// ============================================================== handshake

TEST_CASE("ws: handshake refusals and accepted ways in", "[ws][handshake]") {
  server_process srv{{"--ws-ttl-ms", "0", "--max-sessions-per-host", "2"}};
  ws_client c;
  auto h1 = uid("hs-host");
  auto h2 = uid("hs-host");

  // No token at all.
  {
    auto id = c.connect(srv.ws_url("/ws"));
    CHECK(c.wait_refused(id) == 401);
  }
  // A bad signature (another secret).
  {
    auto bad = sign_hs256("not-the-secret", h1, role::host, 3600);
    auto id = c.connect(srv.ws_url(ws_query(bad)));
    CHECK(c.wait_refused(id) == 401);
    auto id2 = c.connect(srv.ws_url("/ws"), "Bearer " + bad);
    CHECK(c.wait_refused(id2) == 401);
  }
  // Expired beyond the 30 s leeway.
  {
    auto expired = manual_token(jwt_secret, h1, "host", now_s() - 120);
    auto id = c.connect(srv.ws_url(ws_query(expired)));
    CHECK(c.wait_refused(id) == 401);
  }
  // A host token whose sub cannot be a hostId names no host.
  {
    auto id = c.connect(srv.ws_url(ws_query(host_token("no such/host"))));
    CHECK(c.wait_refused(id) == 401);
  }
  // A guest token is valid but not allowed on /ws.
  {
    auto id = c.connect(srv.ws_url(ws_query(guest_token(uid("g")))));
    CHECK(c.wait_refused(id) == 403);
  }
  // A host naming another host.
  {
    auto id = c.connect(srv.ws_url(ws_query(host_token(h1), "&hostId=" + h2)));
    CHECK(c.wait_refused(id) == 403);
  }
  // A path other than /ws.
  {
    auto id = c.connect(srv.ws_url("/nope?access_token=" + host_token(h1)));
    CHECK(c.wait_refused(id) == 404);
  }
  // An admin must name the host.
  {
    auto id = c.connect(srv.ws_url(ws_query(admin_token())));
    CHECK(c.wait_refused(id) == 400);
  }
  // None of the refused connections opened or got a frame.
  for (ws_client::conn_id id = 0; id < 8; ++id) {
    auto s = c.state(id);
    CHECK_FALSE(s.opened);
    CHECK(s.frames.empty());
  }

  // access_token in the query works.
  auto q = c.connect(srv.ws_url(ws_query(host_token(h1))));
  REQUIRE(c.wait_open(q));
  auto fq = frames_at_least(c, q, 1);
  CHECK(event_of(fq[0]) == "hello");
  CHECK(fq[0]["data"]["hostId"] == h1);

  // The Authorization header works (and a host may name itself).
  auto hdr = c.connect(srv.ws_url("/ws?hostId=" + h1), "Bearer " + host_token(h1));
  REQUIRE(c.wait_open(hdr));
  auto fh = frames_at_least(c, hdr, 1);
  CHECK(event_of(fh[0]) == "hello");
  CHECK(fh[0]["data"]["hostId"] == h1);

  // Two live sessions is the limit here: a third one is 429.
  auto third = c.connect(srv.ws_url(ws_query(host_token(h1))));
  CHECK(c.wait_refused(third) == 429);
  // Another host is not affected by h1's sessions.
  auto other = c.connect(srv.ws_url(ws_query(host_token(h2))));
  CHECK(c.wait_open(other));
  // When one of h1's sessions ends, its slot is free again.
  c.close(q, 1000, "bye");
  REQUIRE(c.wait_closed(q));
  int status = 0;
  for (int attempt = 0; attempt < 50 && status != 101; ++attempt) {
    auto again = c.connect(srv.ws_url(ws_query(host_token(h1))));
    status = c.wait_refused(again);
    if (status != 101)
      std::this_thread::sleep_for(ms(20));
  }
  CHECK(status == 101);

  // An admin naming a host joins that host's room and gets its events.
  auto h3 = uid("hs-host");
  auto adm = c.connect(srv.ws_url(ws_query(admin_token(), "&hostId=" + h3)));
  REQUIRE(c.wait_open(adm));
  auto fa = frames_at_least(c, adm, 1);
  REQUIRE(event_of(fa[0]) == "hello");
  CHECK(fa[0]["data"]["hostId"] == h3);
  auto created = book(srv, guest_token(uid("g")), booking_body(h3, "r-adm"));
  auto nid = created["notification"]["id"].get<int64_t>();
  fa = frames_at_least(c, adm, 2);
  CHECK(event_of(fa[1]) == "new_booking");
  CHECK(fa[1]["data"]["id"] == nid);
  CHECK(fa[1]["data"]["hostId"] == h3);
}

TEST_CASE("ws: 16 live sessions per host by default, the 17th is 429", "[ws][handshake]") {
  server_process srv{{"--ws-ttl-ms", "0"}};
  ws_client c;
  auto host = uid("many-host");
  for (int i = 0; i < 16; ++i)
    open_host(c, srv, host);
  auto seventeenth = c.connect(srv.ws_url(ws_query(host_token(host))));
  CHECK(c.wait_refused(seventeenth) == 429);
  open_host(c, srv, uid("many-host"));  // another host has its own 16
}

TEST_CASE("ws: bad tokens from one address are limited, valid ones never",
          "[ws][handshake]") {
  server_process srv{{"--ws-ttl-ms", "0"}};
  ws_client c;
  auto h1 = uid("lim-host");
  auto bad = sign_hs256("not-the-secret", h1, role::host, 3600);
  // Ten bad tokens are 401 (the burst); the ones right after are 429 with
  // Retry-After, as unauthenticated REST requests are.
  std::vector<int> statuses;
  for (int i = 0; i < 12; ++i)
    statuses.push_back(c.wait_refused(c.connect(srv.ws_url(ws_query(bad)))));
  CHECK(std::count(statuses.begin(), statuses.begin() + 10, 401) == 10);
  CHECK(statuses[10] == 429);
  CHECK(statuses[11] == 429);
  // A valid token from the same address is not held back by them.
  auto good = c.connect(srv.ws_url(ws_query(host_token(h1))));
  REQUIRE(c.wait_open(good));
  auto f = frames_at_least(c, good, 1);
  CHECK(event_of(f[0]) == "hello");
}

// ================================================================== hello

TEST_CASE("ws: hello is the first frame and agrees with REST count", "[ws][hello]") {
  server_process srv;  // default TTL: 3000 ms
  ws_client c;

  auto busy = uid("hello-host");
  auto ids = seed(srv, busy, 3);
  auto mr = srv.post_json("/notifications/mark-read", host_token(busy),
                          json{{"ids", {ids[0]}}});
  REQUIRE(mr.status == 200);
  auto empty = uid("hello-host");

  std::set<std::string> session_ids;
  for (const auto& host : {busy, empty, busy}) {
    auto count = rest_count(srv, host);
    auto id = c.connect(srv.ws_url(ws_query(host_token(host))));
    REQUIRE(c.wait_open(id));
    auto f = frames_at_least(c, id, 1);
    INFO("hello: " << f[0].dump() << " count: " << count.dump());
    REQUIRE(event_of(f[0]) == "hello");
    CHECK(f[0].size() == 2);
    const auto& d = f[0]["data"];
    REQUIRE(d.is_object());
    CHECK(d.size() == 5);
    REQUIRE(d["sessionId"].is_string());
    CHECK_FALSE(d["sessionId"].get<std::string>().empty());
    session_ids.insert(d["sessionId"].get<std::string>());
    CHECK(d["hostId"] == host);
    CHECK(d["ttlMs"] == 3000);
    CHECK(d["unread"] == count["unread"]);
    CHECK(d["latestId"] == count["latestId"]);
    if (host == empty) {
      CHECK(d["unread"] == 0);
      CHECK(d["latestId"] == 0);
    } else {
      CHECK(d["unread"] == 2);
      CHECK(d["latestId"] == ids[2]);
    }
  }
  CHECK(session_ids.size() == 3);
}

// ================================================================ fan-out

TEST_CASE("ws: a booking reaches every socket of its host and no other",
          "[ws][push]") {
  server_process srv{{"--ws-ttl-ms", "0"}};
  ws_client c;
  auto host = uid("push-host");
  auto stranger = uid("push-host");
  std::vector<ws_client::conn_id> devices;
  for (int i = 0; i < 3; ++i)
    devices.push_back(open_host(c, srv, host));
  auto other = open_host(c, srv, stranger);

  auto guest = uid("g");
  auto created = book(srv, guest_token(guest), booking_body(host, "r-12"));
  auto nid = created["notification"]["id"].get<int64_t>();
  auto booking = created["booking"];
  auto rest = rest_notification(srv, host, nid);

  for (auto d : devices) {
    auto f = frames_at_least(c, d, 2);
    INFO("frames:\n" << dump_frames(f));
    CHECK(f.size() == 2);
    CHECK(event_of(f[1]) == "new_booking");
    CHECK(f[1].size() == 2);
    const auto& n = f[1]["data"];
    CHECK(n["id"] == nid);
    CHECK(n["hostId"] == host);
    CHECK(n["type"] == "new_booking");
    CHECK(n["category"] == "booking");
    CHECK(n["title"] == "New booking: r-12");
    CHECK(n["body"] == guest + " booked r-12 for 2030-01-11 to 2030-01-13 (2 guests)");
    CHECK(n["data"]["bookingId"] == booking["id"]);
    CHECK(n["readAt"].is_null());
    CHECK(n == rest);  // the same notification object REST lists
  }
  std::this_thread::sleep_for(settle);
  auto fo = c.frames(other);
  INFO("other host's frames:\n" << dump_frames(fo));
  CHECK(fo.size() == 1);
  for (auto d : devices)
    CHECK(c.frames(d).size() == 2);
}

// ================================================================= replay

TEST_CASE("ws: after= replays newer notifications before live ones", "[ws][replay]") {
  server_process srv{{"--ws-ttl-ms", "0"}};
  ws_client c;

  SECTION("five notifications, after the second") {
    auto host = uid("replay-host");
    auto ids = seed(srv, host, 5);
    auto id = open_host(c, srv, host, "&after=" + std::to_string(ids[1]));
    auto f = frames_at_least(c, id, 4);
    auto live = notify(srv, host, "live");
    f = frames_at_least(c, id, 5);
    std::this_thread::sleep_for(ms(200));
    f = c.frames(id);
    INFO("frames:\n" << dump_frames(f));
    REQUIRE(f.size() == 5);
    CHECK(f[0]["data"]["latestId"] == ids[4]);
    std::vector<int64_t> got;
    for (std::size_t i = 1; i < f.size(); ++i) {
      CHECK(event_of(f[i]) == "system");
      CHECK(f[i]["data"]["type"] == "system");
      got.push_back(f[i]["data"]["id"].get<int64_t>());
    }
    CHECK(got == std::vector<int64_t>{ids[2], ids[3], ids[4], live});
    CHECK(f[1]["data"] == rest_notification(srv, host, ids[2]));
  }

  SECTION("120 notifications, after=0: the 100 oldest") {
    auto host = uid("replay-host");
    auto ids = seed(srv, host, 120);
    auto id = open_host(c, srv, host, "&after=0");
    auto f = frames_at_least(c, id, 101);
    std::this_thread::sleep_for(settle);
    f = c.frames(id);
    REQUIRE(f.size() == 101);
    CHECK(f[0]["data"]["unread"] == 120);
    CHECK(f[0]["data"]["latestId"] == ids[119]);
    std::vector<int64_t> got;
    for (std::size_t i = 1; i < f.size(); ++i)
      got.push_back(f[i]["data"]["id"].get<int64_t>());
    CHECK(got == std::vector<int64_t>(ids.begin(), ids.begin() + 100));
  }

  SECTION("after= the largest id: nothing is newer") {
    auto host = uid("replay-host");
    seed(srv, host, 2);
    auto id = open_host(c, srv, host, "&after=18446744073709551615");
    frames_at_least(c, id, 1);
    std::this_thread::sleep_for(settle);
    auto f = c.frames(id);
    INFO("frames:\n" << dump_frames(f));
    REQUIRE(f.size() == 1);
    CHECK(event_of(f[0]) == "hello");
  }
}

// ==================================================================== ops

TEST_CASE("ws: ping, ack and bad input", "[ws][ops]") {
  server_process srv{{"--ws-ttl-ms", "0"}};
  ws_client c;
  auto host = uid("ops-host");
  auto id = open_host(c, srv, host);

  c.send(id, R"({"op":"ping"})");
  auto f = frames_at_least(c, id, 2);
  CHECK(f[1] == json{{"event", "pong"}});
  CHECK(c.state(id).raw[1] == R"({"event":"pong"})");

  auto check_error = [&](const std::string& text, std::size_t at) {
    c.send(id, text);
    auto fs = frames_at_least(c, id, at + 1);
    INFO("sent " << text << ", got " << fs[at].dump());
    CHECK(event_of(fs[at]) == "error");
    CHECK(fs[at]["data"]["code"] == "invalid_request");
    CHECK(fs[at]["data"]["message"].is_string());
  };
  check_error("{not json", 2);
  check_error(R"({"op":"dance"})", 3);
  check_error(R"([1,2,3])", 4);
  // A NUL byte ends no document: this is not a ping.
  check_error(std::string{R"({"op":"ping"})"} + '\0' + "x", 5);

  // ack of a pushed notification: no error frame (the pong that follows
  // comes after anything the ack would have caused).
  auto created = book(srv, guest_token(uid("g")), booking_body(host, "r-ack"));
  auto nid = created["notification"]["id"].get<int64_t>();
  f = frames_at_least(c, id, 7);
  REQUIRE(event_of(f[6]) == "new_booking");
  REQUIRE(f[6]["data"]["id"] == nid);
  c.send(id, json{{"op", "ack"}, {"id", nid}}.dump());
  c.send(id, R"({"op":"ping"})");
  f = frames_at_least(c, id, 8);
  INFO("frames:\n" << dump_frames(f));
  CHECK(event_of(f[7]) == "pong");
  std::this_thread::sleep_for(ms(200));
  CHECK(c.frames(id).size() == 8);
  CHECK_FALSE(c.state(id).closed);
}

/// The ids of the host's `acked` audit entries, oldest first, once they
/// stop changing.
std::vector<int64_t> acked_ids(const server_process& srv, const std::string& host) {
  std::vector<int64_t> ids, last{-1};
  for (int i = 0; i < 20 && ids != last; ++i) {
    std::this_thread::sleep_for(ms(100));
    last = std::move(ids);
    ids.clear();
    std::string cursor;
    do {
      auto r = srv.get("/admin/audit?limit=100&hostId=" + host + cursor,
                       admin_token());
      REQUIRE(r.status == 200);
      auto page = r.json_body();
      for (auto& e : page["items"])
        if (e["action"] == "acked")
          ids.insert(ids.begin(), e["notificationId"].get<int64_t>());
      cursor = page["nextCursor"].is_string()
                 ? "&cursor=" + page["nextCursor"].get<std::string>()
                 : "";
    } while (!cursor.empty());
  }
  return ids;
}

const std::string ws_acked = R"(bellhop_deliveries_total{channel="ws",result="acked"})";

TEST_CASE("ws: an ack that comes on the host's next socket counts", "[ws][ops]") {
  // A session waits only a moment for acks after its TTL, so an ack made
  // later can only come on the client's next socket: §5, it confirms the
  // delivery and is audited (and so stops the email, §7).
  server_process srv{{"--ws-ttl-ms", "0"}};
  ws_client c;
  auto host = uid("ack-next-host");
  auto first = open_host(c, srv, host);
  auto ids = seed(srv, host, 1);
  frames_at_least(c, first, 2);
  c.close(first);
  REQUIRE(c.wait_closed(first));
  auto second = open_host(c, srv, host);
  c.send(second, json{{"op", "ack"}, {"id", ids[0]}}.dump());
  CHECK(acked_ids(srv, host) == ids);
  CHECK(metric(srv, ws_acked) == 1);
}

TEST_CASE("ws: acks of notifications not written on their socket are held to "
          "a budget per host", "[ws][ops]") {
  // Each such ack is an audit entry on disk: a host's sockets acking ids
  // never sent (16 sockets, 20 a second each) would fill the store for
  // every host. 100 are recorded at once, then one a second; the acks the
  // server asked for are not held to it (the test below).
  server_process srv{{"--ws-ttl-ms", "0"}};
  ws_client c;
  auto host = uid("foreign-ack-host");
  auto limited_before = metric(srv, "bellhop_rate_limited_total");
  std::vector<ws_client::conn_id> sockets;
  for (int s = 0; s < 8; ++s)
    sockets.push_back(open_host(c, srv, host));
  // 19 each (under the 20 a second that would close the socket), 152 in
  // all, of ids the host has never had.
  for (int s = 0; s < 8; ++s) {
    std::vector<std::string> acks;
    for (int k = 0; k < 19; ++k)
      acks.push_back(json{{"op", "ack"}, {"id", 1000 + s * 19 + k}}.dump());
    c.send_burst(sockets[s], acks);
  }
  for (auto id : sockets) {
    c.send(id, R"({"op":"ping"})");
    auto f = frames_at_least(c, id, 2);
    CHECK(event_of(f.back()) == "pong");
    CHECK_FALSE(c.state(id).closed);
  }
  auto recorded = acked_ids(srv, host).size();
  CHECK(recorded >= 100);
  CHECK(recorded < 152);
  CHECK(metric(srv, "bellhop_rate_limited_total") - limited_before
        == 152 - static_cast<double>(recorded));
  CHECK(metric(srv, ws_acked) == recorded);
}

TEST_CASE("ws: acks for 600 notifications written on one socket are not a flood",
          "[ws][ops]") {
  // Acks the server asked for are not counted toward the 20 messages a
  // second (§5), however many are owed: Socket.IO remembers 1,024 pending
  // acks, and a native session as many.
  server_process srv{{"--ws-ttl-ms", "0"}};
  ws_client c;
  auto host = uid("ack-burst-host");
  auto id = open_host(c, srv, host);
  auto ids = seed(srv, host, 600);
  frames_at_least(c, id, 601, ms(30000));
  std::vector<std::string> acks;
  for (auto n : ids)
    acks.push_back(json{{"op", "ack"}, {"id", n}}.dump());
  c.send_burst(id, acks);
  c.send(id, R"({"op":"ping"})");
  auto f = frames_at_least(c, id, 602);
  CHECK(event_of(f.back()) == "pong");
  CHECK_FALSE(c.state(id).closed);
  CHECK(acked_ids(srv, host) == ids);
}

// ============================================================== mark-read

TEST_CASE("ws: mark-read sends a read event to every device", "[ws][read]") {
  server_process srv{{"--ws-ttl-ms", "0"}};
  ws_client c;
  auto host = uid("read-host");
  auto ids = seed(srv, host, 3);
  auto a = open_host(c, srv, host);
  auto b = open_host(c, srv, host);
  auto bystander = open_host(c, srv, uid("read-host"));

  // Over the socket, by id.
  c.send(a, json{{"op", "mark-read"}, {"ids", {ids[0]}}}.dump());
  auto fa = frames_at_least(c, a, 2);
  auto fb = frames_at_least(c, b, 2);
  auto count = rest_count(srv, host);
  CHECK(count["unread"] == 2);
  check_read_event(fa[1], json::array({ids[0]}), nullptr, 2, ids[2]);
  check_read_event(fb[1], json::array({ids[0]}), nullptr, 2, ids[2]);
  CHECK(fa[1]["data"]["unread"] == count["unread"]);
  CHECK(fa[1]["data"]["latestId"] == count["latestId"]);

  // Over REST, everything.
  auto r = srv.post_json("/notifications/mark-read", host_token(host),
                         json{{"all", true}});
  REQUIRE(r.status == 200);
  fa = frames_at_least(c, a, 3);
  fb = frames_at_least(c, b, 3);
  check_read_event(fa[2], nullptr, ids[2], 0, ids[2]);
  check_read_event(fb[2], nullptr, ids[2], 0, ids[2]);
  CHECK(rest_count(srv, host)["unread"] == 0);

  // Changes nothing: no read event, neither by socket nor by REST. The next
  // change's event must be the next frame.
  c.send(a, json{{"op", "mark-read"}, {"ids", {ids[0]}}}.dump());
  r = srv.post_json("/notifications/mark-read", host_token(host), json{{"all", true}});
  REQUIRE(r.status == 200);
  r = srv.post_json("/notifications/mark-read", host_token(host),
                    json{{"ids", {ids[1]}}});
  REQUIRE(r.status == 200);
  auto fresh = notify(srv, host, "fresh");
  c.send(a, json{{"op", "mark-read"}, {"ids", {fresh}}}.dump());
  fa = frames_at_least(c, a, 5);
  fb = frames_at_least(c, b, 5);
  std::this_thread::sleep_for(ms(200));
  for (auto d : {a, b}) {
    auto f = c.frames(d);
    INFO("frames:\n" << dump_frames(f));
    REQUIRE(f.size() == 5);
    CHECK(event_of(f[3]) == "system");
    CHECK(f[3]["data"]["id"] == fresh);
    check_read_event(f[4], json::array({fresh}), nullptr, 0, fresh);
  }
  CHECK(c.frames(bystander).size() == 1);
}

TEST_CASE("ws: a read event names the watermark applied, or only the ids that changed",
          "[ws][read]") {
  server_process srv{{"--ws-ttl-ms", "0"}};
  ws_client c;
  auto host = uid("mark-host");
  auto ids = seed(srv, host, 4);
  auto a = open_host(c, srv, host);

  // upTo: ids null, upTo the watermark asked for (not latestId).
  auto r = srv.post_json("/notifications/mark-read", host_token(host),
                         json{{"upTo", ids[1]}});
  REQUIRE(r.status == 200);
  auto f = frames_at_least(c, a, 2);
  check_read_event(f[1], nullptr, ids[1], 2, ids[3]);

  // ids with one already read: only the one that changed is named.
  c.send(a, json{{"op", "mark-read"}, {"ids", {ids[0], ids[2]}}}.dump());
  f = frames_at_least(c, a, 3);
  check_read_event(f[2], json::array({ids[2]}), nullptr, 1, ids[3]);
  CHECK(rest_count(srv, host)["unread"] == 1);
}

TEST_CASE("ws: what a session got but did not ack stays unread and comes again by after=",
          "[ws][replay]") {
  server_process srv{{"--ws-ttl-ms", "600"}};
  ws_client c;
  auto host = uid("unacked-host");
  auto first = open_host(c, srv, host);
  auto before = c.frames(first)[0]["data"]["latestId"].get<int64_t>();
  auto ids = seed(srv, host, 2);
  auto f = frames_at_least(c, first, 3);
  REQUIRE(c.wait_closed(first, ms(10000)));  // the TTL, no ack sent
  CHECK(c.state(first).close_code == 4000);

  CHECK(rest_count(srv, host)["unread"] == 2);
  for (auto id : ids)
    CHECK(rest_notification(srv, host, id)["readAt"].is_null());
  // The page reconnects with after=<latestId it had before them>.
  auto again = open_host(c, srv, host, "&after=" + std::to_string(before));
  f = frames_at_least(c, again, 3);
  std::this_thread::sleep_for(settle);
  f = c.frames(again);
  INFO("frames:\n" << dump_frames(f));
  REQUIRE(f.size() == 3);
  CHECK(f[1]["data"]["id"] == ids[0]);
  CHECK(f[2]["data"]["id"] == ids[1]);
}

// ============================================================ close codes

TEST_CASE("ws: ttl closes with 4000", "[ws][close]") {
  server_process srv{{"--ws-ttl-ms", "500"}};
  ws_client c;
  auto id = open_host(c, srv, uid("ttl-host"));
  CHECK(c.frames(id)[0]["data"]["ttlMs"] == 500);
  REQUIRE(c.wait_closed(id, ms(10000)));
  auto s = c.state(id);
  // Lower bound from the connect (before the server's open), upper bound
  // from the client's open (after it): both sides of the server's clock.
  auto since_connect = std::chrono::duration_cast<ms>(s.close_at - s.connect_at).count();
  auto since_open = std::chrono::duration_cast<ms>(s.close_at - s.open_at).count();
  INFO("closed " << since_open << " ms after open with " << s.close_code << " "
                 << s.close_reason);
  CHECK(s.close_code == 4000);
  CHECK(s.close_reason == "ttl");
  CHECK(since_connect >= 400);
  CHECK(since_open <= 5000);
}

TEST_CASE("ws: close on delivery closes with 4001 after the ack", "[ws][close]") {
  server_process srv{{"--ws-close-on-delivery", "--ws-ttl-ms", "0"}};
  ws_client c;
  auto host = uid("cod-host");
  auto id = open_host(c, srv, host);
  CHECK(c.frames(id)[0]["data"]["ttlMs"] == 0);
  auto created = book(srv, guest_token(uid("g")), booking_body(host, "r-cod"));
  auto nid = created["notification"]["id"].get<int64_t>();
  auto f = frames_at_least(c, id, 2);
  REQUIRE(event_of(f[1]) == "new_booking");
  REQUIRE(f[1]["data"]["id"] == nid);
  // Delivered but not yet acked: still open.
  c.send(id, R"({"op":"ping"})");
  f = frames_at_least(c, id, 3);
  CHECK(event_of(f[2]) == "pong");
  CHECK_FALSE(c.state(id).closed);
  c.send(id, json{{"op", "ack"}, {"id", nid}}.dump());
  REQUIRE(c.wait_closed(id, ms(5000)));
  auto s = c.state(id);
  CHECK(s.close_code == 4001);
  CHECK(s.close_reason == "delivered");
}

TEST_CASE("ws: a token expiring within the leeway closes with 4003", "[ws][close]") {
  server_process srv{{"--ws-ttl-ms", "0"}};
  ws_client c;
  auto host = uid("exp-host");
  // exp is in whole seconds: 27 s ago leaves 2-3 s of the 30 s leeway, time
  // for the hello even on a slow (sanitized) build.
  auto tok = manual_token(jwt_secret, host, "host", now_s() - 27);
  auto id = c.connect(srv.ws_url(ws_query(tok)));
  REQUIRE(c.wait_open(id));
  auto f = frames_at_least(c, id, 1);
  CHECK(event_of(f[0]) == "hello");
  REQUIRE(c.wait_closed(id, ms(6000)));
  auto s = c.state(id);
  INFO("reason: " << s.close_reason << " after "
                  << std::chrono::duration_cast<ms>(s.close_at - s.open_at).count()
                  << " ms");
  CHECK(s.close_code == 4003);
}

TEST_CASE("ws: flooding closes with 1008", "[ws][close]") {
  server_process srv{{"--ws-ttl-ms", "0"}};
  ws_client c;
  auto id = open_host(c, srv, uid("flood-host"));
  // 100 pings padded to 15 KB: the client is still sending when the server
  // closes (it reads 256 KB at a time); the close frame must reach it all
  // the same, not a reset (1006).
  auto pad = GENERATE(std::size_t{0}, std::size_t{15000});
  c.send_burst(id, std::vector<std::string>(
                     pad > 0 ? 100 : 30, R"({"op":"ping"})" + std::string(pad, ' ')));
  REQUIRE(c.wait_closed(id, ms(5000)));
  auto s = c.state(id);
  INFO("frames:\n" << dump_frames(s.frames));
  CHECK(s.close_code == 1008);
  std::size_t pongs = 0;
  for (auto& f : s.frames)
    pongs += event_of(f) == "pong";
  CHECK(pongs <= 20);
}

TEST_CASE("ws: WebSocket pings (or pongs) past 20 in a second close with 1008",
          "[ws][close]") {
  server_process srv{{"--ws-ttl-ms", "0"}};
  ws_client c;
  auto id = open_host(c, srv, uid("pingflood-host"));
  auto pongs = GENERATE(false, true);
  c.send_pings(id, 500, pongs);
  REQUIRE(c.wait_closed(id, ms(5000)));
  auto s = c.state(id);
  CHECK(s.close_code == 1008);
  CHECK(s.close_reason == "too many messages");
}

TEST_CASE("ws: SIGTERM closes sockets with 1001 and exits 0", "[ws][close]") {
  server_process srv{{"--ws-ttl-ms", "0"}};
  ws_client c;
  std::vector<ws_client::conn_id> ids;
  auto h1 = uid("term-host");
  auto h2 = uid("term-host");
  for (const auto& h : {h1, h1, h2})
    ids.push_back(open_host(c, srv, h));
  auto t0 = steady::now();
  int status = srv.terminate(std::chrono::seconds(10));
  auto took = std::chrono::duration_cast<ms>(steady::now() - t0).count();
  INFO("exit status " << status << " after " << took
                      << " ms (137: still running after 10 s, SIGKILLed); stderr: "
                      << srv.stderr_text());
  CHECK(status == 0);
  for (auto id : ids) {
    REQUIRE(c.wait_closed(id, ms(5000)));
    auto s = c.state(id);
    CHECK(s.close_code == 1001);
  }
}

// ================================================================== scale

TEST_CASE("ws: 1000 sessions over 200 hosts each get exactly their booking",
          "[ws][scale]") {
  constexpr int hosts = 200;
  constexpr int per_host = 5;
  auto started = steady::now();
  server_process srv{{"--ws-ttl-ms", "0"}};
  ws_client c;

  std::vector<std::string> host_ids;
  std::vector<ws_client::conn_id> all;
  std::map<ws_client::conn_id, int> owner;  // connection -> host index
  for (int h = 0; h < hosts; ++h) {
    host_ids.push_back(uid("scale-host"));
    auto url = srv.ws_url(ws_query(host_token(host_ids.back())));
    for (int i = 0; i < per_host; ++i) {
      auto id = c.connect(url);
      all.push_back(id);
      owner[id] = h;
    }
  }
  bool all_hello = c.wait_all(
    all, [](const ws_conn_state& s) { return !s.frames.empty() || s.failed || s.closed; },
    ms(30000));
  std::size_t opened = 0, hellos = 0;
  for (auto id : all) {
    auto s = c.state(id);
    opened += s.opened;
    hellos += !s.frames.empty() && event_of(s.frames[0]) == "hello";
  }
  INFO("opened " << opened << ", hellos " << hellos);
  REQUIRE(all_hello);
  REQUIRE(opened == all.size());
  REQUIRE(hellos == all.size());

  // One booking per host, from 4 threads.
  std::vector<int64_t> nid(hosts, 0);
  std::vector<std::string> errors(hosts);
  auto svc = service_token();
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w)
    workers.emplace_back([&, w] {
      for (int h = w; h < hosts; h += 4) {
        auto body = booking_body(host_ids[h], "room-" + std::to_string(h), "g-scale");
        auto r = srv.post_json("/bookings", svc, body);
        auto j = r.json_body();
        if (r.status == 201 && j.is_object() && j["notification"]["id"].is_number_integer())
          nid[h] = j["notification"]["id"].get<int64_t>();
        else
          errors[h] = std::to_string(r.status) + " " + r.body;
      }
    });
  for (auto& t : workers)
    t.join();
  for (int h = 0; h < hosts; ++h) {
    INFO("booking for " << host_ids[h] << ": " << errors[h]);
    REQUIRE(nid[h] > 0);
  }

  bool all_pushed = c.wait_all(
    all, [](const ws_conn_state& s) { return s.frames.size() >= 2 || s.closed; },
    ms(30000));
  std::this_thread::sleep_for(settle);
  std::vector<std::string> problems;
  for (auto id : all) {
    auto s = c.state(id);
    int h = owner[id];
    std::ostringstream why;
    if (s.closed)
      why << "closed with " << s.close_code << "; ";
    if (s.frames.size() != 2) {
      why << s.frames.size() << " frames";
    } else {
      const auto& f = s.frames[1];
      if (event_of(f) != "new_booking" || f["data"]["hostId"] != host_ids[h]
          || f["data"]["id"] != nid[h]
          || f["data"]["data"]["roomId"] != "room-" + std::to_string(h))
        why << "unexpected " << f.dump();
    }
    if (!why.str().empty())
      problems.push_back("session " + std::to_string(id) + " of " + host_ids[h]
                         + ": " + why.str());
  }
  auto elapsed = std::chrono::duration_cast<ms>(steady::now() - started).count();
  std::string first;
  for (std::size_t i = 0; i < problems.size() && i < 10; ++i)
    first += problems[i] + "\n";
  INFO(problems.size() << " sessions wrong; first:\n" << first);
  CHECK(all_pushed);
  CHECK(problems.empty());
  INFO("took " << elapsed << " ms");
  CHECK(elapsed < 60000);
}
