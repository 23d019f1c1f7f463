// The gateway's private state, shared by its two files: gateway.cpp
// (accepting, handshakes, sessions, start and shutdown) and
// gateway_ports.cpp (how session actors and Socket.IO state reach a
// socket). Threads: one Asio thread runs the io_context and is the only
// thread that touches websocketpp objects, the links and the tables below
// and each Socket.IO connection's protocol state (sio_conn, with its
// timer); session actors (CAF workers) reach their socket by posting to it
// through the sinks.
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include <boost/intrusive/list.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>

#include "bellhop/auth/rate_limiter.hpp"
#include "bellhop/telemetry/metrics.hpp"
#include "bellhop/ws/gateway.hpp"
#include "handshake.hpp"
#include "server_config.hpp"
#include "session_actor.hpp"
#include "socketio_session.hpp"
#include "tcp_link.hpp"
#include "tcp_listener.hpp"

namespace bellhop::ws {

/// A client's text frame for its session, stamped with its arrival now (on
/// the gateway's thread).
inline client_text arrived_now(std::string text) {
  return client_text{std::move(text),
                     std::chrono::steady_clock::now().time_since_epoch().count()};
}

/// A random id: `prefix` and `digits` hex digits (at most 16).
std::string new_id(const char* prefix, std::size_t digits = 16);

struct gateway::impl {
  impl(caf::actor_system& sys, router_actor router, gateway_config cfg)
    : sys(sys), router(std::move(router)), cfg(std::move(cfg)), jwt(this->cfg.jwt) {
  }

  struct sio_conn;
  class ws_sink;
  class sio_sink;

  /// One socket: its link to websocketpp and what the gateway knows of it.
  /// A session's socket_ref names it (a weak pointer).
  struct conn : tcp_link {
    conn(impl* d, tcp_socket s, tcp_link::tick now)
      : tcp_link(std::move(s), d->srv.get_connection(), now), d(d) {
      ++d->live_links;
      telemetry::metrics().ws_connections.add(1);
    }
    ~conn() {
      // Unlinked: the gateway has shut down and let go of its list.
      if (is_linked())
        --d->live_links;
      telemetry::metrics().ws_connections.add(-1);
    }
    impl* d;
    std::string host_id;  ///< "" while a Socket.IO connection has no session
    caf::actor session;
    /// /ws: from validate until open (on the heap: an open connection
    /// keeps only the pointer).
    std::unique_ptr<handshake_result> handshake;
    /// /socket.io/ only. Shared so that a handler running inside it keeps
    /// it alive should the connection go meanwhile.
    std::shared_ptr<sio_conn> sio;
    /// /ws: a keep-alive ping went out and no pong has come since.
    bool ping_unanswered = false;
    /// The client's pings and pongs in the sweep's current second
    /// (count_control).
    uint16_t pings = 0;
    tcp_link::tick pings_tick = 0;
  };

  caf::actor_system& sys;
  router_actor router;
  /// The sinks of every /ws and every Socket.IO session (set by the
  /// gateway's constructor).
  std::shared_ptr<session_sink> ws_out;
  std::shared_ptr<session_sink> sio_out;
  gateway_config cfg;
  auth::jwt_verifier jwt;
  /// Shared with the sinks: a session actor that outlives the gateway
  /// still posts into a live (stopped) io_context, and what it posts is
  /// destroyed unrun with the io_context, so the links the posted handlers
  /// name (and their `impl*`) are never used after the gateway is gone.
  std::shared_ptr<asio::io_context> ioc_owner = std::make_shared<asio::io_context>();
  asio::io_context& ioc = *ioc_owner;
  /// Keeps ioc.run() going after the listener stops, until shutdown ends.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  /// websocketpp's endpoint: makes each connection, with the handlers and
  /// settings below; it keeps no connection itself.
  server srv;
  tcp_listener listener{ioc};
  std::thread thread;
  uint16_t port = 0;
  // Asio thread only:
  /// Every link not yet destroyed, and their number: each holds a file.
  boost::intrusive::list<conn, boost::intrusive::constant_time_size<false>>
    links;
  std::size_t live_links = 0;
  /// Once a second: handshake and close deadlines (tcp_link::sweep).
  asio::steady_timer sweep_timer{ioc};
  tcp_link::tick ticks = 0;
  std::unordered_map<std::string, std::size_t> per_host;
  /// Failed handshakes (401) per client address: 10 at once, then one a
  /// second. An address past that is refused before its token is checked.
  auth::rate_limiter failed_handshakes{1, 10};
  /// Sessions opened per principal and host room (gateway_config::
  /// new_sessions_per_second): a client reconnecting in a loop is held to it.
  auth::rate_limiter new_sessions{cfg.new_sessions_per_second,
                                  cfg.new_sessions_per_second * 2};
  /// Acks of notifications not written on the socket they come on, per
  /// host: 100 at once, then one a second (session_config::foreign_acks).
  /// The acks the server asked for are never held to it.
  std::shared_ptr<auth::rate_limiter> foreign_acks
    = std::make_shared<auth::rate_limiter>(1, 100);
  /// Counts a bad token of `c`'s address: seconds until that address may
  /// try again, 0 while it is within the limit.
  int bad_token_wait(conn& c);

  /// Answers a handshake with `status` and the contract's error body.
  void refuse(const server::connection_ptr& con, int status,
              const std::string& code, const std::string& message,
              int retry_after = 1);

  /// The connection a session's socket_ref names, if it is still there.
  static std::shared_ptr<conn> conn_of(const std::weak_ptr<void>& ref) {
    return std::static_pointer_cast<conn>(ref.lock());
  }

  /// Takes one of `host`'s session slots; false when it has none left.
  bool take_slot(const std::string& host) {
    auto& n = per_host[host];
    if (n >= cfg.max_sessions_per_host)
      return false;
    ++n;
    return true;
  }

  /// Gives back a slot that take_slot took.
  void return_slot(const std::string& host) {
    auto h = per_host.find(host);
    if (h != per_host.end() && --h->second == 0)
      per_host.erase(h);
  }

  enum class admission { admitted, no_slot, too_fast };

  /// Takes a slot of `hs`'s host and counts a new session of its
  /// principal there. Unless admitted, no slot is held; when too fast,
  /// `retry_after` is the seconds to wait.
  admission admit(const handshake_result& hs, int& retry_after) {
    if (!take_slot(hs.host_id))
      return admission::no_slot;
    if (!new_sessions.enabled())
      return admission::admitted;
    retry_after = new_sessions.take(hs.who.key() + '\n' + hs.host_id);
    if (retry_after == 0)
      return admission::admitted;
    return_slot(hs.host_id);
    return admission::too_fast;
  }

  /// Ends the connection's session actor, if any, and frees its slot.
  void end_session(conn& c) {
    if (c.session) {
      caf::anon_send(c.session, closed_atom::value);
      c.session = caf::actor{};
      telemetry::metrics().ws_sessions.add(-1);
    }
    if (c.host_id.empty())
      return;
    return_slot(c.host_id);
    c.host_id.clear();
  }

  caf::actor spawn_session(const handshake_result& hs, std::string session_id,
                           std::shared_ptr<session_sink> sink,
                           socket_ref socket, const char* via);

  /// A keep-alive ping (for a session without TTL, every 25 s); a peer
  /// that has not answered the one before is dropped with 1001. Tracked
  /// here rather than with websocketpp's pong timeout, which leaves a timer
  /// object behind on every connection it has pinged.
  void keepalive(conn& c) {
    websocketpp::lib::error_code ec;
    if (c.ping_unanswered) {
      c.connection()->close(going_away, "ping timeout", ec);
      return;
    }
    c.ping_unanswered = true;
    c.connection()->ping("", ec);
  }

  socketio_config sio_config() const {
    socketio_config c;
    c.ping_interval = cfg.sio_ping_interval;
    c.ping_timeout = cfg.sio_ping_timeout;
    c.connect_timeout = cfg.sio_connect_timeout;
    c.max_payload = cfg.sio_max_payload;
    c.max_messages_per_second = session_config{}.max_messages_per_second;
    return c;
  }

  static std::shared_ptr<sio_conn> sio_of(const std::weak_ptr<void>& ref) {
    auto c = conn_of(ref);
    return c ? c->sio : nullptr;
  }

  /// The sinks (gateway_ports.cpp).
  static std::shared_ptr<session_sink> make_ws_sink(impl* d);
  static std::shared_ptr<session_sink> make_sio_sink(impl* d);

  void on_socket(tcp_socket s);
  void sweep();
  bool on_validate(conn& c);
  void on_open(conn& c);
  void on_closed(conn& c);
  void on_message(conn& c, server::message_ptr msg);
  /// Counts a client's ping or pong: true to answer a ping with a pong.
  bool count_control(conn& c);
  void on_http(conn& c);
  connect_answer sio_connect(conn& c, const nlohmann::json& auth,
                             uint64_t session_no);

  /// Runs `f` on the Asio thread and waits for it.
  template <class F>
  void on_asio_thread(F f) {
    std::promise<void> done;
    asio::post(ioc, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }
};

/// One Socket.IO connection: its protocol state, the port through which
/// that state acts on the socket and the session, and its one timer. Asio
/// thread only.
struct gateway::impl::sio_conn : socketio_port {
  sio_conn(impl* d, std::weak_ptr<void> c);

  impl* d;
  std::weak_ptr<void> owner;  ///< the conn it belongs to
  asio::steady_timer timer;
  socketio_session state;  ///< last: it holds *this as its port

  void write(std::string frame) override;
  void close(uint16_t code, std::string reason) override;
  connect_answer connect(const nlohmann::json& auth,
                         uint64_t session_no) override;
  void to_session(std::string op) override;
  void end_session() override;
  void set_timer(std::chrono::steady_clock::time_point at) override;
};

} // namespace bellhop::ws
