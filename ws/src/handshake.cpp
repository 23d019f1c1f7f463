// The handshake decisions.
#include "handshake.hpp"

#include "bellhop/actors/domain.hpp"

#include <cctype>
#include <charconv>

namespace bellhop::ws {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0
               && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

handshake_result refuse(int status, std::string code, std::string message) {
  handshake_result r;
  r.status = status;
  r.code = std::move(code);
  r.message = std::move(message);
  return r;
}

} // namespace

std::string_view path_of(std::string_view resource) {
  return resource.substr(0, resource.find('?'));
}

std::map<std::string, std::string> query_of(std::string_view resource) {
  std::map<std::string, std::string> out;
  auto q = resource.find('?');
  if (q == std::string_view::npos)
    return out;
  auto rest = resource.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto part = rest.substr(0, amp);
    auto eq = part.find('=');
    auto key = url_decode(part.substr(0, eq));
    auto val = eq == std::string_view::npos ? std::string{}
                                            : url_decode(part.substr(eq + 1));
    if (!key.empty())
      out.emplace(std::move(key), std::move(val));
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
  }
  return out;
}

handshake_result check_handshake(const auth::jwt_verifier& jwt,
                                 std::string_view resource,
                                 std::string_view authorization) {
  auto query = query_of(resource);
  std::string token{auth::bearer_token(authorization)};
  if (token.empty()) {
    if (auto i = query.find("access_token"); i != query.end())
      token = i->second;
  }
  auto named = query.find("hostId");
  auto r = check_token(jwt, token,
                       named == query.end() ? nullptr : &named->second);
  if (r.status != 0)
    return r;
  if (auto a = query.find("after"); a != query.end()) {
    uint64_t v = 0;
    auto& s = a->second;
    auto [p, err] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || err != std::errc{} || p != s.data() + s.size())
      return refuse(400, "invalid_request", "after must be a notification id");
    r.has_after = true;
    r.after = v;
  }
  return r;
}

handshake_result check_token(const auth::jwt_verifier& jwt,
                             std::string_view token,
                             const std::string* named_host) {
  auto who = jwt.verify(token);
  if (!who)
    return refuse(401, "unauthorized", "a valid token is required");
  handshake_result r;
  if (who->role == auth::role::host) {
    // A host token's sub is its hostId (see http/src/route_checks.cpp).
    if (!valid_id(who->sub))
      return refuse(401, "unauthorized", "a valid token is required");
    if (named_host && *named_host != who->sub)
      return refuse(403, "forbidden", "a host may only join its own room");
    r.host_id = who->sub;
  } else if (who->role == auth::role::admin) {
    if (!named_host || !valid_id(*named_host))
      return refuse(400, "invalid_request",
                    "an admin must name a valid hostId");
    r.host_id = *named_host;
  } else {
    return refuse(403, "forbidden", "sockets are for hosts and admins");
  }
  r.who = std::move(*who);
  return r;
}

handshake_result check_socketio_upgrade(std::string_view resource) {
  auto query = query_of(resource);
  auto eio = query.find("EIO");
  if (eio == query.end() || eio->second != "4")
    return refuse(400, "invalid_request", "EIO=4 (Engine.IO v4) is required");
  auto transport = query.find("transport");
  if (transport == query.end() || transport->second != "websocket")
    return refuse(400, "invalid_request",
                  "only the websocket transport is supported");
  return {};
}

} // namespace bellhop::ws
