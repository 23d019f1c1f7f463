// The WebSocket server: an Asio acceptor, one tcp_link and websocketpp
// connection per socket, and the handlers that make each a session: the
// handshake checks, the session actors, the sweep of deadlines, start and
// shutdown. Asio thread only, but for start and shutdown, which hand their
// work to it. The state is in gateway_impl.hpp; how sessions reach their
// sockets, in gateway_ports.cpp.
#include "gateway_impl.hpp"

#include <algorithm>
#include <cstring>
#include <random>
#include <string_view>

#include <pthread.h>

namespace bellhop::ws {

std::string new_id(const char* prefix, std::size_t digits) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  // Built aside and copied once: a string grown in place keeps up to twice
  // the room it needs, for as long as its session lives.
  char buf[32];
  digits = std::min<std::size_t>(digits, 16);
  auto n = std::min<std::size_t>(std::strlen(prefix), sizeof buf - digits);
  std::memcpy(buf, prefix, n);
  auto x = rng();
  for (std::size_t i = 0; i < digits; ++i, x >>= 4)
    buf[n + i] = hex[x & 15];
  return std::string(buf, n + digits);
}

namespace {

using websocketpp::connection_hdl;

constexpr std::string_view socketio_path = "/socket.io/";

/// Connections past --max-connections still taken, to be answered 503
/// (on_validate); past these a new one is closed as it comes.
constexpr std::size_t refusal_margin = 64;

/// The largest client message on /ws (a mark-read of 1,000 ids fits).
constexpr std::size_t max_client_message = 16 * 1024;

/// "s_" and 13 hex digits (52 random bits): 15 characters fit a
/// std::string's inline buffer, so neither the session nor its host actor
/// allocates for the id of each of its sessions.
std::string new_session_id() {
  return new_id("s_", 13);
}

std::string error_json(const std::string& code, const std::string& message) {
  return nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump();
}

} // namespace

void gateway::impl::refuse(const server::connection_ptr& con, int status,
                           const std::string& code,
                           const std::string& message, int retry_after) {
  con->set_status(static_cast<websocketpp::http::status_code::value>(status));
  con->append_header("Content-Type", "application/json");
  // websocketpp closes the connection after any plain HTTP answer: say
  // so, or a keep-alive client sends its next request into the void.
  con->append_header("Connection", "close");
  if (status == 429 || status == 503)
    con->append_header("Retry-After", std::to_string(retry_after));
  if (status == 401)  // as REST's (RFC 6750)
    con->append_header("WWW-Authenticate", R"(Bearer realm="bellhop")");
  con->set_body(error_json(code, message));
}

caf::actor gateway::impl::spawn_session(const handshake_result& hs,
                                        std::string session_id,
                                        std::shared_ptr<session_sink> sink,
                                        socket_ref socket, const char* via) {
  telemetry::metrics().ws_sessions.add(1);
  session_config sc;
  sc.socket = std::move(socket);
  sc.via = via;
  sc.session_id = std::move(session_id);
  sc.host_id = hs.host_id;
  sc.by = hs.who.sub;
  sc.has_after = hs.has_after;
  sc.after = hs.after;
  sc.ttl = std::chrono::milliseconds(cfg.ttl_ms);
  sc.close_on_delivery = cfg.close_on_delivery;
  sc.foreign_acks = foreign_acks;
  using std::chrono::milliseconds;
  auto now = std::chrono::system_clock::now().time_since_epoch();
  // Clamped to ten years, so that no exp, however large, overflows.
  auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now).count();
  auto left_s = std::min<int64_t>(hs.who.exp - now_s, 315'360'000)
                + cfg.jwt.leeway_seconds;
  sc.token_left = std::chrono::seconds(left_s)
                  - (std::chrono::duration_cast<milliseconds>(now)
                     - std::chrono::seconds(now_s));
  return sys.spawn(session, std::move(sc), std::move(sink), router);
}

/// A new socket: a websocketpp connection with this gateway's handlers on
/// a link of its own, which the handlers name (they die with the link).
void gateway::impl::on_socket(tcp_socket s) {
  // Sockets that never send a handshake (held open to use up the files)
  // count too: past the limit and the margin left for 503 answers, or when
  // none of the files for connections is left for it
  // (telemetry::connection_files_left), a new one is closed at once.
  bool files_low = telemetry::connection_files_left() < 1;
  if (live_links >= cfg.max_connections + refusal_margin || files_low) {
    asio::error_code ec;
    s.close(ec);
    return;
  }
  auto c = std::make_shared<conn>(this, std::move(s), ticks);
  links.push_back(*c);
  auto* p = c.get();
  const auto& con = c->connection();
  con->set_validate_handler([p](connection_hdl) { return p->d->on_validate(*p); });
  con->set_open_handler([p](connection_hdl) { p->d->on_open(*p); });
  con->set_close_handler([p](connection_hdl) { p->d->on_closed(*p); });
  con->set_fail_handler([p](connection_hdl) { p->d->on_closed(*p); });
  con->set_message_handler(
    [p](connection_hdl, server::message_ptr m) { p->d->on_message(*p, m); });
  con->set_http_handler([p](connection_hdl) { p->d->on_http(*p); });
  con->set_ping_handler(
    [p](connection_hdl, std::string) { return p->d->count_control(*p); });
  // Any pong answers the keep-alive (see keepalive). Pongs are counted as
  // pings are: the keep-alive asks for one every 25 s.
  con->set_pong_handler([p](connection_hdl, std::string) {
    p->ping_unanswered = false;
    p->d->count_control(*p);
  });
  c->start();
}

/// Once a second: every link's handshake and close deadlines.
void gateway::impl::sweep() {
  ++ticks;
  for (auto i = links.begin(); i != links.end();) {
    // A dropped link may go at once: step past it first.
    auto keep = i->shared_from_this();
    ++i;
    keep->sweep(ticks);
  }
  sweep_timer.expires_after(std::chrono::seconds(1));
  sweep_timer.async_wait([this](const asio::error_code& ec) {
    if (!ec)
      sweep();
  });
}

int gateway::impl::bad_token_wait(conn& c) {
  asio::error_code ec;
  auto address = c.socket().remote_endpoint(ec).address().to_string();
  return failed_handshakes.take(address);
}

bool gateway::impl::on_validate(conn& c) {
  const auto& con = c.connection();
  if (live_links > cfg.max_connections) {
    refuse(con, 503, "unavailable", "the server holds all the sockets it can");
    return false;
  }
  // Only RFC 6455 upgrades, without a body: websocketpp would take a
  // Content-Length's bytes as a body, which the link's frame scanner
  // (tcp_link.hpp) would read as frames, and it would speak the old
  // Hixie-76 protocol to a request without a version.
  if (con->get_request_header("Sec-WebSocket-Version").empty()) {
    refuse(con, 400, "invalid_request", "a WebSocket upgrade of version 13 is required");
    return false;
  }
  if (!con->get_request_header("Transfer-Encoding").empty()
      || (!con->get_request_header("Content-Length").empty()
          && con->get_request_header("Content-Length") != "0")) {
    refuse(con, 400, "invalid_request", "an upgrade request has no body");
    return false;
  }
  const auto& resource = con->get_resource();
  auto path = path_of(resource);
  if (path == socketio_path) {
    // The token comes later, in the Socket.IO CONNECT packet.
    auto hs = check_socketio_upgrade(resource);
    if (hs.status != 0) {
      refuse(con, hs.status, hs.code, hs.message);
      return false;
    }
    // websocketpp buffers no more of one message than this: a bigger one
    // fails the connection with 1009.
    con->set_max_message_size(cfg.sio_max_payload);
    c.sio = std::make_shared<sio_conn>(this, c.weak_from_this());
    return true;
  }
  if (path != "/ws") {
    refuse(con, 404, "not_found", "no such path");
    return false;
  }
  auto hs = check_handshake(jwt, resource,
                            con->get_request_header("Authorization"));
  if (hs.status == 401) {
    // Bad tokens are limited per address (10, then 1 a second), as REST
    // limits unauthenticated requests; a valid token is never held back
    // by what others behind the same address sent.
    if (auto wait = bad_token_wait(c); wait > 0) {
      refuse(con, 429, "rate_limited", "too many failed handshakes", wait);
      return false;
    }
  }
  if (hs.status != 0) {
    refuse(con, hs.status, hs.code, hs.message);
    return false;
  }
  int retry_after = 1;
  switch (admit(hs, retry_after)) {
    case admission::admitted:
      break;
    case admission::no_slot:
      refuse(con, 429, "rate_limited", "too many live sessions for this host");
      return false;
    case admission::too_fast:
      refuse(con, 429, "rate_limited", "too many new sessions for this host",
             retry_after);
      return false;
  }
  // Client ops are small JSON objects; websocketpp fails a bigger message
  // with 1009 before buffering it.
  con->set_max_message_size(max_client_message);
  c.host_id = hs.host_id;
  c.handshake = std::make_unique<handshake_result>(std::move(hs));
  return true;
}

void gateway::impl::on_open(conn& c) {
  // Nothing reads the handshake from here on (on_validate took what it
  // needed); its headers and the token in them go now, not at close.
  release_handshake(*c.connection());
  if (auto s = c.sio) {
    s->state.open(std::chrono::steady_clock::now());
    return;
  }
  if (!c.handshake)
    return;
  c.session = spawn_session(*c.handshake, new_session_id(), ws_out,
                            socket_ref{c.weak_from_this(), 0}, "ws");
  c.handshake.reset();
}

/// Closed or failed (a refused handshake, too): the session ends and the
/// host's slot is freed. A Socket.IO connection's timer is cancelled with
/// its protocol state.
void gateway::impl::on_closed(conn& c) {
  end_session(c);
  c.handshake.reset();
  if (auto s = std::move(c.sio))
    s->timer.cancel();
}

void gateway::impl::on_message(conn& c, server::message_ptr msg) {
  if (auto s = c.sio) {
    auto now = std::chrono::steady_clock::now();
    if (msg->get_opcode() == websocketpp::frame::opcode::text)
      s->state.on_text(msg->get_payload(), now);
    else
      s->state.on_binary(now);
    return;
  }
  if (c.session)
    caf::anon_send(c.session, arrived_now(msg->get_payload()));
}

/// A client's WebSocket ping or pong. websocketpp answers each ping with a
/// pong, and neither is a message to the sessions' flood checks: a client
/// (on /socket.io/, even before it sends a token) could keep this thread
/// busy with them. More than a second's worth of messages
/// (max_messages_per_second) in one second of the sweep's clock closes the
/// connection with 1008, as a flood of messages does.
bool gateway::impl::count_control(conn& c) {
  if (c.pings_tick != ticks) {
    c.pings_tick = ticks;
    c.pings = 0;
  }
  auto limit = session_config{}.max_messages_per_second;
  if (c.pings < limit) {
    ++c.pings;
    return true;
  }
  if (c.pings == limit) {  // the first one too many: once
    ++c.pings;
    telemetry::metrics().rate_limited.inc();
    c.close_unheard(policy_violation, "too many messages");
  }
  return false;
}

void gateway::impl::on_http(conn& c) {
  const auto& con = c.connection();
  auto path = path_of(con->get_resource());
  if (path == "/ws")
    refuse(con, 400, "invalid_request", "a WebSocket upgrade is required");
  else if (path == socketio_path)  // the polling transport
    refuse(con, 400, "invalid_request",
           "only the websocket transport is supported");
  else
    refuse(con, 404, "not_found", "no such path");
}

/// A Socket.IO CONNECT: its auth payload `{"token", "hostId"?, "after"?}`
/// goes through the same checks as a /ws upgrade (check_token), and the
/// answer's message is the contract's error code.
connect_answer gateway::impl::sio_connect(conn& c, const nlohmann::json& auth,
                                          uint64_t session_no) {
  auto refused = [](std::string message) {
    return connect_answer{false, {}, std::move(message)};
  };
  std::string token;
  if (auto t = auth.find("token"); t != auth.end() && t->is_string())
    token = t->get<std::string>();
  std::string named;
  auto h = auth.find("hostId");
  if (h != auth.end() && h->is_string())
    named = h->get<std::string>();  // not a string: "", never a valid id
  auto hs = check_token(jwt, token, h == auth.end() ? nullptr : &named);
  // The same limit as a /ws upgrade's bad tokens, shared by both paths.
  if (hs.status == 401 && bad_token_wait(c) > 0)
    return refused("rate_limited");
  if (hs.status != 0)
    return refused(hs.code);
  if (auto a = auth.find("after"); a != auth.end()) {
    if (!a->is_number_unsigned())
      return refused("invalid_request");
    hs.has_after = true;
    hs.after = a->get<uint64_t>();
  }
  int retry_after = 1;
  switch (admit(hs, retry_after)) {
    case admission::admitted:
      break;
    case admission::no_slot:
      return refused("too many sessions");
    case admission::too_fast:
      return refused("rate_limited");
  }
  c.host_id = hs.host_id;
  auto id = new_session_id();
  c.session = spawn_session(hs, id, sio_out,
                            socket_ref{c.weak_from_this(), session_no},
                            "socketio");
  return {true, std::move(id), {}};
}

gateway::gateway(caf::actor_system& sys, router_actor router, gateway_config cfg)
  : impl_(std::make_unique<impl>(sys, std::move(router), std::move(cfg))) {
  impl_->ws_out = impl::make_ws_sink(impl_.get());
  impl_->sio_out = impl::make_sio_sink(impl_.get());
}

gateway::~gateway() {
  shutdown();
}

void gateway::start() {
  auto& d = *impl_;
  d.srv.clear_access_channels(websocketpp::log::alevel::all);
  d.srv.clear_error_channels(websocketpp::log::elevel::all);
  // The Server header; every connection keeps a copy, and a name this
  // short needs no allocation (websocketpp's own is 17 characters).
  d.srv.set_user_agent("bellhop");
  d.port = d.listener.listen(d.cfg.bind, d.cfg.port, 1024,
                             [&d](tcp_socket s) { d.on_socket(std::move(s)); });
  d.sweep();
  d.work.emplace(d.ioc.get_executor());
  d.thread = std::thread{[&d] {
    pthread_setname_np(pthread_self(), "bh-ws");  // as `top -H` shows it
    d.ioc.run();
  }};
}

uint16_t gateway::port() const {
  return impl_->port;
}

void gateway::shutdown() {
  auto& d = *impl_;
  if (!d.thread.joinable())
    return;
  d.on_asio_thread([&d] {
    d.listener.stop();
    using websocketpp::session::state::open;
    for (auto& c : d.links) {
      websocketpp::lib::error_code ec;
      if (c.connection()->get_state() == open)
        c.connection()->close(going_away, "shutdown", ec);
    }
  });
  // Give the close handshakes a moment, then let go of what is left.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  bool empty = false;
  while (!empty && std::chrono::steady_clock::now() < deadline) {
    d.on_asio_thread([&] { empty = d.links.empty(); });
    if (!empty)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  d.on_asio_thread([&d] {
    d.sweep_timer.cancel();
    for (auto i = d.links.begin(); i != d.links.end();) {
      auto keep = i->shared_from_this();
      ++i;
      keep->drop();  // its session ends in on_closed
    }
  });
  d.work.reset();
  d.ioc.stop();
  d.thread.join();
  // Links the stopped io_context still holds go with it, maybe after the
  // gateway: they must not touch its list.
  d.links.clear();
  // Every session has been told that its socket closed. Each passes on the
  // acks it holds before it ends, so the router, stopped after this, still
  // records them: else a restart would email what a device acked (§7).
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (session_actors_alive() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

} // namespace bellhop::ws
