// The socket side of websocketpp's iostream transport (see tcp_link.hpp).
// Asio thread only.
#include "tcp_link.hpp"

#include <algorithm>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "bellhop/telemetry/metrics.hpp"

namespace bellhop::ws {

namespace {

/// The read buffer all links of the thread share: a link reads only when
/// the socket has data, and hands every byte to websocketpp (which copies
/// what it keeps) before the next link runs.
constexpr std::size_t shared_read_size = 64 * 1024;

/// Reads one wake-up makes before it lets the other links run.
constexpr int reads_per_turn = 4;

char* shared_read_buffer() {
  thread_local std::unique_ptr<char[]> buf{new char[shared_read_size]};
  return buf.get();
}

websocketpp::lib::error_code transport_failed() {
  return websocketpp::transport::error::make_error_code(
    websocketpp::transport::error::pass_through);
}

bool would_block(const asio::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

} // namespace

struct tcp_link::unsent {
  std::string sending;  ///< in the socket's async_write
  std::string queued;   ///< written by websocketpp meanwhile
};

tcp_link::tcp_link(tcp_socket socket, server::connection_ptr con, tick now)
  : socket_(std::move(socket)), con_(std::move(con)),
    deadline_(now + handshake_ticks) {
}

tcp_link::~tcp_link() {
  // A connection that outlives its link (someone still holds it) must not
  // call back into it: websocketpp skips an empty handler, and an empty
  // write handler makes its writes fail.
  con_->set_write_handler(nullptr);
  con_->set_vector_write_handler(nullptr);
  con_->set_shutdown_handler(nullptr);
  con_->set_validate_handler(nullptr);
  con_->set_open_handler(nullptr);
  con_->set_close_handler(nullptr);
  con_->set_fail_handler(nullptr);
  con_->set_message_handler(nullptr);
  con_->set_http_handler(nullptr);
  con_->set_pong_handler(nullptr);
  con_->set_ping_handler(nullptr);
}

void tcp_link::start() {
  asio::error_code ec;
  socket_.non_blocking(true, ec);
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  // websocketpp calls these only inside calls made on the link's
  // connection, and the destructor above clears them: `this` is alive
  // whenever they run.
  // websocketpp writes its handshake answers as one buffer, frames as a
  // list of them.
  con_->set_write_handler(
    [this](websocketpp::connection_hdl, const char* data, std::size_t size) {
      return write({websocketpp::transport::buffer(data, size)});
    });
  con_->set_vector_write_handler(
    [this](websocketpp::connection_hdl,
           const std::vector<websocketpp::transport::buffer>& bufs) {
      return write(bufs);
    });
  con_->set_shutdown_handler(
    [this](websocketpp::connection_hdl) { return shut(); });
  con_->start();
  // Bytes may have come with the connection: read them now, then wait.
  on_readable({});
}

void tcp_link::wait_readable() {
  socket_.async_wait(tcp_socket::wait_read,
                     [self = shared_from_this()](const asio::error_code& ec) {
                       self->on_readable(ec);
                     });
}

void tcp_link::on_readable(const asio::error_code& ec) {
  if (!socket_.is_open() || ec == asio::error::operation_aborted)
    return;
  // websocketpp's handlers may let go of the link while it reads.
  auto self = shared_from_this();
  if (ec)
    return fail();
  auto* buf = shared_read_buffer();
  for (int i = 0; i < reads_per_turn; ++i) {
    asio::error_code rec;
    auto n = socket_.read_some(asio::buffer(buf, shared_read_size), rec);
    if (would_block(rec)) {
      // Asio's reactor is edge-triggered: wait only once the socket is
      // empty, or its next data would be the only wake-up.
      wait_readable();
      return;
    }
    if (rec == asio::error::eof) {
      con_->eof();
      drop();  // nothing if websocketpp has closed it already
      return;
    }
    if (rec)
      return fail();
    if (!unheard_)
      frames_.scan(buf, n, [this](uint8_t opcode) {
        if (opcode == 0 && ++continuations_ > max_continuations
            && !unheard_) {
          telemetry::metrics().rate_limited.inc();
          close_unheard(websocketpp::close::status::policy_violation,
                        "too many messages");
        }
      });
    feed(buf, n);
    if (!socket_.is_open())
      return;
  }
  // More may be waiting: let the other links run first.
  asio::post(socket_.get_executor(), [self] { self->on_readable({}); });
}

void tcp_link::feed(const char* data, std::size_t size) {
  // websocketpp takes at most its read buffer's size at a time and asks
  // for more within the call; it takes nothing once it stops reading (it
  // is closing), and the rest is dropped.
  // Once it has closed (the link lingers for the client's end, finish),
  // nothing more is parsed: websocketpp would read on, frame by frame.
  // Nor after close_unheard.
  using websocketpp::session::state::closed;
  while (size > 0 && socket_.is_open() && !unheard_
         && con_->get_state() != closed) {
    auto n = con_->read_some(data, size);
    if (n == 0)
      return;
    data += n;
    size -= n;
  }
}

websocketpp::lib::error_code
tcp_link::write(const std::vector<websocketpp::transport::buffer>& bufs) {
  if (!socket_.is_open())
    return transport_failed();
  std::size_t done = 0;
  if (!unsent_) {
    // The socket nearly always takes it all at once: nothing is copied and
    // nothing stays behind.
    thread_local std::vector<asio::const_buffer> out;
    out.clear();
    for (const auto& b : bufs)
      out.emplace_back(b.buf, b.len);
    asio::error_code ec;
    done = socket_.write_some(out, ec);
    if (ec && !would_block(ec)) {
      close_socket();
      return transport_failed();
    }
    if (ec)
      done = 0;
  }
  std::size_t total = 0;
  for (const auto& b : bufs)
    total += b.len;
  if (done == total)
    return {};
  if (!unsent_)
    unsent_ = std::make_unique<unsent>();
  auto& queued = unsent_->queued;
  for (const auto& b : bufs) {
    auto skip = std::min(done, b.len);
    done -= skip;
    queued.append(b.buf + skip, b.len - skip);
  }
  if (unsent_->sending.size() + queued.size() > max_unsent) {
    close_socket();  // a reader this slow is dropped
    return transport_failed();
  }
  if (unsent_->sending.empty())
    write_unsent();
  return {};
}

void tcp_link::write_unsent() {
  std::swap(unsent_->sending, unsent_->queued);
  asio::async_write(socket_, asio::buffer(unsent_->sending),
                    [self = shared_from_this()](const asio::error_code& ec,
                                                std::size_t) {
                      self->on_written(ec);
                    });
}

void tcp_link::on_written(const asio::error_code& ec) {
  if (!socket_.is_open())
    return;
  auto self = shared_from_this();
  if (ec)
    return fail();
  unsent_->sending.clear();
  if (!unsent_->queued.empty()) {
    write_unsent();
    return;
  }
  unsent_.reset();  // an idle link keeps no write buffer
  if (shut_when_sent_)
    finish();
}

websocketpp::lib::error_code tcp_link::shut() {
  if (unsent_ && socket_.is_open())
    shut_when_sent_ = true;  // once it is all sent, or by the sweep
  else
    finish();
  return {};
}

void tcp_link::finish() {
  if (!socket_.is_open())
    return;
  asio::error_code ec;
  socket_.shutdown(tcp_socket::shutdown_send, ec);
  if (ec)
    close_socket();
  // Else the socket stays open for reading: on_readable drops what comes
  // (feed passes nothing to a closed connection) and closes at the
  // client's end of stream, or the sweep drops the link (closing_ticks).
}

void tcp_link::close(uint16_t code, const std::string& reason) {
  if (code == websocketpp::close::status::policy_violation)
    return close_unheard(code, reason);
  websocketpp::lib::error_code ec;
  con_->close(code, reason, ec);
}

void tcp_link::close_unheard(uint16_t code, const std::string& reason) {
  if (unheard_)
    return;
  unheard_ = true;
  deadline_ = 0;  // the sweep gives it unheard_ticks from now on
  // websocketpp writes its close frame within the call (write); a
  // connection already closing keeps the frame it sent.
  websocketpp::lib::error_code ec;
  con_->close(code, reason, ec);
  if (unsent_ && socket_.is_open())
    shut_when_sent_ = true;
  else
    finish();
}

void tcp_link::close_socket() {
  if (!socket_.is_open())
    return;
  asio::error_code ec;
  socket_.shutdown(tcp_socket::shutdown_send, ec);
  socket_.close(ec);
}

void tcp_link::fail() {
  con_->fatal_error();
  drop();  // nothing if websocketpp has closed it already
}

void tcp_link::drop() {
  auto self = shared_from_this();
  close_socket();
  // Closed or failed through websocketpp's handlers; nothing if it has
  // ended already.
  con_->terminate(transport_failed());
}

void tcp_link::sweep(tick now) {
  continuations_ = 0;
  if (!socket_.is_open())
    return;
  using websocketpp::session::state::open;
  if (con_->get_state() == open && !shut_when_sent_ && !unheard_) {
    deadline_ = 0;
    return;
  }
  // Opening (the deadline was set at accept), closing, or closed with
  // bytes the peer will not take.
  if (deadline_ == 0)
    deadline_ = now + (unheard_ ? unheard_ticks : closing_ticks);
  else if (now >= deadline_)
    drop();
}

} // namespace bellhop::ws
