// Harness of the WebSocket integration test (ws_test.cpp): runs the real
// `bellhop serve` on ephemeral ports, speaks HTTP to it with libcurl, and
// holds many WebSocket connections on one websocketpp client (one Asio
// thread for all of them). websocketpp stays inside ws_harness.cpp so that
// the test file compiles quickly.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace bellhop_it {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

/// The HS256 secret every test server is started with.
extern const std::string jwt_secret;

/// Raises RLIMIT_NOFILE's soft limit to the hard one (the servers we fork
/// inherit it). Idempotent; also run once at program start.
void raise_nofile_limit();

/// `$BELLHOP_BIN`, default `build/bellhop`.
std::string bellhop_bin();

struct http_response {
  long status = 0;   ///< 0: the request did not complete (see body)
  std::string body;  ///< the answer's body, or curl's error message
  /// The body parsed as JSON (a discarded value when it is not JSON).
  json json_body() const;
};

/// One `bellhop serve` process: ephemeral ports, a fresh data directory,
/// no REST rate limits, plus the caller's extra flags.
class server_process {
public:
  explicit server_process(std::vector<std::string> extra_args = {});
  ~server_process();
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  uint16_t http_port() const {
    return http_port_;
  }
  uint16_t ws_port() const {
    return ws_port_;
  }
  /// "ws://127.0.0.1:WSPORT" + path_and_query.
  std::string ws_url(const std::string& path_and_query) const;

  /// Sends SIGTERM and waits (up to `timeout`, then SIGKILL) for the exit.
  /// Returns the exit status, or 128 + signal when killed by a signal.
  int terminate(std::chrono::seconds timeout = std::chrono::seconds(15));
  bool running();

  /// What the server wrote so far (the last 64 KiB of each).
  std::string stdout_text() const;
  std::string stderr_text() const;

  // HTTP to 127.0.0.1:HTTPPORT. An empty token sends no Authorization.
  http_response post_json(const std::string& path, const std::string& token,
                          const json& body) const;
  http_response get(const std::string& path, const std::string& token) const;

private:
  struct output;
  void reap(int status);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_status_ = -1;
  std::string data_dir_;
  uint16_t http_port_ = 0;
  uint16_t ws_port_ = 0;
  std::shared_ptr<output> out_;
  std::thread out_reader_;
  std::thread err_reader_;
};

/// The value of one series of the server's /metrics, named as the page
/// writes it (`bellhop_ws_sessions`, `bellhop_deliveries_total{...}`); -1
/// when absent.
double metric(const server_process& srv, const std::string& series);

/// What one client connection saw. Times are the client's steady clock.
struct ws_conn_state {
  bool opened = false;  ///< the handshake succeeded
  bool failed = false;  ///< the handshake (or the connect) failed
  bool closed = false;  ///< an opened connection ended
  int http_status = 0;  ///< status of the answer to the upgrade request
  int close_code = 0;   ///< the server's close code (1006 if none came)
  std::string close_reason;
  std::string error;              ///< websocketpp's message on failure
  std::vector<json> frames;       ///< text frames, parsed (null if not JSON)
  std::vector<std::string> raw;   ///< the same frames as received
  steady::time_point connect_at{}, open_at{}, close_at{};
};

/// "event" of a frame, "" when it has none.
std::string event_of(const json& frame);

/// A websocketpp client with its own Asio thread; one object holds any
/// number of connections, each named by the index `connect` returns.
class ws_client {
public:
  using conn_id = std::size_t;

  ws_client();
  ~ws_client();
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  /// Starts connecting to `url`; `authorization` is the value of an
  /// Authorization header to send ("" for none).
  conn_id connect(const std::string& url, const std::string& authorization = "");

  void send(conn_id id, const std::string& text);
  /// Sends all texts in one go on the Asio thread (back to back).
  void send_burst(conn_id id, const std::vector<std::string>& texts);
  /// Sends `n` WebSocket pings (control frames; pongs when `pongs`) back
  /// to back.
  void send_pings(conn_id id, int n, bool pongs = false);
  void close(conn_id id, int code = 1000, const std::string& reason = "");

  /// A copy of the connection's state.
  ws_conn_state state(conn_id id) const;
  std::vector<json> frames(conn_id id) const;

  /// Waits until `pred(state)` holds or the deadline passes; returns the
  /// last value of pred. pred runs under the client's lock.
  bool wait(conn_id id, const std::function<bool(const ws_conn_state&)>& pred,
            ms timeout);
  /// The same for many connections; pred must be monotone (once true for a
  /// connection it stays true), which lets the wait skip settled ones.
  bool wait_all(const std::vector<conn_id>& ids,
                const std::function<bool(const ws_conn_state&)>& pred,
                ms timeout);

  /// Until opened or refused; true when opened.
  bool wait_open(conn_id id, ms timeout = ms(10000));
  /// Until refused or opened; the refusal's HTTP status, 101 when it opened,
  /// 0 when nothing happened in time.
  int wait_refused(conn_id id, ms timeout = ms(10000));
  /// Until at least n frames came (false if the socket ended first).
  bool wait_frames(conn_id id, std::size_t n, ms timeout = ms(10000));
  /// Until the connection ended; false on timeout.
  bool wait_closed(conn_id id, ms timeout = ms(10000));

private:
  struct impl;
  std::unique_ptr<impl> d_;
};

} // namespace bellhop_it
