// Demo mode: the secret, the demo hosts and their login links (demo.hpp).
#include "demo.hpp"

#include <iostream>
#include <random>
#include <string>

#include "bellhop/auth/jwt.hpp"
#include "options.hpp"

namespace bellhop::app {

namespace {

/// Host links stay valid for a month, so a tab left open keeps working.
constexpr int64_t demo_host_ttl_seconds = 30LL * 86400;

/// 32 random bytes as hex: the secret of a demo that was given none.
std::string random_secret() {
  std::random_device rd;
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 32; ++i) {
    auto byte = rd() & 0xff;
    s.push_back(digits[byte >> 4]);
    s.push_back(digits[byte & 0xf]);
  }
  return s;
}

/// The address a browser on this machine reaches the server at.
std::string url_host(const std::string& bind) {
  if (bind.empty() || bind == "0.0.0.0")
    return "127.0.0.1";
  if (bind == "::")
    return "[::1]";
  if (bind.find(':') != std::string::npos)
    return "[" + bind + "]";
  return bind;
}

} // namespace

void enable_demo(http::rest_config& rc) {
  if (!rc.jwt.issuer.empty() || !rc.jwt.audience.empty())
    throw usage_error("--demo tokens carry no iss or aud: leave out "
                      "--jwt-issuer and --jwt-audience");
  if (rc.jwt.secret.empty())
    rc.jwt.secret = random_secret();
  rc.demo = true;
  rc.demo_hosts = {"h-demo-1", "h-demo-2", "h-demo-3"};
}

void print_demo_links(const http::rest_config& rc, uint16_t http_port) {
  auto base = "http://" + url_host(rc.bind) + ":" + std::to_string(http_port);
  std::string people = "bellhop demo: open a host's page and the booking page "
                       "side by side:\n";
  for (const auto& host : rc.demo_hosts) {
    auto token = auth::sign_hs256(rc.jwt.secret, host, auth::role::host,
                                  demo_host_ttl_seconds);
    auto url = base + "/?token=" + token;
    std::cout << "{\"event\":\"demo\",\"host\":\"" << host << "\",\"url\":\""
              << url << "\"}\n";
    people += "  host " + host + ":  " + url + "\n";
  }
  std::cout << "{\"event\":\"demo\",\"page\":\"/demo\",\"url\":\"" << base
            << "/demo\"}" << std::endl;
  people += "  book a room as a guest:  " + base + "/demo\n";
  std::cerr << people << std::flush;
}

} // namespace bellhop::app
