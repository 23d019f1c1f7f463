// The Pistache endpoint and the request dispatcher.
#include "bellhop/http/rest_server.hpp"

#include <thread>

#include <pistache/endpoint.h>
#include <pistache/peer.h>
#include <sys/socket.h>

#include "bellhop/telemetry/log.hpp"
#include "cors.hpp"
#include "request_input.hpp"
#include "request_parts.hpp"
#include "routes.hpp"
#include "slow_writes.hpp"
#include "static_files.hpp"

namespace bellhop::http {

namespace {

using Pistache::Http::Method;

/// Counts one request in flight for its scope.
struct in_flight_guard {
  explicit in_flight_guard(std::atomic<int64_t>& n) : n(n) {
    n.fetch_add(1);
  }
  ~in_flight_guard() {
    n.fetch_sub(1);
  }
  in_flight_guard(const in_flight_guard&) = delete;
  in_flight_guard& operator=(const in_flight_guard&) = delete;
  std::atomic<int64_t>& n;
};

/// Counts one open REST connection for its lifetime.
struct counted_connection {
  counted_connection() {
    telemetry::metrics().rest_connections.add(1);
  }
  ~counted_connection() {
    telemetry::metrics().rest_connections.add(-1);
  }
  counted_connection(const counted_connection&) = delete;
  counted_connection& operator=(const counted_connection&) = delete;
};

/// A connection's turn to answer, which also counts the connection: the
/// slot lives as long as anything holds it — Pistache's peer, and an answer
/// still on its way with the descriptor it owns (an ask's `dup`, a slow
/// write) — so the connection counts until its last file is closed.
struct counted_slot : answer_slot {
  counted_connection counted;
  // On the reactor thread only:
  /// `100 Continue` was sent for the request being read.
  bool continued = false;
  /// What read_request keeps between the connection's reads.
  reader_state reader;
  /// The connection was answered and its sending side shut down; what the
  /// client still sends is dropped (drain_after_answer), `drained` bytes
  /// so far.
  bool draining = false;
  std::size_t drained = 0;
};

/// What a connection may send after the answer that ended it before it is
/// reset: the rest of a body of a few MiB.
constexpr std::size_t drain_limit = 4 * 1024 * 1024;

// The slot is kept with an open connection as data of Pistache's peer (for
// the connection's life; on the reactor thread only). A connection without
// it was refused. Short enough for std::string's inline buffer: Pistache
// takes the key by value on every lookup.
const std::string slot_key = "bh.slot";

/// Answers a connection that is not taken: 503 in the contract's shape,
/// then the end of the connection. On the reactor, inside the connection
/// handler: `fd` is this connection's.
void refuse_connection(int fd) {
  static const std::string answer = [] {
    exchange ex;
    ex.close = true;
    ex.headers = "Retry-After: 1\r\n";
    return render_answer(ex, 503,
                         error_body("unavailable", "the server holds all "
                                                   "the connections it can"),
                         "application/json");
  }();
  write_answer(fd, answer, true);
}

/// The API's routes of one path and method (GET /bookings/{id} aside).
struct api_route {
  const char* path;
  Method method;
  telemetry::route name;
  void (*handle)(context&, const Request&, ResponseWriter);
};

const api_route api_routes[] = {
  {"/bookings", Method::Post, telemetry::route::post_bookings, post_booking},
  {"/notifications", Method::Post, telemetry::route::post_notifications,
   post_notification},
  {"/notifications/count", Method::Get, telemetry::route::count, get_count},
  {"/notifications/list", Method::Get, telemetry::route::list, get_list},
  {"/notifications/mark-read", Method::Post, telemetry::route::mark_read,
   post_mark_read},
  {"/preferences", Method::Get, telemetry::route::get_preferences,
   get_preferences},
  {"/preferences", Method::Put, telemetry::route::put_preferences,
   put_preferences},
  {"/admin/audit", Method::Get, telemetry::route::audit, get_audit},
};

/// The API route of `m` (HEAD as GET) and `path`, GET /bookings/{id}
/// aside; null for none.
const api_route* api_route_of(Method m, std::string_view path) {
  if (m == Method::Head)
    m = Method::Get;
  for (auto& r : api_routes)
    if (r.method == m && path == r.path)
      return &r;
  return nullptr;
}

/// The id of a GET (or HEAD) /bookings/{id}; empty for any other request.
std::string_view booking_id_of(Method m, std::string_view path) {
  constexpr std::string_view prefix = "/bookings/";
  if ((m != Method::Get && m != Method::Head) || path.size() <= prefix.size()
      || path.compare(0, prefix.size(), prefix) != 0
      || path.find('/', prefix.size()) != std::string_view::npos)
    return {};
  return path.substr(prefix.size());
}

/// Dispatches on method and path; one instance per reactor thread (Pistache
/// clones it), all sharing one context.
class rest_handler : public Pistache::Http::Handler {
public:
  HTTP_PROTOTYPE(rest_handler)

  explicit rest_handler(std::shared_ptr<context> ctx) : ctx_(std::move(ctx)) {
  }

  void onConnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override {
    // What Pistache's own (private) onConnection does: the peer's parser.
    peer->putData(ParserData, std::make_shared<Pistache::Http::RequestParser>(
                                getMaxRequestSize()));
    // Two files: the socket, and the descriptor an answer may hold
    // (telemetry::connection_files_left).
    if (telemetry::connection_files_left() < 2) {
      telemetry::metrics().connections_refused.inc();
      refuse_connection(peer->fd());
      return;
    }
    peer->putData(slot_key, std::make_shared<counted_slot>());
  }

  // Replaces Pistache's own (private) onInput, which does the same steps
  // but answers what it cannot parse in plain text and drops the bytes
  // after a request (request_input.hpp). On the reactor thread.
  void onInput(const char* buffer, size_t len,
               const std::shared_ptr<Pistache::Tcp::Peer>& peer) override {
    auto slot = slot_of(peer);
    if (slot && slot->draining)
      return drain_after_answer(peer, *slot, len);
    auto parser = getParser(peer);
    reader_state no_slot_reader;  // a refused connection: it is closing
    auto got = read_request(*parser, buffer, len,
                            slot ? slot->reader : no_slot_reader);
    if (got.what == request_input::state::partial)
      return continue_if_awaited(peer, slot.get(), *parser);
    if (slot)
      slot->continued = false;  // the next request is a new one
    if (got.what == request_input::state::unreadable) {
      exchange ex;
      name_unreadable(parser->request, ex);
      answer_unreadable(peer, slot.get(), parser->request, got, ex);
      parser->reset();
      return;
    }
    auto& request = parser->request;
    request.copyAddress(peer->address());
    // Busy until answered (onRequest), for Pistache's timeouts.
    peer->setIdle(false);
    reading_.more_follows = got.more_follows;
    reading_.slot = std::move(slot);
    try {
      onRequest(request, ResponseWriter(request.version(), transport(), this,
                                        peer));
    } catch (const std::exception& e) {
      // onRequest answers its own failures; this is out of memory or a
      // bug outside the dispatcher. The client must not wait for an
      // answer that will not come.
      telemetry::log(telemetry::level::error, "request handling failed",
                     {{"error", std::string_view{e.what()}}});
      ::shutdown(peer->fd(), SHUT_RDWR);
    }
    reading_ = {};
    parser->reset();
  }

  void onRequest(const Request& req, ResponseWriter w) override {
    // Counted in flight while in the handler, before dispatch() reads
    // `ready`: drain() clears `ready` and then waits for zero, so a request
    // that saw `ready` set is either still counted here or has handed its
    // ask over (which counts itself) by the time drain() looks.
    in_flight_guard guard{ctx_->in_flight};
    exchange ex;
    ex.start = std::chrono::steady_clock::now();
    ex.method = Pistache::Http::methodString(req.method());
    ex.head = req.method() == Method::Head;
    // Another request read right behind this one was pipelined: it is not
    // handled, and this answer ends the connection (request_input.hpp).
    ex.close = wants_close(req) || reading_.more_follows;
    ex.http10 = req.version() == Pistache::Http::Version::Http10;
    // Valid for writing here, on the reactor thread, until the handler
    // returns (wire.hpp).
    auto peer = w.getPeer();
    ex.fd = peer ? peer->fd() : -1;
    if (peer) {
      ex.slot = std::move(reading_.slot);
      if (!ex.slot) {  // refused (onConnection): it is closing
        peer->setIdle(true);
        return;
      }
      if (!ex.slot->take()) {
        // Pipelined: sent before the previous answer came. It is not
        // handled; the connection ends after the answer in flight.
        telemetry::log(telemetry::level::debug,
                       "pipelined request: the connection closes after the "
                       "answer in flight",
                       {{"method", std::string_view{ex.method}}});
        peer->setIdle(true);
        return;
      }
      if (ex.close)
        ex.slot->end_after();
    }
    set_exchange(&ex);
    try {
      dispatch(req, std::move(w), ex);
    } catch (const std::exception& e) {
      // Handlers validate before they act and answer a failed read
      // themselves (read_or_503), so this is a bug path. An exchange still
      // current here is neither answered nor handed to an actor.
      telemetry::log(telemetry::level::error, "request handler failed",
                     {{"error", std::string_view{e.what()}}});
      if (current_exchange() == &ex)
        send_retry_later(w, 503, "unavailable", "try again", 1);
    }
    set_exchange(nullptr);
    // Pistache counts a connection busy from a request's first bytes until
    // an answer goes through its ResponseWriter, and sends a busy one an
    // unsolicited 408 after the header timeout. bellhop writes its answers
    // itself, so it marks the connection idle here (on its reactor, where
    // Pistache reads the mark): idle connections close silently after the
    // keep-alive timeout, also while an actor's answer is awaited.
    if (peer)
      peer->setIdle(true);
  }

private:
  static std::shared_ptr<counted_slot> slot_of(
    const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
    return std::static_pointer_cast<counted_slot>(peer->tryGetData(slot_key));
  }

  /// Sends `100 Continue`, once, to a client that waits for it before it
  /// sends its request's body. Not while an answer is in flight: the
  /// request is then pipelined and will not be handled, and the bytes
  /// must not fall between an answer's. The one short write goes straight
  /// to the socket, as answers do here on the reactor (wire.hpp); a socket
  /// that does not take it leaves the client to its own timeout.
  static void continue_if_awaited(
    const std::shared_ptr<Pistache::Tcp::Peer>& peer, counted_slot* slot,
    Pistache::Http::RequestParser& parser) {
    if (!awaits_continue(parser))
      return;
    if (!slot || slot->continued || !slot->idle())
      return;
    slot->continued = true;
    static constexpr char interim[] = "HTTP/1.1 100 Continue\r\n\r\n";
    ::send(peer->fd(), interim, sizeof interim - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  }

  /// Answers a request that cannot be read, in the contract's shape, and
  /// ends the connection. The client may still be sending it (a body over
  /// the limit); a socket closed with unread bytes resets the connection,
  /// and the client might lose the answer before it reads it. So only the
  /// sending side is shut down, and what still comes is dropped until the
  /// client closes (drain_after_answer). A connection whose answer is
  /// still in flight ends after that answer instead, as for a pipelined
  /// request.
  /// Names, for the metrics and the log line, a request that could not be
  /// read whole (a body over the limit, say) by what of it was read: its
  /// method and API route once the request line was (Pistache sets the
  /// target after the method), else "unknown".
  static void name_unreadable(const Request& req, exchange& ex) {
    if (req.resource().empty())
      return;
    ex.method = Pistache::Http::methodString(req.method());
    auto path = origin_path(req);
    if (auto* r = api_route_of(req.method(), path))
      ex.route = r->name;
    else if (!booking_id_of(req.method(), path).empty())
      ex.route = telemetry::route::get_booking;
  }

  /// `req` holds what was read of the request: its Origin, when that line
  /// came before the one that failed, gets the CORS headers (a page on an
  /// allowed origin then reads the 413 or 415 instead of a CORS failure).
  void answer_unreadable(const std::shared_ptr<Pistache::Tcp::Peer>& peer,
                         counted_slot* slot, const Request& req,
                         const request_input& got, exchange& ex) {
    // The turn is not given back: the connection takes no more requests.
    if (!slot || !slot->take())
      return;
    ex.start = std::chrono::steady_clock::now();
    ex.close = true;
    telemetry::log(telemetry::level::debug, "unreadable request",
                   {{"status", int64_t{got.status}}});
    set_exchange(&ex);
    add_cors_headers(ctx_->cfg.cors_origins, req);
    auto bytes = render_answer(ex, got.status,
                               error_body(got.code, got.message),
                               "application/json");
    std::size_t written = 0;
    bool whole = send_now(peer->fd(), bytes, written) == sent::all;
    ::shutdown(peer->fd(), whole ? SHUT_WR : SHUT_RDWR);
    slot->draining = whole;
    finish_exchange(got.status);
    peer->setIdle(true);  // closed after the keep-alive timeout at the latest
  }

  /// Drops what a client sends after its connection's last answer; past
  /// drain_limit the connection is reset.
  static void drain_after_answer(
    const std::shared_ptr<Pistache::Tcp::Peer>& peer, counted_slot& slot,
    size_t len) {
    slot.drained += len;
    if (slot.drained > drain_limit)
      ::shutdown(peer->fd(), SHUT_RDWR);
  }

  void dispatch(const Request& req, ResponseWriter w, exchange& ex) {
    using telemetry::route;
    auto& ctx = *ctx_;
    auto path = origin_path(req);
    // HEAD is answered as GET would be; send_body leaves the body out.
    auto m = req.method() == Method::Head ? Method::Get : req.method();
    // First, so that every answer carries the CORS headers.
    if (apply_cors(ctx.cfg.cors_origins, req, w))
      return;
    auto is = [&](const char* p, Method want, route r) {
      if (path != p || m != want)
        return false;
      ex.route = r;
      return true;
    };
    if (is("/healthz", Method::Get, route::healthz))
      return send_json(w, 200, R"({"status":"ok"})");
    if (is("/readyz", Method::Get, route::readyz)) {
      if (ctx.ready)
        return send_json(w, 200, R"({"status":"ready"})");
      close_after(w);  // as the API's answers while stopping: go elsewhere
      return send_retry_later(w, 503, "unavailable", "the server is stopping",
                              1);
    }
    if (is("/metrics", Method::Get, route::metrics)) {
      // Unauthenticated: limited per client address (§4). Health probes
      // are not limited: a load balancer's checks must not be refused.
      if (!over_address_limit(ctx, req, w))
        send_metrics(w);
      return;
    }
    // The API: its route is named (for the metrics) before a stop refuses it.
    auto* api = api_route_of(m, path);
    auto booking_id = api ? std::string_view{} : booking_id_of(m, path);
    if (api)
      ex.route = api->name;
    else if (!booking_id.empty())
      ex.route = route::get_booking;
    if (!ctx.ready) {
      // Stopping: no new work, so that the asks in flight can finish
      // (drain); the client retries, on this server's successor or another.
      close_after(w);
      return send_retry_later(w, 503, "unavailable", "the server is stopping",
                              1);
    }
    if (api != nullptr)
      return api->handle(ctx, req, std::move(w));
    if (!booking_id.empty())
      return get_booking(ctx, req, std::move(w), std::string{booking_id});
    // The web page and its files come after the API: no file can shadow a
    // route.
    ex.route = path == "/openapi.json" ? route::openapi
               : path.rfind("/demo", 0) == 0 ? route::demo
                                             : route::static_file;
    if (m == Method::Get && serve_static(ctx, req, w))
      return;
    ex.route = route::unknown;
    send_error(w, 404, "not_found", "no such route");
  }

  static void send_metrics(ResponseWriter& w) {
    auto body = telemetry::metrics().render();
    send_body(w, 200, body, "text/plain; version=0.0.4; charset=utf-8");
  }

  std::shared_ptr<context> ctx_;
  /// What onInput read about the request it hands to onRequest (which
  /// only onInput calls). One handler per reactor thread: no other thread
  /// reads it.
  struct {
    /// Another request is behind this one in the same read.
    bool more_follows = false;
    /// The connection's slot, looked up once per read; null when the
    /// connection was refused.
    std::shared_ptr<counted_slot> slot;
  } reading_;
};

} // namespace

struct rest_server::impl {
  std::shared_ptr<context> ctx;
  std::unique_ptr<Pistache::Http::Endpoint> endpoint;
};

rest_server::rest_server(caf::actor_system& sys, router_actor router,
                         const storage::store& st, rest_config cfg)
  : impl_(std::make_unique<impl>()) {
  impl_->ctx = std::make_shared<context>(sys, std::move(router), st,
                                         std::move(cfg));
}

rest_server::~rest_server() {
  shutdown();
}

void rest_server::set_ws_port(uint16_t port) {
  // Before start() no reactor runs: nothing reads the configuration yet.
  impl_->ctx->cfg.ws_port = port;
}

void rest_server::start() {
  auto& cfg = impl_->ctx->cfg;
  // Pistache joins host and port with a colon: an IPv6 literal needs its
  // brackets ("[::1]:8080").
  auto host = cfg.bind.find(':') != std::string::npos && cfg.bind.front() != '['
                ? "[" + cfg.bind + "]" : cfg.bind;
  Pistache::Address addr{host, Pistache::Port{cfg.port}};
  impl_->endpoint = std::make_unique<Pistache::Http::Endpoint>(addr);
  auto opts = Pistache::Http::Endpoint::options()
                .threads(cfg.threads)
                .flags(Pistache::Tcp::Options::ReuseAddr)
                // Bodies over 64 KiB get the handlers' 413; a request
                // over this gets read_request's (request_input.hpp).
                .maxRequestSize(max_request_bytes)
                .maxResponseSize(4 * 1024 * 1024)
                .headerTimeout(std::chrono::seconds(10))
                .bodyTimeout(std::chrono::seconds(30))
                .keepaliveTimeout(std::chrono::seconds(60));
  impl_->endpoint->init(opts);
  impl_->endpoint->setHandler(std::make_shared<rest_handler>(impl_->ctx));
  start_slow_writes();
  impl_->endpoint->serveThreaded();
}

uint16_t rest_server::port() const {
  return static_cast<uint16_t>(impl_->endpoint->getPort());
}

void rest_server::stop_accepting() {
  impl_->ctx->ready = false;
}

void rest_server::drain(std::chrono::milliseconds grace) {
  stop_accepting();
  auto deadline = std::chrono::steady_clock::now() + grace;
  // An actor's answer is written, or handed to the slow writer (which
  // counts it), before its ask stops counting as in flight, so the two are
  // never both 0 while an answer is due.
  auto busy = [this] {
    return impl_->ctx->in_flight.load() > 0 || slow_writes_pending() > 0;
  };
  while (busy() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (busy())
    telemetry::log(telemetry::level::warn,
                   "stopping with requests unanswered after the grace period",
                   {{"inFlight", int64_t{impl_->ctx->in_flight.load()}},
                    {"unwritten", int64_t{slow_writes_pending()}}});
}

void rest_server::shutdown() {
  if (impl_ && impl_->endpoint) {
    impl_->endpoint->shutdown();
    impl_->endpoint.reset();
  }
  stop_slow_writes();
  // No reactor runs: idle asking actors end, a busy one after its answer.
  if (impl_)
    impl_->ctx->asks.stop();
}

} // namespace bellhop::http
