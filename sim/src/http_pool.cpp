// The keep-alive HTTP client pool on Boost.Beast (see http_pool.hpp).
// Each connection is a shared_ptr captured by its own pending handlers, the
// usual Beast pattern: a connection that failed is dropped from the pool
// and freed when its last handler has run.
#include "http_pool.hpp"

#include <chrono>
#include <deque>
#include <optional>
#include <stdexcept>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace bellhop::sim {

namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr std::uint64_t body_limit = 16 * 1024 * 1024;

/// A connection idle this long is closed rather than used: the server
/// closes idle keep-alive connections after 60 s, and a request sent on one
/// it is closing fails.
constexpr auto stale_after = std::chrono::seconds(50);

struct job {
  http_request req;
  http_callback done;
  written_callback written;  ///< emptied once called
  int attempt = 0;
  std::chrono::steady_clock::time_point queued_at;  ///< entered the queue
  std::chrono::microseconds queued{0};              ///< time in the queue
};

struct connection {
  explicit connection(net::io_context& io) : stream(io) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  bhttp::request<bhttp::string_body> req;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser;
  job current;
  std::chrono::steady_clock::time_point idle_since;
  bool open = false;    ///< connected and usable
  bool reused = false;  ///< has answered a request before this one
};

using conn_ptr = std::shared_ptr<connection>;

} // namespace

struct http_pool::impl : std::enable_shared_from_this<impl> {
  net::io_context& io;
  tcp::endpoint endpoint;
  std::string host_header;
  std::size_t max_connections;
  std::chrono::milliseconds timeout;
  std::deque<job> waiting;
  std::vector<conn_ptr> idle;
  std::size_t live = 0;       ///< connections not yet dropped
  std::size_t in_flight = 0;

  impl(net::io_context& io_, std::size_t max, std::chrono::milliseconds t)
    : io(io_), max_connections(max == 0 ? 1 : max), timeout(t) {}

  /// `fresh`: a retry, on a new connection when one may be opened (the
  /// idle ones may have been closed by the server as the failed one was).
  void submit(job j, bool fresh = false) {
    auto now = std::chrono::steady_clock::now();
    while (!idle.empty() && now - idle.front()->idle_since > stale_after) {
      close(idle.front());  // the oldest first: `idle` is in parking order
      idle.erase(idle.begin());
    }
    if (!idle.empty() && !(fresh && live < max_connections)) {
      auto c = std::move(idle.back());
      idle.pop_back();
      start(c, std::move(j));
    } else if (live < max_connections) {
      ++live;
      start(std::make_shared<connection>(io), std::move(j));
    } else {
      j.queued_at = now;
      waiting.push_back(std::move(j));
    }
  }

  /// The oldest waiting request, its time in the queue added up.
  job next_waiting() {
    auto j = std::move(waiting.front());
    waiting.pop_front();
    j.queued += std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - j.queued_at);
    return j;
  }

  void start(const conn_ptr& c, job j) {
    c->current = std::move(j);
    auto& r = c->current.req;
    c->req = {};
    c->req.method(r.post ? bhttp::verb::post : bhttp::verb::get);
    c->req.target(r.target);
    c->req.version(11);
    c->req.set(bhttp::field::host, host_header);
    if (!r.authorization.empty())
      c->req.set(bhttp::field::authorization, r.authorization);
    if (!r.if_none_match.empty())
      c->req.set(bhttp::field::if_none_match, r.if_none_match);
    if (!r.idempotency_key.empty())
      c->req.set("Idempotency-Key", r.idempotency_key);
    if (r.post) {
      c->req.set(bhttp::field::content_type, "application/json");
      c->req.body() = r.body;
    }
    c->req.keep_alive(true);
    c->req.prepare_payload();
    if (c->open) {
      write(c);
      return;
    }
    c->stream.expires_after(timeout);
    auto self = shared_from_this();
    c->stream.async_connect(endpoint, [self, c](beast::error_code ec) {
      if (ec)
        return self->fail(c, "connect", ec);
      c->open = true;
      beast::error_code ignored;
      c->stream.socket().set_option(tcp::no_delay(true), ignored);
      self->write(c);
    });
  }

  void write(const conn_ptr& c) {
    c->stream.expires_after(timeout);
    auto self = shared_from_this();
    bhttp::async_write(c->stream, c->req,
                       [self, c](beast::error_code ec, std::size_t) {
                         if (ec)
                           return self->fail(c, "send", ec);
                         if (auto w = std::move(c->current.written)) {
                           c->current.written = nullptr;
                           w();
                         }
                         self->read(c);
                       });
  }

  void read(const conn_ptr& c) {
    c->parser.emplace();
    c->parser->body_limit(body_limit);
    auto self = shared_from_this();
    bhttp::async_read(c->stream, c->buffer, *c->parser,
                      [self, c](beast::error_code ec, std::size_t) {
                        if (ec)
                          return self->fail(c, "receive", ec);
                        self->answered(c);
                      });
  }

  void answered(const conn_ptr& c) {
    auto res = c->parser->release();
    c->parser.reset();
    c->stream.expires_never();
    http_result r;
    r.status = static_cast<int>(res.result_int());
    r.etag = std::string{res[bhttp::field::etag]};
    r.body = std::move(res.body());
    r.queued = c->current.queued;
    auto done = std::move(c->current.done);
    c->current = {};
    c->reused = true;
    if (!res.keep_alive())
      drop(c);
    else
      release(c);
    --in_flight;
    done(r);
  }

  void fail(const conn_ptr& c, const char* stage, beast::error_code ec) {
    bool no_answer_yet = !c->parser || !c->parser->got_some();
    auto j = std::move(c->current);
    c->current = {};
    bool retry = c->reused && no_answer_yet && j.attempt == 0
                 && ec != beast::error::timeout;
    drop(c);
    if (retry) {
      ++j.attempt;
      submit(std::move(j), true);  // still counted in in_flight
      return;
    }
    http_result r;
    r.error = std::string{stage} + ": "
              + (ec == beast::error::timeout ? std::string{"timed out"}
                                             : ec.message());
    r.queued = j.queued;
    --in_flight;
    j.done(r);
  }

  /// A connection is free: give it the next waiting request or park it.
  void release(const conn_ptr& c) {
    if (!waiting.empty()) {
      start(c, next_waiting());
    } else {
      c->idle_since = std::chrono::steady_clock::now();
      idle.push_back(c);
    }
  }

  /// Closes a connection nobody uses.
  void close(const conn_ptr& c) {
    beast::error_code ignored;
    c->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    c->stream.close();
    c->open = false;
    --live;
  }

  /// A connection is unusable: close it and, if requests wait, open a new
  /// one in its place.
  void drop(const conn_ptr& c) {
    close(c);
    if (!waiting.empty()) {
      ++live;
      start(std::make_shared<connection>(io), next_waiting());
    }
  }
};

http_pool::http_pool(net::io_context& io, const url& base,
                     std::size_t max_connections,
                     std::chrono::milliseconds timeout)
  : d_(std::make_shared<impl>(io, max_connections, timeout)) {
  tcp::resolver resolver{io};
  beast::error_code ec;
  auto results = resolver.resolve(base.host, std::to_string(base.port), ec);
  if (ec || results.empty())
    throw std::runtime_error("cannot resolve " + base.host + ": "
                             + ec.message());
  d_->endpoint = results.begin()->endpoint();
  d_->host_header = base.authority();
}

http_pool::~http_pool() {
  close_idle();
}

void http_pool::submit(http_request req, http_callback done,
                       written_callback written) {
  ++d_->in_flight;
  job j;
  j.req = std::move(req);
  j.done = std::move(done);
  j.written = std::move(written);
  d_->submit(std::move(j));
}

std::size_t http_pool::in_flight() const {
  return d_->in_flight;
}

std::size_t http_pool::queued() const {
  return d_->waiting.size();
}

std::size_t http_pool::connections() const {
  return d_->live;
}

void http_pool::close_idle() {
  auto idle = std::move(d_->idle);
  d_->idle.clear();
  for (auto& c : idle)
    d_->close(c);
}

} // namespace bellhop::sim
