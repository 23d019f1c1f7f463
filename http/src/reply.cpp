// Response helpers.
#include "reply.hpp"

#include <atomic>

#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>
#include <pistache/peer.h>

#include "bellhop/telemetry/log.hpp"

namespace bellhop::http {

namespace H = Pistache::Http::Header;

namespace {

/// A response header with a name chosen at run time. Pistache writes only
/// typed headers, not raw ones, so ETag, Retry-After and friends use this.
class named_header : public H::Header {
public:
  named_header(std::string name, std::string value)
    : name_(std::move(name)), value_(std::move(value)) {
  }
  const char* name() const override {
    return name_.c_str();
  }
  void write(std::ostream& os) const override {
    os << value_;
  }
#ifdef SAFE_HEADER_CAST
  uint64_t hash() const override {
    return H::detail::hash(name_.c_str());
  }
#endif

private:
  std::string name_;
  std::string value_;
};

} // namespace

namespace {

thread_local exchange* current = nullptr;

} // namespace

bool keep_alive(const Request& req, ResponseWriter& w) {
  auto conn = req.headers().tryGet<H::Connection>();
  bool close = conn ? conn->control() == Pistache::Http::ConnectionControl::Close
                    : req.version() == Pistache::Http::Version::Http10;
  w.headers().remove<H::Connection>();
  w.headers().add<H::Connection>(close
                                   ? Pistache::Http::ConnectionControl::Close
                                   : Pistache::Http::ConnectionControl::KeepAlive);
  return close;
}

void close_after(ResponseWriter& w) {
  w.headers().remove<H::Connection>();
  w.headers().add<H::Connection>(Pistache::Http::ConnectionControl::Close);
  if (current != nullptr)
    current->close = true;
}

void set_exchange(exchange* ex) {
  current = ex;
}

exchange* current_exchange() {
  return current;
}

void finish_exchange(int status) {
  auto* ex = current;
  if (ex == nullptr)
    return;
  current = nullptr;
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - ex->start;
  telemetry::metrics().request(ex->route, status, took.count());
  if (telemetry::log_enabled(telemetry::level::info))
    telemetry::log(telemetry::level::info, "request",
                   {{"method", std::string_view{ex->method}},
                    {"route", std::string_view{telemetry::to_string(ex->route)}},
                    {"status", int64_t{status}},
                    {"ms", took.count() * 1000}});
}

namespace {

std::atomic<int64_t> unwritten{0};

/// True when `peer`'s descriptor is a socket connected to `peer`'s address.
bool still_leads_to(const Pistache::Tcp::Peer& peer) {
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  if (::getpeername(peer.fd(), reinterpret_cast<sockaddr*>(&sa), &len) != 0)
    return false;
  char host[INET6_ADDRSTRLEN] = {0};
  uint16_t port = 0;
  if (sa.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&sa);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (sa.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
  } else {
    return false;
  }
  const auto& a = peer.address();
  // Pistache 0.0.5 keeps an accepted peer's port in network byte order.
  auto kept = static_cast<uint16_t>(a.port());
  bool same_port = kept == port || kept == static_cast<uint16_t>((port >> 8) | (port << 8));
  return same_port && a.host() == host;
}

/// One answer not yet written: counted from before its send until the
/// write's continuation is destroyed — after it ran, or when Pistache drops
/// the write (a peer reset or gone), which it does without resolving or
/// rejecting the promise.
struct unwritten_answer {
  unwritten_answer() {
    unwritten.fetch_add(1);
  }
  ~unwritten_answer() {
    unwritten.fetch_sub(1);
  }
  unwritten_answer(const unwritten_answer&) = delete;
  unwritten_answer& operator=(const unwritten_answer&) = delete;
};

/// Sends, counting an actor's answer until Pistache is done with its write.
/// Answers made on the reactor (reads, refusals, errors: nothing that
/// changed the store) are not counted, which keeps their path free of the
/// continuation's cost; at the very end of a stop one of those may still be
/// dropped with its connection, and the client asks again.
///
/// An answer made on the reactor that says `Connection: close` closes the
/// connection (Pistache 0.0.5 writes the header but keeps it open): once
/// written, its socket is shut down, and the reactor sees the end and
/// closes it. Only on the reactor thread that made the answer, the thread
/// that also closes this connection's descriptor, and only while the
/// descriptor still leads to this peer's address: Pistache matches peers
/// and writes by descriptor number, which a new connection may have been
/// given. An actor's answer (another thread) leaves the connection open.
template <class Send>
void send_counted(ResponseWriter& w, Send send) {
  bool queued = current != nullptr && current->queued;
  auto closing = current != nullptr && !queued && current->close ? w.getPeer()
                                                                 : nullptr;
  if (closing) {
    send().then(
      [closing, reactor = std::this_thread::get_id()](ssize_t) {
        if (std::this_thread::get_id() == reactor && still_leads_to(*closing))
          ::shutdown(closing->fd(), SHUT_RDWR);
      },
      [](std::exception_ptr&) {});
    return;
  }
  if (!queued) {
    send();
    return;
  }
  auto pending = std::make_shared<unwritten_answer>();
  send().then([pending](ssize_t) {}, [pending](std::exception_ptr&) {});
}

} // namespace

int64_t answers_unwritten() {
  return unwritten.load();
}

void send_body(ResponseWriter& w, int status, std::string_view body,
               const Pistache::Http::Mime::MediaType& type) {
  // A response to HEAD has no content (RFC 9110 §9.3.2). Pistache 0.0.5
  // writes the Content-Length of what it sends, so it reads 0.
  if (current != nullptr && current->head)
    body = {};
  send_counted(w, [&] {
    return w.send(static_cast<Pistache::Http::Code>(status), body.data(),
                  body.size(), type);
  });
  finish_exchange(status);
}

void send_json(ResponseWriter& w, int status, std::string_view body) {
  send_body(w, status, body, MIME(Application, Json));
}

void send_status(ResponseWriter& w, int status) {
  send_counted(
    w, [&] { return w.send(static_cast<Pistache::Http::Code>(status)); });
  finish_exchange(status);
}

std::string error_body(std::string_view code, std::string_view message,
                       std::string_view field) {
  nlohmann::ordered_json e;
  e["code"] = code;
  e["message"] = message;
  if (!field.empty())
    e["field"] = field;
  nlohmann::ordered_json doc;
  doc["error"] = std::move(e);
  return doc.dump();
}

void send_error(ResponseWriter& w, int status, std::string_view code,
                std::string_view message, std::string_view field) {
  // RFC 6750, 3: a 401 names the scheme the client should use.
  if (status == 401)
    add_header(w, "WWW-Authenticate", "Bearer realm=\"bellhop\"");
  send_json(w, status, error_body(code, message, field));
}

void send_retry_later(ResponseWriter& w, int status, std::string_view code,
                      std::string_view message, int retry_after_seconds) {
  add_header(w, "Retry-After", std::to_string(retry_after_seconds));
  send_error(w, status, code, message);
}

void send_read_failed(ResponseWriter& w, const std::exception& e) {
  telemetry::log(telemetry::level::error, "reading the store failed",
                 {{"error", std::string_view{e.what()}}});
  send_retry_later(w, 503, "unavailable", "storage failed", 1);
}

void add_header(ResponseWriter& w, const std::string& name,
                const std::string& value) {
  w.headers().add(std::make_shared<named_header>(name, value));
}

} // namespace bellhop::http
