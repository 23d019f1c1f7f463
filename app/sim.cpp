// `bellhop sim [options]`: the load simulator (sim/). Parses the options
// into a sim_config and runs it; see docs/simulator.md.
#include <cstdlib>
#include <iostream>
#include <limits>

#include "bellhop/sim/sim.hpp"
#include "commands.hpp"
#include "options.hpp"

namespace bellhop::app {

namespace {

const std::vector<option_spec>& sim_specs() {
  static const std::vector<option_spec> specs{
    {"http", true, false, "REST base URL (default http://127.0.0.1:8080)"},
    {"ws", true, false, "WebSocket URL (default ws://127.0.0.1:8081/ws)"},
    {"jwt-secret", true, false,
     "the server's HS256 secret (or $BELLHOP_JWT_SECRET)"},
    {"hosts", true, false,
     "hosts played; every one gets bookings (default 1000)"},
    {"online", true, false,
     "share of hosts with devices online, 0-1 (default 1)"},
    {"devices-per-host", true, false, "sockets per online host (default 1)"},
    {"rate", true, false, "bookings per second, open loop (default 500)"},
    {"duration", true, false, "seconds of booking (default 10)"},
    {"guests", true, false,
     "distinct guests booking, each with its own token (default 10000)"},
    {"book-as-service", false, false,
     "book with one service token (needs the server's --rate-limit 0)"},
    {"poll-ms", true, false,
     "count polling period of a device without a socket (default 5000)"},
    {"ramp-ms", true, false,
     "spread the first connects over this (default 1000)"},
    {"drain-ms", true, false,
     "wait this long at most for late deliveries (default 8000)"},
    {"timeout-ms", true, false,
     "one HTTP request or handshake (default 10000)"},
    {"give-up-ms", true, false,
     "abort when the server answers nothing this long (default 3000)"},
    {"connections", true, false,
     "keep-alive connections for bookings (default 256)"},
    {"host-connections", true, false,
     "keep-alive connections for polls and the check (default 32)"},
    {"no-verify", false, false,
     "skip the end-of-run check (a target that is not bellhop)"},
    {"seed", true, false,
     "seed of the host chosen for each booking (default 1)"},
    {"run-id", true, false, "hostIds are s<run-id>-h<N> (default: random)"},
    {"json", true, false, "write every figure to this JSON file"},
    {"report", true, false, "write a self-contained HTML report to this file"},
    {"progress", true, false, "tty (in place), plain or auto (default auto)"},
    {"help", false, false, "this text"},
  };
  return specs;
}

uint32_t u32(const options& o, const char* name, int64_t fallback, int64_t lo,
             int64_t hi) {
  return static_cast<uint32_t>(o.integer(name, fallback, lo, hi));
}

} // namespace

int sim_command(int argc, char** argv) {
  try {
    options opts{sim_specs(), argc, argv, 2};
    if (opts.flag("help")) {
      std::cout << "usage: bellhop sim --jwt-secret S [options]\n\n"
                   "Plays hosts whose devices hold short-lived sockets and "
                   "guests booking at a\nfixed rate against a running "
                   "server; prints latency percentiles and checks\nthat no "
                   "accepted booking was lost. Exit 0 when nothing was lost "
                   "or\nduplicated, 1 otherwise, 2 on a usage error.\n\n"
                << options::help_text(sim_specs());
      return 0;
    }
    sim::sim_config c;
    c.http_url = opts.str("http", c.http_url);
    c.ws_url = opts.str("ws", c.ws_url);
    const char* env = std::getenv("BELLHOP_JWT_SECRET");
    c.jwt_secret = opts.str("jwt-secret", env != nullptr ? env : "");
    if (c.jwt_secret.empty())
      throw usage_error("give --jwt-secret or set BELLHOP_JWT_SECRET");
    c.hosts = u32(opts, "hosts", c.hosts, 1, 1'000'000);
    c.online = opts.number("online", c.online);
    if (c.online > 1)
      throw usage_error("--online is a share from 0 to 1");
    c.devices_per_host = u32(opts, "devices-per-host", 1, 1, 1000);
    c.rate = opts.number("rate", c.rate);
    if (c.rate <= 0)
      throw usage_error("--rate must be above 0");
    c.duration_s = opts.number("duration", c.duration_s);
    if (c.duration_s <= 0 || c.rate * c.duration_s > 100'000'000)
      throw usage_error("--duration must be above 0 (and rate x duration "
                        "at most 100 million)");
    if (sim::planned_bookings(c) == 0)
      throw usage_error("--rate x --duration plans no booking");
    c.guests = u32(opts, "guests", c.guests, 1, 10'000'000);
    c.book_as_service = opts.flag("book-as-service");
    c.poll_ms = u32(opts, "poll-ms", c.poll_ms, 10, 3'600'000);
    c.ramp_ms = u32(opts, "ramp-ms", c.ramp_ms, 0, 3'600'000);
    c.drain_ms = u32(opts, "drain-ms", c.drain_ms, 0, 3'600'000);
    c.timeout_ms = u32(opts, "timeout-ms", c.timeout_ms, 10, 3'600'000);
    c.give_up_ms = u32(opts, "give-up-ms", c.give_up_ms, 100, 3'600'000);
    c.connections = u32(opts, "connections", c.connections, 1, 100'000);
    c.host_connections =
      u32(opts, "host-connections", c.host_connections, 1, 100'000);
    c.verify = !opts.flag("no-verify");
    c.seed = static_cast<uint64_t>(
      opts.integer("seed", 1, 0, std::numeric_limits<int64_t>::max()));
    c.run_id = opts.str("run-id", "");
    if (c.run_id.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
          != std::string::npos
        || c.run_id.size() > 40)
      throw usage_error("--run-id: at most 40 letters and digits");
    c.json_path = opts.str("json", "");
    c.report_path = opts.str("report", "");
    auto p = opts.str("progress", "auto");
    if (p == "tty")
      c.progress = 1;
    else if (p == "plain")
      c.progress = 0;
    else if (p != "auto")
      throw usage_error("--progress is tty, plain or auto");
    return sim::run_sim(c);
  } catch (const usage_error& e) {
    std::cerr << "bellhop sim: " << e.what() << "\n";
    return 2;
  }
}

} // namespace bellhop::app
