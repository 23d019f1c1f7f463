// Cross-origin requests (see cors.hpp).
#include "cors.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace bellhop::http {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

/// `scheme://host[:port]` lower-cased, a scheme's default port left out
/// (as browsers write an Origin); throws for anything else.
std::string origin_of(std::string_view text) {
  std::string o(text);
  std::transform(o.begin(), o.end(), o.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  auto fail = [&](const char* why) {
    throw std::invalid_argument("--cors-origins: \"" + std::string(text)
                                + "\" " + why);
  };
  std::string_view rest;
  if (o.rfind("https://", 0) == 0)
    rest = std::string_view{o}.substr(8);
  else if (o.rfind("http://", 0) == 0)
    rest = std::string_view{o}.substr(7);
  else
    fail("is not an origin: it must begin with http:// or https://");
  if (rest.empty())
    fail("has no host");
  for (char c : rest)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'
          || c == ':' || c == '[' || c == ']'))
      fail("is not an origin: scheme://host[:port], no path");
  auto default_port = o.rfind("https://", 0) == 0 ? ":443" : ":80";
  auto n = std::string_view{default_port}.size();
  if (o.size() > n && o.compare(o.size() - n, n, default_port) == 0)
    o.erase(o.size() - n);
  return o;
}

// Headers the API reads, and those of its answers a script may read.
constexpr const char* allow_methods = "GET, HEAD, POST, PUT";
constexpr const char* allow_headers =
  "Authorization, Content-Type, Idempotency-Key, If-None-Match";
constexpr const char* expose_headers = "ETag, Location, Retry-After";

} // namespace

std::vector<std::string> parse_cors_origins(std::string_view list) {
  std::vector<std::string> out;
  while (true) {
    auto comma = list.find(',');
    auto item = trim(list.substr(0, comma));
    if (item.empty())
      throw std::invalid_argument("--cors-origins: an empty origin in the "
                                  "list");
    out.push_back(item == "*" ? std::string{"*"} : origin_of(item));
    if (comma == std::string_view::npos)
      break;
    list.remove_prefix(comma + 1);
  }
  if (out.size() > 1 && std::count(out.begin(), out.end(), "*") > 0)
    throw std::invalid_argument("--cors-origins: \"*\" stands alone");
  return out;
}

bool add_cors_headers(const std::vector<std::string>& allowed,
                      const Request& req) {
  if (allowed.empty())
    return false;
  bool any = allowed.front() == "*";
  auto origin_header = req.headers().tryGetRaw("Origin");
  // Raw::value() returns a copy: keep it.
  const std::string origin = origin_header ? origin_header->value() : "";
  bool ok = !origin.empty()
            && (any || std::find(allowed.begin(), allowed.end(), origin)
                         != allowed.end());
  // With a list, the answer depends on the Origin: caches must know.
  if (!any)
    add_header("Vary", "Origin");
  if (ok) {
    add_header("Access-Control-Allow-Origin",
               any ? std::string_view{"*"} : origin);
    add_header("Access-Control-Expose-Headers", expose_headers);
  }
  return ok;
}

bool apply_cors(const std::vector<std::string>& allowed, const Request& req,
                ResponseWriter& w) {
  if (allowed.empty())
    return false;
  bool ok = add_cors_headers(allowed, req);
  if (req.method() != Pistache::Http::Method::Options)
    return false;
  auto origin_header = req.headers().tryGetRaw("Origin");
  bool preflight = origin_header && !origin_header->value().empty()
                   && req.headers().tryGetRaw("Access-Control-Request-Method");
  if (!preflight)
    return false;
  if (auto* ex = current_exchange())
    ex->route = telemetry::route::preflight;
  if (!ok) {
    send_error(w, 403, "forbidden", "this origin may not call the API");
    return true;
  }
  add_header(w, "Access-Control-Allow-Methods", allow_methods);
  add_header(w, "Access-Control-Allow-Headers", allow_headers);
  add_header(w, "Access-Control-Max-Age", "600");
  send_status(w, 204);
  return true;
}

} // namespace bellhop::http
