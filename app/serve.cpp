// `bellhop serve`: opens the store, starts the actor system, the router and
// the REST server, prints the listening line, and runs until SIGINT or
// SIGTERM. Threads: the CAF scheduler's workers, Pistache's reactors, and
// the storage writer, and the WebSocket gateway's Asio thread; the main
// thread only waits for a signal. `--demo` adds the demo hosts and the
// /demo page (demo.hpp).
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <arpa/inet.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <curl/curl.h>

#include "bellhop/actors/core.hpp"
#include "bellhop/auth/jwt.hpp"
#include "bellhop/http/rest_server.hpp"
#include "bellhop/storage/store.hpp"
#include "bellhop/telemetry/log.hpp"
#include "bellhop/telemetry/metrics.hpp"
#include "bellhop/ws/gateway.hpp"
#include "commands.hpp"
#include "demo.hpp"
#include "options.hpp"
#include "smtp_options.hpp"

namespace bellhop::app {

namespace {

const std::vector<option_spec>& serve_specs() {
  static const std::vector<option_spec> specs{
    {"config", true, false, "a TOML file of these options (names without --)"},
    {"bind", true, false, "address to listen on (default 127.0.0.1)"},
    {"http-port", true, false, "REST port (default 8080, 0: any free port)"},
    {"ws-port", true, false, "WebSocket port (default 8081, 0: any free port)"},
    {"ws-ttl-ms", true, false, "close each socket after this long (default 3000, 0: never)"},
    {"ws-close-on-delivery", false, false, "close a socket after its first acked notification"},
    {"max-sessions-per-host", true, false, "live sockets per host (default 16)"},
    {"session-rate-limit", true, false, "new sockets/s per principal and host (default 10, 0: off)"},
    {"max-connections", true, false, "open WebSocket connections in all (default: the open-file limit less 256, at least 64)"},
    {"data-dir", true, false, "LMDB directory (default ./data)"},
    {"map-size", true, false, "largest size of the store (default 1G)"},
    {"jwt-secret", true, false, "HS256 secret (or $BELLHOP_JWT_SECRET)"},
    {"jwt-public-key", true, false, "PEM public key file for RS256/ES256"},
    {"jwt-alg", true, false, "RS256 or ES256 with --jwt-public-key (default RS256)"},
    {"jwt-issuer", true, false, "required iss claim"},
    {"jwt-audience", true, false, "required aud claim"},
    {"rate-limit", true, false, "REST requests/s per principal (default 50, 0: off)"},
    {"booking-rate-limit", true, false, "bookings/s per guest (default 10, 0: off)"},
    {"http-threads", true, false, "Pistache reactor threads (default 1)"},
    {"actor-threads", true, false, "CAF scheduler threads (default: one per CPU the process may use)"},
    {"host-idle-ms", true, false, "stop an idle host actor after this long (default 60000)"},
    {"ack-timeout-ms", true, false, "time a live device has to ack before email (default 2000)"},
    {"retention", true, false, "delete notifications read longer ago than this, and audit entries older than it, e.g. 90d (default 0: keep all)"},
    {"smtp-url", true, false, "SMTP server for email, e.g. smtp://127.0.0.1:2525 (default: no email)"},
    {"smtp-from", true, false, "sender: an address, or Name <address> (default bellhop@localhost)"},
    {"smtp-user", true, false, "SMTP user name"},
    {"smtp-password", true, false, "SMTP password"},
    {"smtp-starttls", false, false, "require STARTTLS"},
    {"smtp-connections", true, false, "emails sent at once, one host's in order (default 4)"},
    {"cors-origins", true, false, "origins whose pages may call the REST API, comma-separated, or * (default: none)"},
    {"public-url", true, false, "the page's address, linked in emails (default http://BIND:HTTP-PORT/, this host's name for BIND 0.0.0.0 or ::)"},
    {"log-format", true, false, "text or json (default text)"},
    {"log-level", true, false, "debug, info, warn or error (default info)"},
    {"demo", false, false, "demo mode: generated secret, demo host links, /demo booking page"},
    {"help", false, false, "this text"},
  };
  return specs;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    throw usage_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// An IPv4 or IPv6 address (IPv6 without brackets) in its canonical text
/// form ("::0" is "::"), so that the checks for "any address" below see
/// every spelling of it; nullopt for anything else.
std::optional<std::string> ip_address(const std::string& text) {
  unsigned char buf[sizeof(in6_addr)];
  char out[INET6_ADDRSTRLEN] = {0};
  for (int family : {AF_INET, AF_INET6})
    if (inet_pton(family, text.c_str(), buf) == 1
        && inet_ntop(family, buf, out, sizeof out) != nullptr)
      return std::string{out};
  return std::nullopt;
}

http::rest_config rest_config_from(const options& opts) {
  http::rest_config rc;
  auto bind = ip_address(opts.str("bind", "127.0.0.1"));
  if (!bind)
    throw usage_error("--bind must be an IPv4 or IPv6 address, such as "
                      "127.0.0.1, 0.0.0.0, ::1 or :: (not a name)");
  rc.bind = *bind;
  rc.port = static_cast<uint16_t>(opts.integer("http-port", 8080, 0, 65535));
  rc.threads = static_cast<int>(opts.integer("http-threads", 1, 1, 64));
  rc.rate_limit = opts.number("rate-limit", 50);
  rc.booking_rate_limit = opts.number("booking-rate-limit", 10);
  rc.jwt.secret = opts.str("jwt-secret", "");
  // --jwt-alg names the key's algorithm: alone it would be ignored.
  if (opts.has("jwt-alg") && !opts.has("jwt-public-key"))
    throw usage_error("--jwt-alg goes with --jwt-public-key (a secret is "
                      "always HS256)");
  if (opts.has("jwt-public-key")) {
    rc.jwt.public_key_pem = read_file(opts.str("jwt-public-key", ""));
    rc.jwt.alg = opts.str("jwt-alg", "RS256");
    if (rc.jwt.alg != "RS256" && rc.jwt.alg != "ES256")
      throw usage_error("--jwt-alg must be RS256 or ES256");
    if (auto problem = auth::public_key_problem(rc.jwt.public_key_pem, rc.jwt.alg);
        !problem.empty())
      throw usage_error("--jwt-public-key " + opts.str("jwt-public-key", "")
                        + ": " + problem + " (--jwt-alg " + rc.jwt.alg + ")");
    rc.jwt.secret.clear();  // from the environment: unused with a key
  } else if (rc.jwt.secret.empty() && !opts.flag("demo")) {
    throw usage_error("give --jwt-secret (or set BELLHOP_JWT_SECRET) or "
                      "--jwt-public-key");
  }
  if (opts.has("cors-origins")) {
    try {
      rc.cors_origins = http::parse_cors_origins(opts.str("cors-origins", ""));
    } catch (const std::invalid_argument& e) {
      throw usage_error(e.what());
    }
  }
  rc.jwt.issuer = opts.str("jwt-issuer", "");
  rc.jwt.audience = opts.str("jwt-audience", "");
  return rc;
}

/// The page's address for emails when --public-url is not given. An address
/// that listens everywhere (0.0.0.0, ::) reaches nobody in a link: this
/// machine's host name stands in for it, with a warning to set the flag.
std::string default_public_url(const std::string& bind, uint16_t port) {
  std::string host = bind;
  if (bind == "0.0.0.0" || bind == "::" || bind.empty()) {
    char name[256] = {};
    host = gethostname(name, sizeof name - 1) == 0 && name[0] != '\0'
             ? name : "localhost";
    telemetry::log(telemetry::level::warn, "emails link to this host's name",
                   {{"host", std::string_view{host}},
                    {"hint", std::string_view{"set --public-url to the page's address"}}});
  } else if (bind.find(':') != std::string::npos) {
    host = "[" + bind + "]";  // an IPv6 literal in a URL
  }
  return "http://" + host + ":" + std::to_string(port) + "/";
}

/// Raises the soft limit on open files to the hard one: every socket is a
/// file, and the default soft limit (1024) is far below what a gateway holds.
void raise_file_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

/// The open-file limit (after raise_file_limit), or 0 when there is none.
std::size_t open_file_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY)
    return 0;
  return static_cast<std::size_t>(lim.rlim_cur);
}

/// The files left for connections once both ports listen (telemetry::
/// connection_files_left): the open-file limit less what is open now (the
/// store, listeners, reactors), less four per email connection (curl's
/// socket, the wake-up pair it makes for each send, a second address tried
/// at once) and a margin for what comes and goes: sockets accepted and not
/// yet counted (a burst waits in Pistache's queue from its listener to the
/// reactor, up to its backlog of 128), refused ones not yet closed, the
/// resolver's sockets, an answer passed from an actor to the slow writer.
void set_connection_files(unsigned email_connections) {
  auto limit = static_cast<int64_t>(open_file_limit());
  if (limit == 0)
    return;
  int64_t open_now = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator i{"/proc/self/fd", ec}, end;
       !ec && i != end; i.increment(ec))
    ++open_now;
  constexpr int64_t margin = 160;
  auto left = limit - open_now - 4 * static_cast<int64_t>(email_connections)
              - margin;
  telemetry::metrics().connection_files.set(std::max<int64_t>(left, 2));
}

/// Open files left for sockets after the store, the listeners and REST
/// connections: the open-file limit less 256 (at least 64).
int64_t default_max_connections() {
  auto files = open_file_limit();
  if (files == 0)
    return 100'000;
  return std::max<int64_t>(64, static_cast<int64_t>(files) - 256);
}

/// One CAF worker per CPU this process may run on (its affinity mask, so
/// `taskset -c 0` gives 1): more workers than CPUs only add context switches
/// and idle polling to every hop of a request.
int64_t default_actor_threads() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0)
    return 2;
  return std::clamp<int64_t>(CPU_COUNT(&set), 1, 64);
}

/// Publishes the store's use as metrics, and warns once at each of 80, 90
/// and 95 % of --map-size (past 100 % writes get 503). Called once before the
/// writer starts, then on the writer thread after every commit.
void watch_space(const storage::store& st) {
  static std::atomic<int> steps_passed{0};
  constexpr int steps[] = {80, 90, 95};
  auto use = st.space();
  auto& m = telemetry::metrics();
  m.storage_used_bytes.set(static_cast<int64_t>(use.used_bytes));
  m.storage_map_bytes.set(static_cast<int64_t>(use.map_bytes));
  if (use.map_bytes == 0)
    return;
  auto percent = 100.0 * static_cast<double>(use.used_bytes)
                 / static_cast<double>(use.map_bytes);
  for (int i = steps_passed.load(); i < 3 && percent >= steps[i]; ++i) {
    steps_passed.store(i + 1);
    telemetry::log(telemetry::level::warn, "the store is filling up",
                   {{"percent", static_cast<int64_t>(steps[i])},
                    {"used_bytes", static_cast<int64_t>(use.used_bytes)},
                    {"map_bytes", static_cast<int64_t>(use.map_bytes)},
                    {"hint", std::string_view{"raise --map-size; when full, writes get 503"}}});
  }
}

/// Blocks SIGINT, SIGTERM and SIGHUP in this thread and in every thread
/// started after it, so that only sigwait sees them. SIGHUP (the terminal
/// of `make run` closed) stops the server as SIGTERM does, cleanly — unless
/// it was ignored when the server started (`nohup`): a blocked signal is
/// queued for sigwait even when ignored, so it is left out.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  struct sigaction hup {};
  if (sigaction(SIGHUP, nullptr, &hup) == 0 && hup.sa_handler != SIG_IGN)
    sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

} // namespace

int serve_command(int argc, char** argv) {
  auto signals = block_stop_signals();
  std::signal(SIGPIPE, SIG_IGN);
  raise_file_limit();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  try {
    options opts{serve_specs(), argc, argv, 2};
    if (opts.flag("help")) {
      std::cout << "usage: bellhop serve [options]\n"
                << options::help_text(serve_specs());
      return 0;
    }
    // Secrets given as flags: before the environment and the file fill in.
    std::string secret_flags;
    for (const char* name : {"jwt-secret", "smtp-password"})
      if (opts.has(name))
        secret_flags += (secret_flags.empty() ? "--" : ", --") + std::string{name};
    bool secret_from_env
      = opts.take_from_environment("jwt-secret", "BELLHOP_JWT_SECRET");
    opts.load_config_file();
    // Tokens are checked with one algorithm (§2): a secret given along with
    // a public key would be silently unused.
    if (opts.flag("demo") && opts.has("jwt-public-key"))
      throw usage_error("--demo signs its own HS256 tokens: give --jwt-secret "
                        "or nothing, not --jwt-public-key");
    if (opts.has("jwt-public-key") && opts.has("jwt-secret") && !secret_from_env)
      throw usage_error("--jwt-secret and --jwt-public-key exclude each other: "
                        "tokens are checked with one algorithm");
    auto log_format = opts.str("log-format", "text");
    telemetry::level log_level = telemetry::level::info;
    if ((log_format != "text" && log_format != "json")
        || !telemetry::parse_level(opts.str("log-level", "info"), log_level))
      throw usage_error("--log-format is text or json; --log-level is debug, "
                        "info, warn or error");
    telemetry::configure_log(log_format == "json", log_level);
    // A process's arguments are readable by every local user (ps).
    if (!secret_flags.empty())
      telemetry::log(telemetry::level::warn,
                     "a secret on the command line can be read by every "
                     "local user in the process list: give secrets in a "
                     "--config file of mode 0600 (the JWT secret also in "
                     "BELLHOP_JWT_SECRET)",
                     {{"flags", std::string_view{secret_flags}}});
    auto rest_cfg = rest_config_from(opts);
    // RFC 7518 §3.2: an HS256 key has at least 256 bits. A shorter one is
    // served (the contract's own examples are short) but named: a token
    // captured once lets anyone guess it offline and sign as admin.
    if (!rest_cfg.jwt.secret.empty() && rest_cfg.jwt.secret.size() < 32)
      telemetry::log(telemetry::level::warn,
                     "the HS256 secret is shorter than 32 bytes: tokens "
                     "signed with it can be forged by guessing it (use "
                     "e.g. `openssl rand -hex 32`)",
                     {{"bytes", static_cast<int64_t>(rest_cfg.jwt.secret.size())}});
    if (opts.flag("demo"))
      enable_demo(rest_cfg);  // before ws_cfg copies the JWT settings
    storage::options sopts;
    sopts.dir = opts.str("data-dir", "./data");
    sopts.map_size = opts.size("map-size", sopts.map_size);
    // Less cannot hold the tables and a booking: the store would start
    // full (MDB_MAP_FULL at the first write).
    if (sopts.map_size < (1u << 20))
      throw usage_error("--map-size must be at least 1M");
    core_config core;
    core.host_idle_timeout = std::chrono::milliseconds(
      opts.integer("host-idle-ms", 60'000, 1, 86'400'000));
    auto actor_threads = opts.integer("actor-threads", default_actor_threads(), 1, 64);
    core.ack_timeout = std::chrono::milliseconds(
      opts.integer("ack-timeout-ms", 2000, 0, 3'600'000));
    core.retention = opts.duration("retention", std::chrono::milliseconds(0));
    auto smtp = smtp_config_from(opts);
    ws::gateway_config ws_cfg;
    ws_cfg.bind = rest_cfg.bind;
    ws_cfg.port = static_cast<uint16_t>(opts.integer("ws-port", 8081, 0, 65535));
    ws_cfg.ttl_ms = static_cast<uint32_t>(
      opts.integer("ws-ttl-ms", 3000, 0, 86'400'000));
    ws_cfg.close_on_delivery = opts.flag("ws-close-on-delivery");
    ws_cfg.max_connections = static_cast<std::size_t>(opts.integer(
      "max-connections", default_max_connections(), 1, 10'000'000));
    if (opts.has("max-connections")
        && static_cast<int64_t>(ws_cfg.max_connections) > default_max_connections())
      telemetry::log(telemetry::level::warn,
                     "--max-connections is more than the open-file limit "
                     "leaves for sockets: past that, new sockets and REST "
                     "connections are refused for want of files",
                     {{"max_connections", static_cast<int64_t>(ws_cfg.max_connections)},
                      {"open_file_limit", static_cast<int64_t>(open_file_limit())}});
    ws_cfg.max_sessions_per_host = static_cast<std::size_t>(
      opts.integer("max-sessions-per-host", 16, 1, 100'000));
    ws_cfg.new_sessions_per_second = opts.number("session-rate-limit", 10);
    ws_cfg.jwt = rest_cfg.jwt;

    std::unique_ptr<storage::store> st;
    try {
      st = std::make_unique<storage::store>(sopts);
    } catch (const std::exception& e) {
      std::cerr << "bellhop serve: " << e.what() << "\n";
      return 1;
    }
    watch_space(*st);
    st->on_commit([store = st.get()](std::chrono::nanoseconds took, std::size_t) {
      telemetry::metrics().storage_commit_seconds.observe(
        std::chrono::duration<double>(took).count());
      watch_space(*store);
    });
    st->start_writer();

    caf::actor_system_config cfg;
    add_message_types(cfg);
    cfg.set("scheduler.max-threads", static_cast<size_t>(actor_threads));
    caf::actor_system sys{cfg};
    if (!smtp.url.empty())
      core.mailer = spawn_mailer(sys, *st, smtp);
    auto router = spawn_router(sys, *st, core);

    http::rest_server rest{sys, router, *st, rest_cfg};
    ws::gateway gateway{sys, router, ws_cfg};
    std::string opening;  // the port being opened, for the error
    try {
      // The gateway first: the web page learns its port from /config.json.
      opening = "WebSocket port " + std::to_string(ws_cfg.port);
      gateway.start();
      rest.set_ws_port(gateway.port());
      opening = "REST port " + std::to_string(rest_cfg.port);
      rest.start();
      set_connection_files(smtp.url.empty() ? 0 : smtp.connections);
    } catch (const std::exception& e) {
      std::cerr << "bellhop serve: cannot listen on " << rest_cfg.bind
                << ", " << opening << ": " << e.what() << "\n";
      gateway.shutdown();
      rest.shutdown();
      caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
      if (core.mailer)
        caf::anon_send_exit(core.mailer, caf::exit_reason::user_shutdown);
      core.mailer = mailer_actor{};
      sys.await_all_actors_done();
      return 1;
    }
    if (core.mailer) {
      // The default only when none is given: making it warns for 0.0.0.0.
      auto url = opts.has("public-url")
                   ? opts.str("public-url", "")
                   : default_public_url(rest_cfg.bind, rest.port());
      caf::anon_send(core.mailer, mailer_page_url{url});
      resume_email(*st, router, core.mailer);
    }
    std::cout << "{\"event\":\"listening\",\"http\":" << rest.port()
              << ",\"ws\":" << gateway.port() << ",\"cluster\":null}"
              << std::endl;
    if (rest_cfg.demo)
      print_demo_links(rest_cfg, rest.port());

    int sig = 0;
    sigwait(&signals, &sig);
    telemetry::log(telemetry::level::info, "stopping",
                   {{"signal", int64_t{sig}}});
    rest.stop_accepting();  // new requests get 503 from here on
    gateway.shutdown();     // sockets close with 1001
    rest.drain(std::chrono::seconds(5));
    rest.shutdown();
    caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
    // Emails not sent yet stay in the outbox; the next start resumes them.
    // The handle is dropped too: a detached actor's thread ends only when
    // the last reference to the actor is gone.
    if (core.mailer) {
      abort_email_sends();
      caf::anon_send_exit(core.mailer, caf::exit_reason::user_shutdown);
    }
    core.mailer = mailer_actor{};
    sys.await_all_actors_done();
    st->stop_writer();
    return 0;
  } catch (const usage_error& e) {
    std::cerr << "bellhop serve: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "bellhop serve: " << e.what() << "\n";
    return 1;
  }
}

} // namespace bellhop::app
