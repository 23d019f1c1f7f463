// The websocketpp server. Threads: one Asio thread runs the io_context and
// is the only thread that touches websocketpp objects and the connection
// tables below; session actors (CAF workers) reach their socket by posting
// to it (asio_sink).
#include "bellhop/ws/gateway.hpp"

#include <future>
#include <optional>
#include <map>
#include <random>
#include <thread>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>

#include "handshake.hpp"
#include "session_actor.hpp"

namespace bellhop::ws {

namespace {

/// websocketpp's stock asio config with a smaller read buffer: an idle
/// connection's cost is mostly this buffer (16 KiB by default), and client
/// frames here are small JSON ops.
struct server_config : websocketpp::config::asio {
  typedef server_config type;
  static const size_t connection_read_buffer_size = 1024;
};

using server = websocketpp::server<server_config>;
using websocketpp::connection_hdl;
namespace asio = websocketpp::lib::asio;

/// Posts a session's socket calls to the Asio thread.
class asio_sink : public session_sink {
public:
  asio_sink(server* srv, asio::io_context* ioc, connection_hdl hdl)
    : srv_(srv), ioc_(ioc), hdl_(std::move(hdl)) {
  }
  void send_text(std::string text) override {
    asio::post(*ioc_, [srv = srv_, hdl = hdl_, text = std::move(text)] {
      websocketpp::lib::error_code ec;
      srv->send(hdl, text, websocketpp::frame::opcode::text, ec);
    });
  }
  void close(uint16_t code, std::string reason) override {
    asio::post(*ioc_, [srv = srv_, hdl = hdl_, code, reason = std::move(reason)] {
      websocketpp::lib::error_code ec;
      srv->close(hdl, code, reason, ec);
    });
  }
  void ping() override {
    asio::post(*ioc_, [srv = srv_, hdl = hdl_] {
      websocketpp::lib::error_code ec;
      srv->ping(hdl, "", ec);
    });
  }

private:
  server* srv_;
  asio::io_context* ioc_;
  connection_hdl hdl_;
};

struct connection_info {
  std::string host_id;
  caf::actor session;
  handshake_result handshake;  ///< kept from validate until open
};

std::string new_session_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  std::string id = "s_";
  auto x = rng();
  for (int i = 0; i < 16; ++i, x >>= 4)
    id.push_back(hex[x & 15]);
  return id;
}

std::string error_json(const std::string& code, const std::string& message) {
  return nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump();
}

} // namespace

struct gateway::impl {
  impl(caf::actor_system& sys, router_actor router, gateway_config cfg)
    : sys(sys), router(std::move(router)), cfg(std::move(cfg)), jwt(this->cfg.jwt) {
  }

  caf::actor_system& sys;
  router_actor router;
  gateway_config cfg;
  auth::jwt_verifier jwt;
  asio::io_context ioc;
  /// Keeps ioc.run() going after the listener stops, until shutdown ends.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  server srv;
  std::thread thread;
  uint16_t port = 0;
  // Asio thread only:
  std::map<connection_hdl, connection_info, std::owner_less<connection_hdl>>
    conns;
  std::unordered_map<std::string, std::size_t> per_host;

  void refuse(server::connection_ptr& con, int status, const std::string& code,
              const std::string& message) {
    con->set_status(static_cast<websocketpp::http::status_code::value>(status));
    con->append_header("Content-Type", "application/json");
    if (status == 429)
      con->append_header("Retry-After", "1");
    con->set_body(error_json(code, message));
  }

  bool on_validate(connection_hdl hdl) {
    auto con = srv.get_con_from_hdl(hdl);
    const auto& resource = con->get_resource();
    if (path_of(resource) != "/ws") {
      refuse(con, 404, "not_found", "no such path");
      return false;
    }
    auto hs = check_handshake(jwt, resource, con->get_request_header("Authorization"));
    if (hs.status != 0) {
      refuse(con, hs.status, hs.code, hs.message);
      return false;
    }
    auto& n = per_host[hs.host_id];
    if (n >= cfg.max_sessions_per_host) {
      refuse(con, 429, "rate_limited", "too many live sessions for this host");
      return false;
    }
    ++n;
    auto host = hs.host_id;
    conns.emplace(hdl, connection_info{std::move(host), {}, std::move(hs)});
    return true;
  }

  void on_open(connection_hdl hdl) {
    auto i = conns.find(hdl);
    if (i == conns.end())
      return;
    auto& hs = i->second.handshake;
    session_config sc;
    sc.session_id = new_session_id();
    sc.host_id = hs.host_id;
    sc.by = hs.who.sub;
    sc.has_after = hs.has_after;
    sc.after = hs.after;
    sc.ttl = std::chrono::milliseconds(cfg.ttl_ms);
    sc.close_on_delivery = cfg.close_on_delivery;
    auto now = std::chrono::system_clock::now().time_since_epoch();
    sc.token_left = std::chrono::seconds(hs.who.exp + cfg.jwt.leeway_seconds)
                    - std::chrono::duration_cast<std::chrono::milliseconds>(now);
    auto sink = std::make_shared<asio_sink>(&srv, &ioc, hdl);
    i->second.session = sys.spawn(session, std::move(sc), std::move(sink), router);
    i->second.handshake = handshake_result{};
  }

  void on_closed(connection_hdl hdl) {
    auto i = conns.find(hdl);
    if (i == conns.end())
      return;
    if (i->second.session)
      caf::anon_send(i->second.session, closed_atom::value);
    auto h = per_host.find(i->second.host_id);
    if (h != per_host.end() && --h->second == 0)
      per_host.erase(h);
    conns.erase(i);
  }

  void on_message(connection_hdl hdl, server::message_ptr msg) {
    auto i = conns.find(hdl);
    if (i == conns.end() || !i->second.session)
      return;
    caf::anon_send(i->second.session, client_text{msg->get_payload()});
  }

  void on_http(connection_hdl hdl) {
    auto con = srv.get_con_from_hdl(hdl);
    if (path_of(con->get_resource()) == "/ws")
      refuse(con, 400, "invalid_request", "a WebSocket upgrade is required");
    else
      refuse(con, 404, "not_found", "no such path");
  }

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

gateway::gateway(caf::actor_system& sys, router_actor router, gateway_config cfg)
  : impl_(std::make_unique<impl>(sys, std::move(router), std::move(cfg))) {
}

gateway::~gateway() {
  shutdown();
}

void gateway::start() {
  auto& d = *impl_;
  d.srv.clear_access_channels(websocketpp::log::alevel::all);
  d.srv.clear_error_channels(websocketpp::log::elevel::all);
  d.srv.init_asio(&d.ioc);
  d.srv.set_reuse_addr(true);
  d.srv.set_validate_handler([&d](connection_hdl h) { return d.on_validate(h); });
  d.srv.set_open_handler([&d](connection_hdl h) { d.on_open(h); });
  d.srv.set_close_handler([&d](connection_hdl h) { d.on_closed(h); });
  d.srv.set_fail_handler([&d](connection_hdl h) { d.on_closed(h); });
  d.srv.set_message_handler(
    [&d](connection_hdl h, server::message_ptr m) { d.on_message(h, m); });
  d.srv.set_http_handler([&d](connection_hdl h) { d.on_http(h); });
  d.srv.set_pong_timeout(20000);
  d.srv.set_pong_timeout_handler([&d](connection_hdl h, std::string) {
    websocketpp::lib::error_code ec;
    d.srv.close(h, going_away, "ping timeout", ec);
  });
  d.srv.set_listen_backlog(1024);
  asio::ip::tcp::endpoint ep{asio::ip::make_address(d.cfg.bind), d.cfg.port};
  d.srv.listen(ep);
  asio::error_code ec;
  d.port = d.srv.get_local_endpoint(ec).port();
  d.srv.start_accept();
  d.work.emplace(d.ioc.get_executor());
  d.thread = std::thread{[&d] { d.ioc.run(); }};
}

uint16_t gateway::port() const {
  return impl_->port;
}

void gateway::shutdown() {
  auto& d = *impl_;
  if (!d.thread.joinable())
    return;
  d.on_asio_thread([&d] {
    websocketpp::lib::error_code ec;
    d.srv.stop_listening(ec);
    for (auto& kvp : d.conns)
      d.srv.close(kvp.first, going_away, "shutdown", ec);
  });
  // Give the close handshakes a moment, then let go of what is left.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  bool empty = false;
  while (!empty && std::chrono::steady_clock::now() < deadline) {
    d.on_asio_thread([&] { empty = d.conns.empty(); });
    if (!empty)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  d.on_asio_thread([&d] {
    for (auto& kvp : d.conns)
      if (kvp.second.session)
        caf::anon_send(kvp.second.session, closed_atom::value);
    d.conns.clear();
  });
  d.work.reset();
  d.ioc.stop();
  d.thread.join();
}

} // namespace bellhop::ws
