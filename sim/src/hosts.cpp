// The hosts' devices on websocketpp (see hosts.hpp). A device is a small
// state machine: connecting -> open -> (closed by TTL) -> polling ->
// connecting ... Every callback of a connection carries the device's
// generation at connect time, so a late callback of an older connection
// is ignored.
#include "hosts.hpp"

#include <deque>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

#include "clock.hpp"
#include "http_pool.hpp"
#include "ledger.hpp"

namespace bellhop::sim {

namespace {

using client_t = websocketpp::client<websocketpp::config::asio_client>;
using json = nlohmann::json;
namespace asio = boost::asio;

/// The server closes a socket (1008) whose client sends more than 20
/// messages in one second; a device acks at most this many per second and
/// queues the rest (a replay of 100 notifications arrives at once).
constexpr std::size_t acks_per_second = 15;

/// A replay with `after=` brings at most this many notifications, the
/// oldest (API.md §5).
constexpr uint32_t replay_limit = 100;

enum class phase : uint8_t { idle, connecting, open, polling };

struct device {
  uint32_t host = 0;
  uint32_t number = 0;        ///< which of the host's devices
  phase ph = phase::idle;
  bool first_done = false;    ///< the first connect opened or failed
  /// Newest notification id it has seen; starts at the host's latestId
  /// before the run (baseline.hpp), so it catches up from there even if
  /// its first socket never opened.
  uint64_t known = 0;
  bool got_hello = false;
  uint64_t hello_latest = 0;  ///< latestId in this session's hello
  uint64_t last_in_session = 0;
  uint32_t replayed = 0;      ///< this session's events up to hello_latest
  uint32_t generation = 0;    ///< bumped by every connect
  uint64_t known_at_connect = 0;  ///< `known` when this session began
  std::string etag;           ///< of the last count it polled
  uint64_t polled = 0;        ///< latestId of that count
  websocketpp::connection_hdl hdl;
  std::unique_ptr<asio::steady_timer> poll_timer;
  std::unique_ptr<asio::steady_timer> ack_timer;  ///< made on first use
  bool ack_timer_armed = false;
  std::deque<uint64_t> acks_waiting;
  std::deque<int64_t> acks_recent;  ///< when the last acks were sent
};

} // namespace

struct devices::impl {
  asio::io_context& io;
  const sim_config& cfg;
  std::string ws_base;  ///< "ws://host:port/ws"
  http_pool& rest;
  ledger& led;
  client_t cli;
  std::vector<device> devs;
  asio::steady_timer ramp_timer;
  std::size_t next_first = 0;   ///< the next device to connect first
  int64_t ramp_start = 0, ramp_us = 0;
  std::size_t first_pending = 0;
  bool stopping = false;

  impl(asio::io_context& io_, const sim_config& c, const url& ws,
       http_pool& r, ledger& l)
    : io(io_), cfg(c), rest(r), led(l), ramp_timer(io_) {
    ws_base = "ws://" + ws.authority() + (ws.path.empty() ? "/ws" : ws.path);
    cli.clear_access_channels(websocketpp::log::alevel::all);
    cli.clear_error_channels(websocketpp::log::elevel::all);
    cli.init_asio(&io);
    for (uint32_t h = 0; h < led.hosts.size(); ++h) {
      if (!led.hosts[h].online)
        continue;
      for (uint32_t n = 0; n < cfg.devices_per_host; ++n) {
        devs.emplace_back();
        auto& d = devs.back();
        d.host = h;
        d.number = n;
        d.poll_timer = std::make_unique<asio::steady_timer>(io);
      }
    }
    first_pending = devs.size();
  }

  // ------------------------------------------------------------ ramp

  void ramp_step() {
    auto now = now_us();
    while (!stopping && next_first < devs.size() && due(next_first) <= now)
      connect(next_first++);
    if (stopping || next_first >= devs.size())
      return;
    ramp_timer.expires_at(at_us(due(next_first)));
    ramp_timer.async_wait([this](boost::system::error_code ec) {
      if (!ec)
        ramp_step();
    });
  }

  int64_t due(std::size_t i) const {
    return ramp_start + static_cast<int64_t>(
             static_cast<double>(ramp_us) * static_cast<double>(i)
             / static_cast<double>(devs.size()));
  }

  void first_done(device& d) {
    if (!d.first_done) {
      d.first_done = true;
      --first_pending;
    }
  }

  // ------------------------------------------------------------ socket

  void connect(std::size_t i) {
    auto& d = devs[i];
    auto gen = ++d.generation;
    d.ph = phase::connecting;
    d.got_hello = false;
    d.hello_latest = 0;
    d.replayed = 0;
    d.known_at_connect = d.known;
    // With after=known the server sends only what is newer: an older id in
    // this session is a duplicate too.
    d.last_in_session = d.known;
    d.acks_waiting.clear();
    ++led.ws_connects;
    // Every socket catches up from `known`, the first one too (from the
    // host's count before the run): a booking committed between the 101
    // and the server's subscription is then replayed, not lost.
    auto uri = ws_base + "?access_token=" + led.hosts[d.host].token
               + "&after=" + std::to_string(d.known);
    websocketpp::lib::error_code ec;
    auto con = cli.get_connection(uri, ec);
    if (ec) {
      failed(i, "bad URL: " + ec.message());
      return;
    }
    con->set_open_handshake_timeout(cfg.timeout_ms);
    con->set_close_handshake_timeout(2000);
    con->set_open_handler([this, i, gen](websocketpp::connection_hdl) {
      if (devs[i].generation == gen)
        opened(i);
    });
    con->set_fail_handler([this, i, gen](websocketpp::connection_hdl h) {
      if (devs[i].generation != gen)
        return;
      auto c = cli.get_con_from_hdl(h);
      auto status = c ? static_cast<int>(c->get_response_code()) : 0;
      std::string why = status != 0
                          ? "HTTP " + std::to_string(status)
                          : (c ? c->get_ec().message() : "failed");
      failed(i, why);
    });
    con->set_close_handler([this, i, gen](websocketpp::connection_hdl h) {
      if (devs[i].generation != gen)
        return;
      auto c = cli.get_con_from_hdl(h);
      closed(i, c ? static_cast<int>(c->get_remote_close_code()) : 1006);
    });
    con->set_message_handler(
      [this, i, gen](websocketpp::connection_hdl, client_t::message_ptr m) {
        if (devs[i].generation == gen)
          message(i, m->get_payload());
      });
    d.hdl = con->get_handle();
    cli.connect(con);
  }

  void opened(std::size_t i) {
    auto& d = devs[i];
    first_done(d);
    d.ph = phase::open;
    ++led.ws_opened;
    ++led.open_sockets;
  }

  void failed(std::size_t i, const std::string& why) {
    auto& d = devs[i];
    first_done(d);
    ++led.ws_failed;
    ++led.ws_failures[why];
    // Like the page: fall back to polling, and try the socket again when
    // the count shows news.
    schedule_poll(i, cfg.poll_ms);
  }

  void closed(std::size_t i, int code) {
    auto& d = devs[i];
    if (d.ph == phase::open && led.open_sockets > 0)
      --led.open_sockets;
    d.acks_waiting.clear();
    if (stopping) {
      d.ph = phase::idle;
      return;
    }
    ++led.ws_closes[code];
    // The socket is gone. A session that brought something new (a cut
    // replay, live pushes) may have left more behind: poll at once. One
    // that brought nothing (dropped before its hello or replay) waits a
    // period, or a server that drops every session would be hammered.
    bool progressed = d.known > d.known_at_connect;
    schedule_poll(i, progressed ? 0 : cfg.poll_ms);
  }

  void message(std::size_t i, const std::string& text) {
    auto& d = devs[i];
    auto now = now_us();
    ++led.frames;
    auto j = json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("event") || !j["event"].is_string()) {
      ++led.error_events;
      led.socket_problem("host " + led.hosts[d.host].id
                         + " got a frame that is not an event: "
                         + text.substr(0, 200));
      return;
    }
    const auto& event = j["event"].get_ref<const std::string&>();
    const json* data = j.contains("data") ? &j["data"] : nullptr;
    if (event == "hello") {
      d.got_hello = true;
      if (data && data->is_object() && data->contains("latestId")
          && (*data)["latestId"].is_number_unsigned())
        d.hello_latest = (*data)["latestId"].get<uint64_t>();
      return;
    }
    if (event == "error") {
      ++led.error_events;
      led.socket_problem("host " + led.hosts[d.host].id + " got an error "
                         "event: " + text.substr(0, 200));
      return;
    }
    // A notification event has data.id; `read` and `pong` have none.
    if (!data || !data->is_object() || !data->contains("id")
        || !(*data)["id"].is_number_unsigned())
      return;
    auto id = (*data)["id"].get<uint64_t>();
    if (id <= d.last_in_session) {
      ++led.duplicate_frames;
      led.socket_problem("host " + led.hosts[d.host].id + " device "
                         + std::to_string(d.number) + ": notification "
                         + std::to_string(id) + " after "
                         + std::to_string(d.last_in_session)
                         + " in one session (an earlier frame or its "
                           "after=)");
    } else {
      d.last_in_session = id;
    }
    d.known = std::max(d.known, id);
    ack(i, id);
    catch_up_if_cut(i, id);
    if (event != "new_booking")
      return;
    // Booking k's room is "r-<k>": the roomId names the booking.
    auto inner = data->find("data");
    if (inner == data->end() || !inner->is_object())
      return;
    auto room = inner->find("roomId");
    if (room == inner->end() || !room->is_string())
      return;
    const auto& r = room->get_ref<const std::string&>();
    if (r.size() < 3 || r.compare(0, 2, "r-") != 0)
      return;
    uint64_t k = 0;
    for (std::size_t p = 2; p < r.size(); ++p) {
      if (r[p] < '0' || r[p] > '9')
        return;
      k = k * 10 + static_cast<uint64_t>(r[p] - '0');
    }
    bool live = d.got_hello && id > d.hello_latest;
    led.on_socket_event(k, d.host, id, now, live);
  }

  /// A replay that brought its 100 and stopped short of the hello's
  /// latestId left the rest out: the page would read it by REST; the
  /// device closes the socket instead, and its poll reconnects at once with
  /// `after=` the last one, so every booking still comes on a socket.
  void catch_up_if_cut(std::size_t i, uint64_t id) {
    auto& d = devs[i];
    if (!d.got_hello || id > d.hello_latest)
      return;
    if (++d.replayed < replay_limit || id >= d.hello_latest)
      return;
    websocketpp::lib::error_code ec;
    cli.close(d.hdl, websocketpp::close::status::normal, "catch up", ec);
  }

  // ------------------------------------------------------------ acks

  void ack(std::size_t i, uint64_t id) {
    auto& d = devs[i];
    d.acks_waiting.push_back(id);
    flush_acks(i);
    // First in, first out: while anything waits, this one (the last) does.
    if (!d.acks_waiting.empty())
      ++led.acks_deferred;
  }

  void flush_acks(std::size_t i) {
    auto& d = devs[i];
    if (d.ph != phase::open) {
      d.acks_waiting.clear();
      return;
    }
    auto now = now_us();
    while (!d.acks_recent.empty() && now - d.acks_recent.front() >= 1'000'000)
      d.acks_recent.pop_front();
    while (!d.acks_waiting.empty() && d.acks_recent.size() < acks_per_second) {
      auto text = R"({"op":"ack","id":)"
                  + std::to_string(d.acks_waiting.front()) + "}";
      websocketpp::lib::error_code ec;
      cli.send(d.hdl, text, websocketpp::frame::opcode::text, ec);
      d.acks_waiting.pop_front();
      d.acks_recent.push_back(now);
      ++led.acks;
    }
    if (d.acks_waiting.empty() || d.ack_timer_armed)
      return;
    if (!d.ack_timer)
      d.ack_timer = std::make_unique<asio::steady_timer>(io);
    d.ack_timer_armed = true;
    d.ack_timer->expires_at(at_us(d.acks_recent.front() + 1'001'000));
    d.ack_timer->async_wait([this, i](boost::system::error_code) {
      devs[i].ack_timer_armed = false;
      if (!stopping)
        flush_acks(i);
    });
  }

  // ------------------------------------------------------------ polling

  void schedule_poll(std::size_t i, uint32_t after_ms) {
    auto& d = devs[i];
    d.ph = phase::polling;
    if (stopping)
      return;
    if (after_ms == 0) {
      poll(i);
      return;
    }
    d.poll_timer->expires_after(std::chrono::milliseconds(after_ms));
    d.poll_timer->async_wait([this, i](boost::system::error_code ec) {
      if (!ec && !stopping)
        poll(i);
    });
  }

  void poll(std::size_t i) {
    auto& d = devs[i];
    http_request req;
    req.target = "/notifications/count";
    req.authorization = "Bearer " + led.hosts[d.host].token;
    req.if_none_match = d.etag;
    ++led.polls;
    auto gen = d.generation;
    rest.submit(std::move(req), [this, i, gen](http_result& r) {
      if (!stopping && devs[i].generation == gen)
        polled(i, r);
    });
  }

  void polled(std::size_t i, http_result& r) {
    auto& d = devs[i];
    led.on_reply(now_us(), r.status, r.error);
    if (r.status == 0) {
      ++led.poll_errors;
      schedule_poll(i, cfg.poll_ms);
      return;
    }
    if (r.status == 304) {
      // Nothing changed since the count it last read; that count may still
      // be ahead of the device (its reconnect failed, or a replay was cut).
      if (d.polled > d.known) {
        ++led.polls_news;
        connect(i);
      } else {
        ++led.polls_not_modified;
        schedule_poll(i, cfg.poll_ms);
      }
      return;
    }
    uint64_t latest = 0;
    auto j = json::parse(r.body, nullptr, false);
    if (r.status != 200 || !j.is_object() || !j.contains("latestId")
        || !j["latestId"].is_number_unsigned()) {
      ++led.poll_errors;
      schedule_poll(i, cfg.poll_ms);
      return;
    }
    latest = j["latestId"].get<uint64_t>();
    d.etag = r.etag;
    d.polled = latest;
    if (latest > d.known) {
      ++led.polls_news;
      connect(i);  // after=known: the server replays what it missed
    } else {
      ++led.polls_unchanged;
      schedule_poll(i, cfg.poll_ms);
    }
  }

  // ------------------------------------------------------------ stop

  void stop() {
    stopping = true;
    ramp_timer.cancel();
    for (auto& d : devs) {
      d.poll_timer->cancel();
      if (d.ack_timer)
        d.ack_timer->cancel();
      if (d.ph == phase::open) {
        websocketpp::lib::error_code ec;
        cli.close(d.hdl, websocketpp::close::status::normal, "done", ec);
      }
    }
  }
};

devices::devices(asio::io_context& io, const sim_config& cfg, const url& ws,
                 http_pool& rest, ledger& led)
  : d_(std::make_unique<impl>(io, cfg, ws, rest, led)) {}

devices::~devices() = default;

void devices::start(int64_t ramp_us) {
  for (auto& d : d_->devs)
    d.known = d_->led.hosts[d.host].synced_at;
  d_->ramp_start = now_us();
  d_->ramp_us = ramp_us;
  d_->ramp_step();
}

std::size_t devices::first_connects_pending() const {
  return d_->first_pending;
}

std::size_t devices::count() const {
  return d_->devs.size();
}

void devices::stop() {
  d_->stop();
}

} // namespace bellhop::sim
