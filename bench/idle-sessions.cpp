// bench/idle-sessions.cpp — the load client of bench/idle-sessions: opens
// WebSocket sessions to a bellhop /ws endpoint at a given rate from a given
// source address, waits for each session's `hello`, then holds them idle
// (websocketpp answers the server's keep-alive pings with pongs). Prints a
// progress line every second and, on SIGTERM/SIGINT, a final line with the
// number of sessions holding, then exits 0.
//
//   idle-sessions --port WSPORT --source 127.0.0.2 --count 7000 --rate 500 \
//                 --secret S [--hosts 1000 --host-stride 3 --host-offset 1]
//
// While it runs, each line read on stdin ("N") sets a new target number of
// sessions: the client opens more to reach it (it never closes any to go
// down). EOF on stdin changes nothing.
//
// Tokens: HS256 with sub = "h<i>", role = "host", minted here with OpenSSL
// (one per host, cached). Session j of this client is for host
// (host_offset + j * host_stride) % hosts, so that clients started with the
// same stride and distinct offsets spread their sessions evenly.
//
// Output (stdout, one line each):
//   progress t=12.0 target=7000 started=7000 connecting=0 open=0 holding=7000
//            failed=0 closed=0 pings=7000 pinged=7000 other_frames=0 rss_mib=120.4
//   final t=... (the same fields)
//   reason N WHY            (one per distinct failure or close reason)
// `open` counts upgraded sockets still waiting for hello; `failed` refused
// or timed-out upgrades (first reasons also on stderr); `closed` sessions
// that the server (or the network) ended after they opened; `pings` the
// WebSocket pings received (each answered), `pinged` the sessions that got
// at least one; `other_frames` text frames other than a first hello.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <unordered_map>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

namespace {

namespace asio = websocketpp::lib::asio;
using steady = std::chrono::steady_clock;

// ------------------------------------------------------------ source address

/// The source address every new socket is bound to (process-wide: one
/// client process, one source address).
asio::ip::address g_source;

/// websocketpp's asio transport endpoint, with its connect step replaced by
/// one that binds the socket to g_source first. (A socket_init_handler
/// cannot do it: asio's range async_connect closes the socket before it
/// connects, which drops the binding. The URI is always an IP literal here,
/// so there is nothing to resolve.)
template <typename config>
class bound_endpoint : public websocketpp::transport::asio::endpoint<config> {
  using base = websocketpp::transport::asio::endpoint<config>;

public:
  typedef bound_endpoint<config> type;
  using typename base::transport_con_ptr;
  using typename base::transport_con_type;
  using connect_handler = websocketpp::transport::connect_handler;

protected:
  void async_connect(transport_con_ptr tcon, websocketpp::uri_ptr u,
                     connect_handler cb) {
    tcon->set_uri(u);
    auto& s = tcon->get_raw_socket();
    asio::error_code ec;
    asio::ip::tcp::endpoint to{asio::ip::make_address(u->get_host(), ec),
                               u->get_port()};
    if (!ec)
      s.open(to.protocol(), ec);
    if (!ec && !g_source.is_unspecified())
      s.bind(asio::ip::tcp::endpoint{g_source, 0}, ec);
    if (ec) {
      cb(transport_con_type::translate_ec(ec));
      return;
    }
    s.async_connect(to, [tcon, cb](const asio::error_code& e) {
      cb(e ? transport_con_type::translate_ec(e) : websocketpp::lib::error_code{});
    });
  }
};

/// The stock asio client config with a 1 KiB read buffer (server frames
/// here are a hello and pings) and the binding transport above.
struct client_config : websocketpp::config::asio_client {
  typedef client_config type;
  typedef websocketpp::config::asio_client base;
  typedef bound_endpoint<base::transport_config> transport_type;
  static const size_t connection_read_buffer_size = 1024;
};

using client_t = websocketpp::client<client_config>;
using hdl_t = websocketpp::connection_hdl;

// -------------------------------------------------------------------- tokens

std::string b64url(const unsigned char* p, std::size_t n) {
  static constexpr char tbl[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < n; i += 3) {
    uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += tbl[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = p[i] << 16;
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
  } else if (n - i == 2) {
    uint32_t v = (p[i] << 16) | (p[i + 1] << 8);
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
  }
  return out;
}

std::string b64url(const std::string& s) {
  return b64url(reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

/// An HS256 host token for `sub`, valid for a day.
std::string mint_token(const std::string& secret, const std::string& sub) {
  auto now = static_cast<long long>(std::time(nullptr));
  std::string header = b64url(R"({"alg":"HS256","typ":"JWT"})");
  std::string payload = b64url("{\"sub\":\"" + sub + "\",\"role\":\"host\",\"iat\":"
                               + std::to_string(now)
                               + ",\"exp\":" + std::to_string(now + 86400) + "}");
  std::string input = header + "." + payload;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + b64url(mac, len);
}

// --------------------------------------------------------------------- state

struct options {
  std::string server = "127.0.0.1";
  unsigned port = 0;
  std::string source;
  std::size_t count = 0;
  double rate = 500;
  std::size_t max_inflight = 256;
  std::string secret;
  std::size_t hosts = 1000;
  std::size_t host_stride = 1;
  std::size_t host_offset = 0;
  std::string host_prefix = "h";
  long handshake_timeout_ms = 30000;
  double progress_s = 1.0;
};

enum class cstate : uint8_t { connecting, open, holding, failed, closed };

struct load {
  options opt;
  client_t cli;
  std::vector<cstate> states;
  std::vector<hdl_t> hdls;  // kept so that the client can be told to close
  std::vector<uint8_t> pinged;  // got at least one ping
  std::unordered_map<std::size_t, std::string> tokens;
  std::size_t target = 0;
  std::size_t started = 0;
  std::size_t n_connecting = 0, n_open = 0, n_holding = 0, n_failed = 0,
              n_closed = 0, n_pings = 0, n_pinged = 0, n_other_frames = 0;
  std::map<std::string, std::size_t> fail_reasons;
  steady::time_point t0 = steady::now();
  steady::time_point rate_from = t0;   ///< start of the current ramp
  std::size_t rate_base = 0;           ///< `started` at rate_from
  // Made after cli.init_asio() (before it, the client has no io_context).
  std::unique_ptr<asio::steady_timer> tick, progress;
  std::unique_ptr<asio::signal_set> signals;

  void move(std::size_t id, cstate to) {
    auto& s = states[id];
    auto dec = [&](cstate c) {
      switch (c) {
      case cstate::connecting: --n_connecting; break;
      case cstate::open: --n_open; break;
      case cstate::holding: --n_holding; break;
      case cstate::failed: --n_failed; break;
      case cstate::closed: --n_closed; break;
      }
    };
    dec(s);
    s = to;
    switch (to) {
    case cstate::connecting: ++n_connecting; break;
    case cstate::open: ++n_open; break;
    case cstate::holding: ++n_holding; break;
    case cstate::failed: ++n_failed; break;
    case cstate::closed: ++n_closed; break;
    }
  }

  const std::string& token_for(std::size_t host) {
    auto i = tokens.find(host);
    if (i == tokens.end())
      i = tokens.emplace(host, mint_token(opt.secret, opt.host_prefix + std::to_string(host)))
            .first;
    return i->second;
  }

  void open_one() {
    std::size_t id = started++;
    states.push_back(cstate::connecting);
    ++n_connecting;
    hdls.emplace_back();
    pinged.push_back(0);
    std::size_t host = (opt.host_offset + id * opt.host_stride) % opt.hosts;
    std::string url = "ws://" + opt.server + ":" + std::to_string(opt.port) + "/ws";
    websocketpp::lib::error_code ec;
    auto con = cli.get_connection(url, ec);
    if (ec) {
      fail(id, "get_connection: " + ec.message());
      return;
    }
    con->append_header("Authorization", "Bearer " + token_for(host));
    con->set_open_handshake_timeout(opt.handshake_timeout_ms);
    con->set_close_handshake_timeout(2000);
    con->set_open_handler([this, id](hdl_t) {
      if (states[id] == cstate::connecting)
        move(id, cstate::open);
    });
    con->set_fail_handler([this, id](hdl_t h) {
      std::string why = "failed";
      if (auto c = cli.get_con_from_hdl(h)) {
        why = c->get_ec().message();
        if (auto code = c->get_response_code(); code != 0)
          why += " (HTTP " + std::to_string(static_cast<int>(code)) + ")";
      }
      fail(id, why);
    });
    con->set_close_handler([this, id](hdl_t h) {
      if (states[id] == cstate::closed || states[id] == cstate::failed)
        return;
      std::string why = "closed";
      if (auto c = cli.get_con_from_hdl(h))
        why = "closed " + std::to_string(c->get_remote_close_code()) + " "
              + c->get_remote_close_reason() + " / " + c->get_ec().message();
      ++fail_reasons[why];
      if (fail_reasons[why] <= 3)
        std::cerr << "idle-sessions: session " << id << " " << why << "\n";
      move(id, cstate::closed);
    });
    con->set_message_handler([this, id](hdl_t, client_t::message_ptr msg) {
      const auto& p = msg->get_payload();
      if (states[id] == cstate::open && p.rfind(R"({"event":"hello")", 0) == 0)
        move(id, cstate::holding);
      else
        ++n_other_frames;
    });
    con->set_ping_handler([this, id](hdl_t, std::string) {
      ++n_pings;
      if (!pinged[id]) {
        pinged[id] = 1;
        ++n_pinged;
      }
      return true;  // websocketpp answers with a pong
    });
    hdls.back() = con->get_handle();
    cli.connect(con);
  }

  void fail(std::size_t id, const std::string& why) {
    if (states[id] == cstate::failed || states[id] == cstate::closed)
      return;
    if (++fail_reasons[why] <= 3)
      std::cerr << "idle-sessions: session " << id << " failed: " << why << "\n";
    move(id, cstate::failed);
  }

  /// Opens sessions at `rate`/s since the last target change, at most
  /// max_inflight waiting for their hello at once.
  void on_tick() {
    auto now = steady::now();
    double secs = std::chrono::duration<double>(now - rate_from).count();
    auto due = rate_base + static_cast<std::size_t>(secs * opt.rate) + 1;
    due = std::min(due, target);
    while (started < due && n_connecting + n_open < opt.max_inflight)
      open_one();
    tick->expires_after(std::chrono::milliseconds(5));
    tick->async_wait([this](const asio::error_code& ec) {
      if (!ec)
        on_tick();
    });
  }

  void set_target(std::size_t n) {
    if (n <= target)
      return;
    target = n;
    rate_from = steady::now();
    rate_base = started;
  }

  static double rss_mib() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
      if (line.rfind("VmRSS:", 0) == 0)
        return std::atof(line.c_str() + 6) / 1024.0;
    return 0;
  }

  void print(const char* what) {
    double t = std::chrono::duration<double>(steady::now() - t0).count();
    std::printf("%s t=%.1f target=%zu started=%zu connecting=%zu open=%zu "
                "holding=%zu failed=%zu closed=%zu pings=%zu pinged=%zu "
                "other_frames=%zu rss_mib=%.1f\n",
                what, t, target, started, n_connecting, n_open, n_holding,
                n_failed, n_closed, n_pings, n_pinged, n_other_frames, rss_mib());
    std::fflush(stdout);
  }

  void on_progress() {
    print("progress");
    progress->expires_after(std::chrono::milliseconds(
      static_cast<long>(opt.progress_s * 1000)));
    progress->async_wait([this](const asio::error_code& ec) {
      if (!ec)
        on_progress();
    });
  }
};

void usage() {
  std::cerr
    << "usage: idle-sessions --port WSPORT --secret S [--server 127.0.0.1]\n"
       "         [--source ADDR] [--count N] [--rate PER_S] [--max-inflight N]\n"
       "         [--hosts N] [--host-stride K] [--host-offset K] [--host-prefix P]\n"
       "         [--handshake-timeout-ms MS] [--progress S]\n"
       "  Opens N sessions to ws://SERVER:WSPORT/ws from ADDR, holds them;\n"
       "  a line \"N\" on stdin raises the target. SIGTERM: prints final, exits.\n";
}

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      usage();
      std::exit(0);
    }
    if (i + 1 >= argc)
      return false;
    std::string v = argv[++i];
    try {
      if (a == "--server") o.server = v;
      else if (a == "--port") o.port = static_cast<unsigned>(std::stoul(v));
      else if (a == "--source") o.source = v;
      else if (a == "--count") o.count = std::stoul(v);
      else if (a == "--rate") o.rate = std::stod(v);
      else if (a == "--max-inflight") o.max_inflight = std::stoul(v);
      else if (a == "--secret") o.secret = v;
      else if (a == "--hosts") o.hosts = std::stoul(v);
      else if (a == "--host-stride") o.host_stride = std::stoul(v);
      else if (a == "--host-offset") o.host_offset = std::stoul(v);
      else if (a == "--host-prefix") o.host_prefix = v;
      else if (a == "--handshake-timeout-ms") o.handshake_timeout_ms = std::stol(v);
      else if (a == "--progress") o.progress_s = std::stod(v);
      else return false;
    } catch (const std::exception&) {
      return false;
    }
  }
  return o.port > 0 && o.port < 65536 && !o.secret.empty() && o.rate > 0
         && o.hosts > 0 && o.max_inflight > 0 && o.progress_s > 0;
}

} // namespace

int main(int argc, char** argv) {
  options opt;
  if (!parse(argc, argv, opt)) {
    usage();
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (!opt.source.empty()) {
    asio::error_code ec;
    g_source = asio::ip::make_address(opt.source, ec);
    if (ec) {
      std::cerr << "idle-sessions: bad --source " << opt.source << "\n";
      return 2;
    }
  }

  auto l = std::make_unique<load>();
  l->opt = opt;
  auto& cli = l->cli;
  cli.clear_access_channels(websocketpp::log::alevel::all);
  cli.clear_error_channels(websocketpp::log::elevel::all);
  cli.init_asio();
  cli.start_perpetual();
  auto& ioc = cli.get_io_service();
  l->tick = std::make_unique<asio::steady_timer>(ioc);
  l->progress = std::make_unique<asio::steady_timer>(ioc);
  l->signals = std::make_unique<asio::signal_set>(ioc, SIGTERM, SIGINT);
  l->states.reserve(opt.count);
  l->hdls.reserve(opt.count);
  l->set_target(opt.count);

  // Targets from stdin, read on their own thread and posted to Asio's.
  auto* lp = l.get();
  std::thread([lp] {
    std::string line;
    while (std::getline(std::cin, line)) {
      try {
        auto n = std::stoul(line);
        asio::post(lp->cli.get_io_service(), [lp, n] { lp->set_target(n); });
      } catch (const std::exception&) {
        std::cerr << "idle-sessions: ignoring stdin line: " << line << "\n";
      }
    }
  }).detach();

  l->signals->async_wait([&](const asio::error_code& ec, int) {
    if (ec)
      return;
    l->print("final");
    for (auto& [why, n] : l->fail_reasons)
      std::printf("reason %zu %s\n", n, why.c_str());
    std::fflush(stdout);
    // The kernel closes the sockets: no close handshakes to wait for.
    std::_Exit(0);
  });
  l->on_tick();
  l->on_progress();
  for (;;) {
    try {
      cli.run();
      break;
    } catch (const std::exception& e) {
      std::cerr << "idle-sessions: " << e.what() << "\n";
    }
  }
  return 0;
}
