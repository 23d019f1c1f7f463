// The JWT verifier: every reason to refuse a token, and what it accepts.
#include <chrono>
#include <string>

#include <catch2/catch.hpp>
#include <jwt.h>

#include "bellhop/auth/jwt.hpp"

using namespace bellhop::auth;

namespace {

int64_t now() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

/// A token with the given claims; `alg` none leaves it unsigned.
std::string make(const std::string& secret, jwt_alg_t alg,
                 std::initializer_list<std::pair<const char*, std::string>> strs,
                 std::initializer_list<std::pair<const char*, long>> ints) {
  jwt_t* jwt = nullptr;
  jwt_new(&jwt);
  for (auto& [k, v] : strs)
    jwt_add_grant(jwt, k, v.c_str());
  for (auto& [k, v] : ints)
    jwt_add_grant_int(jwt, k, v);
  if (alg == JWT_ALG_NONE)
    jwt_set_alg(jwt, JWT_ALG_NONE, nullptr, 0);
  else
    jwt_set_alg(jwt, alg, reinterpret_cast<const unsigned char*>(secret.data()),
                static_cast<int>(secret.size()));
  char* s = jwt_encode_str(jwt);
  std::string out = s != nullptr ? s : "";
  free(s);
  jwt_free(jwt);
  return out;
}

jwt_config hs(const std::string& secret) {
  jwt_config c;
  c.secret = secret;
  return c;
}

} // namespace

TEST_CASE("a well-formed HS256 token is accepted") {
  jwt_verifier v{hs("s3cret")};
  auto t = make("s3cret", JWT_ALG_HS256, {{"sub", "h1"}, {"role", "host"}},
                {{"exp", now() + 60}});
  auto p = v.verify(t);
  REQUIRE(p);
  CHECK(p->sub == "h1");
  CHECK(p->role == role::host);
  CHECK(p->key() == "host:h1");
  CHECK(v.verify(t));  // again, from the cache
}

TEST_CASE("tokens are refused for each reason") {
  jwt_verifier v{hs("s3cret")};
  std::string why;
  SECTION("wrong signature") {
    auto t = make("other", JWT_ALG_HS256, {{"sub", "h1"}, {"role", "host"}},
                  {{"exp", now() + 60}});
    CHECK(!v.verify(t, &why));
  }
  SECTION("alg none") {
    auto t = make("", JWT_ALG_NONE, {{"sub", "h1"}, {"role", "host"}},
                  {{"exp", now() + 60}});
    CHECK(!v.verify(t, &why));
  }
  SECTION("another algorithm") {
    auto t = make("s3cret", JWT_ALG_HS512, {{"sub", "h1"}, {"role", "host"}},
                  {{"exp", now() + 60}});
    CHECK(!v.verify(t, &why));
    CHECK(why == "unexpected algorithm");
  }
  SECTION("expired beyond the leeway") {
    auto t = make("s3cret", JWT_ALG_HS256, {{"sub", "h1"}, {"role", "host"}},
                  {{"exp", now() - 31}});
    CHECK(!v.verify(t, &why));
    CHECK(why == "token expired");
  }
  SECTION("missing exp") {
    auto t = make("s3cret", JWT_ALG_HS256, {{"sub", "h1"}, {"role", "host"}}, {});
    CHECK(!v.verify(t, &why));
  }
  SECTION("missing sub") {
    auto t = make("s3cret", JWT_ALG_HS256, {{"role", "host"}},
                  {{"exp", now() + 60}});
    CHECK(!v.verify(t, &why));
  }
  SECTION("missing role") {
    auto t = make("s3cret", JWT_ALG_HS256, {{"sub", "h1"}},
                  {{"exp", now() + 60}});
    CHECK(!v.verify(t, &why));
  }
  SECTION("unknown role") {
    auto t = make("s3cret", JWT_ALG_HS256, {{"sub", "h1"}, {"role", "owner"}},
                  {{"exp", now() + 60}});
    CHECK(!v.verify(t, &why));
  }
  SECTION("garbage and empty") {
    CHECK(!v.verify("not.a.token"));
    CHECK(!v.verify(""));
  }
}

TEST_CASE("a token expired within the 30 s leeway is still accepted") {
  jwt_verifier v{hs("s3cret")};
  auto t = make("s3cret", JWT_ALG_HS256, {{"sub", "g1"}, {"role", "guest"}},
                {{"exp", now() - 10}});
  CHECK(v.verify(t));
}

TEST_CASE("issuer and audience are checked when configured") {
  auto cfg = hs("s3cret");
  cfg.issuer = "booking-site";
  cfg.audience = "bellhop";
  jwt_verifier v{cfg};
  auto good = make("s3cret", JWT_ALG_HS256,
                   {{"sub", "h1"}, {"role", "host"}, {"iss", "booking-site"},
                    {"aud", "bellhop"}},
                   {{"exp", now() + 60}});
  CHECK(v.verify(good));
  auto bad_iss = make("s3cret", JWT_ALG_HS256,
                      {{"sub", "h1"}, {"role", "host"}, {"iss", "x"},
                       {"aud", "bellhop"}},
                      {{"exp", now() + 60}});
  CHECK(!v.verify(bad_iss));
  auto no_aud = make("s3cret", JWT_ALG_HS256,
                     {{"sub", "h1"}, {"role", "host"}, {"iss", "booking-site"}},
                     {{"exp", now() + 60}});
  CHECK(!v.verify(no_aud));
}

TEST_CASE("sign_hs256 makes tokens the verifier accepts") {
  auto t = sign_hs256("k", "svc", role::service, 60);
  jwt_verifier v{hs("k")};
  auto p = v.verify(t);
  REQUIRE(p);
  CHECK(p->role == role::service);
  CHECK(p->sub == "svc");
}
