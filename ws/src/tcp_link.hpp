// One accepted TCP connection driving one websocketpp connection through
// websocketpp's iostream transport: the link reads the socket when it is
// readable, into one buffer that every link of the thread shares, and hands
// the bytes to websocketpp; what websocketpp writes goes to the socket at
// once, and only what the socket cannot take yet is kept, until it drains.
// An idle link so holds no read buffer, no handler memory and no pending
// write: that is what keeps an idle session small (docs/benchmarks.md).
//
// Threads: the Asio thread only. A link is owned by the Asio operation it
// has pending (a wait for data, a write) and by whoever holds it while it
// works; websocketpp's callbacks into it run inside its own calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <boost/intrusive/list_hook.hpp>
#include <websocketpp/common/asio.hpp>

#include "frame_scanner.hpp"
#include "server_config.hpp"

namespace bellhop::ws {

namespace asio = websocketpp::lib::asio;

/// A TCP socket bound to the io_context's own executor type: smaller than
/// the default socket, whose executor is type-erased.
using tcp_socket =
  asio::basic_stream_socket<asio::ip::tcp, asio::io_context::executor_type>;

/// Every live link of a gateway, for its sweep and its shutdown. A link
/// leaves the list when it is destroyed.
using link_hook = boost::intrusive::list_base_hook<
  boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

class tcp_link : public std::enable_shared_from_this<tcp_link>,
                 public link_hook {
public:
  /// Seconds on the gateway's sweep clock.
  using tick = uint32_t;

  /// How long a connection may take to send its handshake, and to finish
  /// a close once websocketpp has started it (websocketpp's own default
  /// for both; the iostream transport has no timers of its own).
  static constexpr tick handshake_ticks = 5;
  static constexpr tick closing_ticks = 5;
  /// A client closed unheard (close_unheard) has a second or two: its
  /// close frame is out, and what it sends meanwhile is read only to be
  /// dropped.
  static constexpr tick unheard_ticks = 1;
  /// The most a slow reader may leave unsent before it is dropped.
  static constexpr std::size_t max_unsent = 4 * 1024 * 1024;
  /// Continuation frames a client may send in one second of the sweep's
  /// clock. Some clients send a message in pieces (Go's gorilla/websocket
  /// in frames of its 4 KiB buffer), and 20 messages a second of 64 KiB
  /// (Socket.IO's largest) in 1 KiB pieces are 1,280; a client past that
  /// is streaming frames of a message it does not end.
  static constexpr uint16_t max_continuations = 1280;

  tcp_link(tcp_socket socket, server::connection_ptr con, tick now);
  tcp_link(const tcp_link&) = delete;
  tcp_link& operator=(const tcp_link&) = delete;
  ~tcp_link();

  /// Starts websocketpp's handshake and the reading. Set the connection's
  /// handlers first.
  void start();

  /// Called by the gateway's sweep once a second: drops a connection whose
  /// handshake or close has taken too long, or whose socket will not drain.
  void sweep(tick now);

  /// Drops the TCP connection now; websocketpp reports it closed (or
  /// failed, during the handshake) through its handlers.
  void drop();

  /// Starts websocketpp's close with `code`; a 1008 (the client flooded)
  /// is closed unheard, below.
  void close(uint16_t code, const std::string& reason);

  /// Closes with `code` a client that sent more than it may, and parses
  /// nothing it sends from here on: the close frame goes out, our side of
  /// the connection ends after it (finish), and what still comes is
  /// dropped until the client's end or the closing deadline. A flooding
  /// client that does not stop at the close frame costs no parsing.
  void close_unheard(uint16_t code, const std::string& reason);

  const server::connection_ptr& connection() const {
    return con_;
  }
  tcp_socket& socket() {
    return socket_;
  }

private:
  struct unsent;  // what the socket has not taken yet

  void on_readable(const asio::error_code& ec);
  void wait_readable();
  void feed(const char* data, std::size_t size);
  websocketpp::lib::error_code write(
    const std::vector<websocketpp::transport::buffer>& bufs);
  void write_unsent();
  void on_written(const asio::error_code& ec);
  /// A read or write failed: websocketpp learns it, and the link drops.
  void fail();
  websocketpp::lib::error_code shut();
  /// websocketpp is done: our side of the connection ends (FIN), and the
  /// socket is closed once the client ends its side. Closing it at once
  /// while the client's bytes are still unread would make the kernel reset
  /// the connection, and the client lose what was sent last: the close
  /// frame with it (1008 after a flood, whose frames are still coming).
  void finish();
  void close_socket();

  tcp_socket socket_;
  server::connection_ptr con_;
  std::unique_ptr<unsent> unsent_;  ///< null while nothing waits
  tick deadline_;  ///< 0: none; see sweep
  frame_scanner frames_;
  uint16_t continuations_ = 0;  ///< since the last sweep
  bool shut_when_sent_ = false;  ///< websocketpp asked to close
  bool unheard_ = false;  ///< close_unheard: nothing more is parsed
};

} // namespace bellhop::ws
