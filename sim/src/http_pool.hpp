// An asynchronous HTTP/1.1 client: a pool of keep-alive connections to one
// server on the run's io_context (Boost.Beast). A request waits in a FIFO
// queue while every connection is busy and the pool is at its size, so an
// overloaded server shows as queueing time in the caller's latency, never
// as a lower send rate. Not thread-safe: call it on the io_context's thread
// only (the simulator has just that one).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "url.hpp"

namespace boost::asio {
class io_context;
}

namespace bellhop::sim {

struct http_request {
  bool post = false;
  std::string target;         ///< path and query
  std::string authorization;  ///< the whole header value ("Bearer ...")
  std::string body;           ///< JSON body of a POST
  std::string if_none_match;  ///< sent when not empty
  std::string idempotency_key;///< sent when not empty
};

struct http_result {
  int status = 0;       ///< 0: no answer (see error)
  std::string body;
  std::string etag;
  std::string error;    ///< why there is no answer ("connect: ...")
  /// How long it waited in the pool's queue for a free connection (the
  /// client's own limit, not the server's time).
  std::chrono::microseconds queued{0};
};

using http_callback = std::function<void(http_result&)>;
/// Called once, when a request's bytes were first written to a socket.
using written_callback = std::function<void()>;

class http_pool {
public:
  /// Resolves `base`'s host now (throws std::runtime_error if it cannot).
  http_pool(boost::asio::io_context& io, const url& base,
            std::size_t max_connections, std::chrono::milliseconds timeout);
  ~http_pool();
  http_pool(const http_pool&) = delete;
  http_pool& operator=(const http_pool&) = delete;

  /// Sends `req` when a connection is free and calls `done` with the
  /// answer. A request that fails on a reused keep-alive connection before
  /// any byte of the answer came is retried once on a new connection (the
  /// server may have closed it while idle); bookings carry an
  /// Idempotency-Key, so a retry never books twice. `written`, if given,
  /// is called when the request was first written to a connection.
  void submit(http_request req, http_callback done,
              written_callback written = {});

  std::size_t in_flight() const;   ///< submitted, not yet answered
  std::size_t queued() const;      ///< waiting for a connection
  std::size_t connections() const; ///< open or opening

  /// Closes every idle connection (at the end of a run).
  void close_idle();

private:
  struct impl;
  std::shared_ptr<impl> d_;
};

} // namespace bellhop::sim
