// How sessions reach their sockets: the sinks through which session actors
// (CAF workers) post frames, closes and pings to the Asio thread, and each
// Socket.IO connection's port between its protocol state, its socket and
// its session. Everything posted runs on the Asio thread.
#include "gateway_impl.hpp"

#include <algorithm>

namespace bellhop::ws {

gateway::impl::sio_conn::sio_conn(impl* d, std::weak_ptr<void> c)
  : d(d), owner(std::move(c)), timer(d->ioc),
    state(d->sio_config(), *this, new_id("e_")) {
}

void gateway::impl::sio_conn::write(std::string frame) {
  if (auto c = conn_of(owner))
    c->connection()->send(frame, websocketpp::frame::opcode::text);
}

void gateway::impl::sio_conn::close(uint16_t code, std::string reason) {
  reason.resize(std::min<std::size_t>(reason.size(), 123));  // RFC 6455
  if (auto c = conn_of(owner))
    c->close(code, reason);
}

connect_answer gateway::impl::sio_conn::connect(const nlohmann::json& auth,
                                                uint64_t session_no) {
  auto c = conn_of(owner);
  if (!c)
    return connect_answer{false, {}, "unavailable"};
  return d->sio_connect(*c, auth, session_no);
}

void gateway::impl::sio_conn::to_session(std::string op) {
  if (auto c = conn_of(owner); c && c->session)
    caf::anon_send(c->session, arrived_now(std::move(op)));
}

void gateway::impl::sio_conn::end_session() {
  if (auto c = conn_of(owner))
    d->end_session(*c);
}

void gateway::impl::sio_conn::set_timer(std::chrono::steady_clock::time_point at) {
  // Re-arming cancels the wait before: its handler sees an error.
  timer.expires_at(at);
  timer.async_wait([c = owner](const asio::error_code& ec) {
    if (ec)
      return;
    if (auto s = sio_of(c))
      s->state.on_timer(std::chrono::steady_clock::now());
  });
}

/// The /ws session actors' sink: posts their socket calls to the Asio
/// thread.
class gateway::impl::ws_sink : public session_sink {
public:
  explicit ws_sink(impl* d) : ioc_(d->ioc_owner) {
  }
  void send_text(const socket_ref& to, std::string text) override {
    asio::post(*ioc_, [ref = to.conn, text = std::move(text)] {
      if (auto c = conn_of(ref))
        c->connection()->send(text, websocketpp::frame::opcode::text);
    });
  }
  void close(const socket_ref& to, uint16_t code, std::string reason) override {
    asio::post(*ioc_, [ref = to.conn, code, reason = std::move(reason)] {
      if (auto c = conn_of(ref))
        c->close(code, reason);
    });
  }
  void ping(const socket_ref& to) override {
    asio::post(*ioc_, [ref = to.conn] {
      if (auto c = conn_of(ref))
        c->d->keepalive(*c);
    });
  }

private:
  std::shared_ptr<asio::io_context> ioc_;
};

/// The Socket.IO session actors' sink: posts their frames and closes to
/// the Asio thread, where the connection's socketio_session translates
/// them. Tagged with the session's number: after the client's DISCONNECT,
/// what the ended session still sends is dropped.
class gateway::impl::sio_sink : public session_sink {
public:
  explicit sio_sink(impl* d) : ioc_(d->ioc_owner) {
  }
  void send_text(const socket_ref& to, std::string text) override {
    auto f = [ref = to.conn, no = to.session_no, t = std::move(text)] {
      if (auto s = sio_of(ref))
        s->state.from_session(no, t);
    };
    asio::post(*ioc_, std::move(f));
  }
  void close(const socket_ref& to, uint16_t code, std::string reason) override {
    auto f = [ref = to.conn, no = to.session_no, code, r = std::move(reason)] {
      if (auto s = sio_of(ref))
        s->state.close_from_session(no, code, r);
    };
    asio::post(*ioc_, std::move(f));
  }
  /// Nothing: the Engine.IO heartbeat keeps the connection alive.
  void ping(const socket_ref&) override {
  }

private:
  std::shared_ptr<asio::io_context> ioc_;
};

std::shared_ptr<session_sink> gateway::impl::make_ws_sink(impl* d) {
  return std::make_shared<ws_sink>(d);
}

std::shared_ptr<session_sink> gateway::impl::make_sio_sink(impl* d) {
  return std::make_shared<sio_sink>(d);
}

} // namespace bellhop::ws
