// Accepting connections for the gateway (see tcp_listener.hpp). Asio
// thread only, once listen has returned.
#include "tcp_listener.hpp"

#include <chrono>
#include <utility>

namespace bellhop::ws {

namespace {

/// The pause after an accept failed for want of a resource (EMFILE, …).
constexpr auto retry_after = std::chrono::milliseconds(100);

} // namespace

tcp_listener::tcp_listener(asio::io_context& ioc)
  : acceptor_(ioc.get_executor()), retry_(ioc) {
}

uint16_t tcp_listener::listen(const std::string& bind, uint16_t port,
                              int backlog, socket_handler f) {
  on_socket_ = std::move(f);
  asio::ip::tcp::endpoint ep{asio::ip::make_address(bind), port};
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(backlog);
  auto bound = acceptor_.local_endpoint().port();
  accept();
  return bound;
}

void tcp_listener::accept() {
  acceptor_.async_accept([this](const asio::error_code& ec, tcp_socket s) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open())
      return;
    if (!ec) {
      on_socket_(std::move(s));
      accept();
      return;
    }
    // EMFILE and its kind: the connection waits in the backlog, and an
    // accept retried at once would fail again at once.
    retry_.expires_after(retry_after);
    retry_.async_wait([this](const asio::error_code& wec) {
      if (!wec && acceptor_.is_open())
        accept();
    });
  });
}

void tcp_listener::stop() {
  asio::error_code ec;
  acceptor_.close(ec);
  retry_.cancel();
}

} // namespace bellhop::ws
