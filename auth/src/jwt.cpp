// JWT verification and signing with libjwt.
#include "bellhop/auth/jwt.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <strings.h>
#include <memory>
#include <unordered_map>

#include <jwt.h>
#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

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

/// libjwt's JSON of the header (`header` true) or the claims, parsed; a
/// discarded value when libjwt has none.
nlohmann::json parsed(jwt_t* jwt, bool header) {
  char* text = header ? jwt_get_headers_json(jwt, nullptr)
                      : jwt_get_grants_json(jwt, nullptr);
  if (text == nullptr)
    return nlohmann::json::value_t::discarded;
  auto doc = nlohmann::json::parse(text, nullptr, false);
  free(text);
  return doc;
}

/// The claim (or header field) `name` as a string (nullopt when absent or
/// not a string).
std::optional<std::string> string_claim(const nlohmann::json& claims,
                                        const char* name) {
  auto i = claims.find(name);
  if (i == claims.end() || !i->is_string())
    return std::nullopt;
  return i->get<std::string>();
}

/// A NumericDate claim in whole seconds (nullopt when absent or not a
/// number). RFC 7519 allows fractions; they are cut off.
std::optional<int64_t> time_claim(const nlohmann::json& claims,
                                  const char* name) {
  auto i = claims.find(name);
  if (i == claims.end() || !i->is_number())
    return std::nullopt;
  if (i->is_number_float()) {
    double v = i->get<double>();
    if (!(v > -9.2e18 && v < 9.2e18))
      return std::nullopt;
    return static_cast<int64_t>(std::floor(v));
  }
  if (i->is_number_unsigned() && i->get<uint64_t>() > uint64_t{INT64_MAX})
    return INT64_MAX;
  return i->get<int64_t>();
}

/// Whether `aud` (a string or an array of strings) names `want`.
bool audience_matches(const nlohmann::json& claims, const std::string& want) {
  auto i = claims.find("aud");
  if (i == claims.end())
    return false;
  if (i->is_string())
    return i->get<std::string>() == want;
  if (!i->is_array())
    return false;
  for (const auto& a : *i)
    if (a.is_string() && a.get<std::string>() == want)
      return true;
  return false;
}

/// A byte of base64url, or the dot between a JWS's parts.
bool is_jws_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
         || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/// now is past exp + leeway (written so that no exp, however large,
/// overflows).
bool expired(int64_t exp, int64_t now, int64_t leeway) {
  return now - leeway > exp;
}

/// now + leeway is before nbf (written so that no nbf, however small,
/// overflows).
bool not_yet_valid(int64_t nbf, int64_t now, int64_t leeway) {
  return nbf > now + leeway;
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
  // A compact JWS is base64url and dots (RFC 7515, 7.1). libjwt reads the
  // token as a C string: anything after a NUL would go unread, so a token
  // with bytes appended would pass as the token. (A token found in the
  // cache is one that passed here, byte for byte.)
  if (!std::all_of(key.begin(), key.end(), is_jws_char))
    return fail(why, "malformed token");
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
  const char* expected_name = "HS256";
  const unsigned char* key = nullptr;
  int key_len = 0;
  if (cfg_.alg == "RS256" || cfg_.alg == "ES256") {
    expected = cfg_.alg == "RS256" ? JWT_ALG_RS256 : JWT_ALG_ES256;
    expected_name = cfg_.alg == "RS256" ? "RS256" : "ES256";
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
  // libjwt takes the header's algorithm, and reads its name without regard
  // to case; only the configured one, spelt exactly (RFC 7515), may pass.
  auto header = parsed(jwt.get(), true);
  if (jwt_get_alg(jwt.get()) != expected || !header.is_object()
      || string_claim(header, "alg") != expected_name)
    return fail(why, "unexpected algorithm");
  // No extension is understood, so none may be critical (RFC 7515, 4.1.11).
  if (header.contains("crit"))
    return fail(why, "unsupported critical header");
  auto claims = parsed(jwt.get(), false);
  if (!claims.is_object())
    return fail(why, "invalid claims");
  auto sub = string_claim(claims, "sub");
  if (!sub || sub->empty())
    return fail(why, "missing sub");
  auto role_text = string_claim(claims, "role");
  auto r = role_text ? parse_role(*role_text) : std::nullopt;
  if (!r)
    return fail(why, "missing or unknown role");
  auto exp = time_claim(claims, "exp");
  if (!exp)
    return fail(why, "missing exp");
  auto now = now_seconds();
  if (expired(*exp, now, cfg_.leeway_seconds))
    return fail(why, "token expired");
  if (claims.contains("nbf")) {
    auto nbf = time_claim(claims, "nbf");
    if (!nbf || not_yet_valid(*nbf, now, cfg_.leeway_seconds))
      return fail(why, "token not yet valid");
  }
  if (!cfg_.issuer.empty() && string_claim(claims, "iss") != cfg_.issuer)
    return fail(why, "wrong issuer");
  if (!cfg_.audience.empty() && !audience_matches(claims, cfg_.audience))
    return fail(why, "wrong audience");
  return principal{std::move(*sub), *r, *exp};
}

std::string public_key_problem(const std::string& pem, const std::string& alg) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{
    BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free};
  if (!bio)
    return "cannot read the key";
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{
    PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free};
  if (!key)
    return "not a PEM public key";
  auto type = EVP_PKEY_base_id(key.get());
  if (alg == "RS256" && type != EVP_PKEY_RSA)
    return "RS256 needs an RSA key";
  if (alg == "ES256" && type != EVP_PKEY_EC)
    return "ES256 needs an EC key";
  return {};
}

std::string_view bearer_token(std::string_view v) {
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!v.empty() && blank(v.back()))
    v.remove_suffix(1);
  while (!v.empty() && blank(v.front()))
    v.remove_prefix(1);
  constexpr std::string_view scheme = "Bearer";
  if (v.size() <= scheme.size() || !blank(v[scheme.size()])
      || strncasecmp(v.data(), scheme.data(), scheme.size()) != 0)
    return {};
  v.remove_prefix(scheme.size());
  while (!v.empty() && blank(v.front()))
    v.remove_prefix(1);
  return v;
}

std::string sign_hs256(const std::string& secret, const std::string& sub,
                       role r, int64_t ttl_seconds, const std::string& issuer,
                       const std::string& audience) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0)
    return {};
  jwt_ptr jwt{raw};
  auto now = now_seconds();
  jwt_add_grant(raw, "sub", sub.c_str());
  jwt_add_grant(raw, "role", std::string{to_string(r)}.c_str());
  jwt_add_grant_int(raw, "iat", now);
  jwt_add_grant_int(raw, "exp", now + ttl_seconds);
  if (!issuer.empty())
    jwt_add_grant(raw, "iss", issuer.c_str());
  if (!audience.empty())
    jwt_add_grant(raw, "aud", audience.c_str());
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
