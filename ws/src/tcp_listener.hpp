// The gateway's listening socket: accepts connections on the Asio thread
// and hands each socket on. An accept that fails for want of files or
// memory waits a moment before the next, rather than spinning.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "tcp_link.hpp"

namespace bellhop::ws {

class tcp_listener {
public:
  using socket_handler = std::function<void(tcp_socket)>;

  explicit tcp_listener(asio::io_context& ioc);

  /// Binds `bind`:`port` (0: a free port) and starts accepting; each new
  /// socket goes to `f` on the io_context's thread. Returns the port.
  /// Throws when it cannot bind.
  uint16_t listen(const std::string& bind, uint16_t port, int backlog,
                  socket_handler f);

  /// Stops accepting and closes the listening socket. Asio thread.
  void stop();

private:
  void accept();

  asio::basic_socket_acceptor<asio::ip::tcp, asio::io_context::executor_type>
    acceptor_;
  asio::steady_timer retry_;
  socket_handler on_socket_;
};

} // namespace bellhop::ws
