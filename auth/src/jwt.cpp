// JWT verification and signing with libjwt.
#include "bellhop/auth/jwt.hpp"

#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <unordered_map>

#include <jwt.h>

namespace bellhop::auth {

namespace {

int64_t now_seconds() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

struct jwt_deleter {
  void operator()(jwt_t* p) const {
    jwt_free(p);
  }
};
using jwt_ptr = std::unique_ptr<jwt_t, jwt_deleter>;

std::optional<principal> fail(std::string* why, const char* reason) {
  if (why != nullptr)
    *why = reason;
  return std::nullopt;
}

/// The claim `name` as a string (nullopt when absent or not a string).
std::optional<std::string> string_claim(jwt_t* jwt, const char* name) {
  errno = 0;
  const char* v = jwt_get_grant(jwt, name);
  if (v == nullptr)
    return std::nullopt;
  return std::string{v};
}

/// The claim `name` as an integer (nullopt when absent or not a number).
std::optional<int64_t> int_claim(jwt_t* jwt, const char* name) {
  errno = 0;
  long v = jwt_get_grant_int(jwt, name);
  if (errno != 0)
    return std::nullopt;
  return v;
}

/// now is past exp + leeway (written so that no exp, however large,
/// overflows).
bool expired(int64_t exp, int64_t now, int64_t leeway) {
  return now - leeway > exp;
}

/// Per-thread cache of verified tokens: bounded, cleared when full.
constexpr std::size_t cache_capacity = 4096;
thread_local std::unordered_map<std::string, principal> verified_cache;
thread_local const void* verified_cache_owner = nullptr;

} // namespace

std::optional<role> parse_role(std::string_view s) {
  if (s == "host") return role::host;
  if (s == "guest") return role::guest;
  if (s == "service") return role::service;
  if (s == "admin") return role::admin;
  return std::nullopt;
}

std::string_view to_string(role r) {
  switch (r) {
    case role::host: return "host";
    case role::guest: return "guest";
    case role::service: return "service";
    case role::admin: return "admin";
  }
  return "guest";
}

std::string principal::key() const {
  std::string k{to_string(role)};
  k.push_back(':');
  k.append(sub);
  return k;
}

jwt_verifier::jwt_verifier(jwt_config cfg) : cfg_(std::move(cfg)) {
}

std::optional<principal> jwt_verifier::verify(std::string_view token,
                                              std::string* why) const {
  if (token.empty() || token.size() > 8192)
    return fail(why, "missing or oversized token");
  std::string key{token};
  if (verified_cache_owner != this) {
    verified_cache.clear();
    verified_cache_owner = this;
  }
  auto now = now_seconds();
  if (auto i = verified_cache.find(key); i != verified_cache.end()) {
    if (!expired(i->second.exp, now, cfg_.leeway_seconds))
      return i->second;
    verified_cache.erase(i);
    return fail(why, "token expired");
  }
  auto p = decode(key, why);
  if (p) {
    if (verified_cache.size() >= cache_capacity)
      verified_cache.clear();
    verified_cache.emplace(std::move(key), *p);
  }
  return p;
}

std::optional<principal> jwt_verifier::decode(const std::string& token,
                                              std::string* why) const {
  jwt_alg_t expected = JWT_ALG_HS256;
  const unsigned char* key = nullptr;
  int key_len = 0;
  if (cfg_.alg == "RS256" || cfg_.alg == "ES256") {
    expected = cfg_.alg == "RS256" ? JWT_ALG_RS256 : JWT_ALG_ES256;
    key = reinterpret_cast<const unsigned char*>(cfg_.public_key_pem.data());
    key_len = static_cast<int>(cfg_.public_key_pem.size());
  } else {
    key = reinterpret_cast<const unsigned char*>(cfg_.secret.data());
    key_len = static_cast<int>(cfg_.secret.size());
  }
  if (key_len == 0)
    return fail(why, "no key configured");
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, token.c_str(), key, key_len) != 0 || raw == nullptr)
    return fail(why, "invalid token");
  jwt_ptr jwt{raw};
  // libjwt accepts the header's algorithm; only the configured one may pass.
  if (jwt_get_alg(jwt.get()) != expected)
    return fail(why, "unexpected algorithm");
  auto sub = string_claim(jwt.get(), "sub");
  if (!sub || sub->empty())
    return fail(why, "missing sub");
  auto role_text = string_claim(jwt.get(), "role");
  auto r = role_text ? parse_role(*role_text) : std::nullopt;
  if (!r)
    return fail(why, "missing or unknown role");
  auto exp = int_claim(jwt.get(), "exp");
  if (!exp)
    return fail(why, "missing exp");
  if (expired(*exp, now_seconds(), cfg_.leeway_seconds))
    return fail(why, "token expired");
  if (!cfg_.issuer.empty() && string_claim(jwt.get(), "iss") != cfg_.issuer)
    return fail(why, "wrong issuer");
  if (!cfg_.audience.empty()) {
    auto aud = string_claim(jwt.get(), "aud");
    bool match = aud && *aud == cfg_.audience;
    if (!match) {
      // An array of audiences: look for the configured one.
      char* arr = jwt_get_grants_json(jwt.get(), "aud");
      if (arr != nullptr) {
        std::string quoted = "\"" + cfg_.audience + "\"";
        match = std::strstr(arr, quoted.c_str()) != nullptr;
        free(arr);
      }
    }
    if (!match)
      return fail(why, "wrong audience");
  }
  return principal{std::move(*sub), *r, *exp};
}

std::string sign_hs256(const std::string& secret, const std::string& sub,
                       role r, int64_t ttl_seconds) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0)
    return {};
  jwt_ptr jwt{raw};
  auto now = now_seconds();
  jwt_add_grant(raw, "sub", sub.c_str());
  jwt_add_grant(raw, "role", std::string{to_string(r)}.c_str());
  jwt_add_grant_int(raw, "iat", now);
  jwt_add_grant_int(raw, "exp", now + ttl_seconds);
  if (jwt_set_alg(raw, JWT_ALG_HS256,
                  reinterpret_cast<const unsigned char*>(secret.data()),
                  static_cast<int>(secret.size()))
      != 0)
    return {};
  char* out = jwt_encode_str(raw);
  if (out == nullptr)
    return {};
  std::string token{out};
  free(out);
  return token;
}

} // namespace bellhop::auth
