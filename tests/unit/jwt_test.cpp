// The JWT verifier: every reason to refuse a token, and what it accepts.
#include <chrono>
#include <string>

#include <catch2/catch.hpp>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

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

std::string base64url(const std::string& in) {
  static constexpr char abc[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8
                 | (unsigned char)in[i + 2];
    for (int s = 18; s >= 0; s -= 6)
      out.push_back(abc[(v >> s) & 63]);
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out.push_back(abc[(v >> 18) & 63]);
    out.push_back(abc[(v >> 12) & 63]);
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out.push_back(abc[(v >> 18) & 63]);
    out.push_back(abc[(v >> 12) & 63]);
    out.push_back(abc[(v >> 6) & 63]);
  }
  return out;
}

/// A token with exactly this header and these claims (JSON text), signed
/// with HMAC-SHA256 whatever the header says: for what libjwt will not write.
std::string raw_hs256(const std::string& secret, const std::string& header,
                      const std::string& claims) {
  auto input = base64url(header) + "." + base64url(claims);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
       &len);
  return input + "." + base64url(std::string(reinterpret_cast<char*>(mac), len));
}

/// {"sub":"h1","role":"host",<extra>}
std::string claims_with(const std::string& extra) {
  return R"({"sub":"h1","role":"host",)" + extra + "}";
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
  SECTION("a valid token with bytes after it, past a NUL or not") {
    auto t = make("s3cret", JWT_ALG_HS256, {{"sub", "h1"}, {"role", "host"}},
                  {{"exp", now() + 60}});
    REQUIRE(v.verify(t));
    using namespace std::string_literals;
    CHECK(!v.verify(t + "\0garbage"s, &why));
    CHECK(why == "malformed token");
    CHECK(!v.verify(t + "\0"s));
    CHECK(!v.verify(t + " "));
    CHECK(!v.verify(t + "="));
  }
}

TEST_CASE("the header's alg must be the configured one, spelt exactly") {
  jwt_verifier v{hs("s3cret")};
  auto exp = "\"exp\":" + std::to_string(now() + 60);
  std::string why;
  CHECK(v.verify(raw_hs256("s3cret", R"({"alg":"HS256","typ":"JWT"})",
                           claims_with(exp))));
  CHECK(!v.verify(raw_hs256("s3cret", R"({"alg":"hs256","typ":"JWT"})",
                            claims_with(exp)),
                  &why));
  CHECK(why == "unexpected algorithm");
  CHECK(!v.verify(raw_hs256("s3cret", R"({"alg":"Hs256"})", claims_with(exp))));
}

TEST_CASE("a header marked critical is refused: no extension is understood") {
  jwt_verifier v{hs("s3cret")};
  std::string why;
  auto t = raw_hs256("s3cret", R"({"alg":"HS256","crit":["x"],"x":1})",
                     claims_with("\"exp\":" + std::to_string(now() + 60)));
  CHECK(!v.verify(t, &why));
  CHECK(why == "unsupported critical header");
}

TEST_CASE("nbf is honoured with the leeway") {
  jwt_verifier v{hs("s3cret")};
  auto exp = "\"exp\":" + std::to_string(now() + 3600);
  auto with_nbf = [&](const std::string& nbf) {
    return raw_hs256("s3cret", R"({"alg":"HS256"})",
                     claims_with(exp + ",\"nbf\":" + nbf));
  };
  std::string why;
  CHECK(!v.verify(with_nbf(std::to_string(now() + 3600)), &why));
  CHECK(why == "token not yet valid");
  CHECK(v.verify(with_nbf(std::to_string(now() + 10))));  // within 30 s
  CHECK(v.verify(with_nbf(std::to_string(now() - 10))));
  CHECK(!v.verify(with_nbf("\"soon\"")));  // not a NumericDate
}

TEST_CASE("exp may have a fraction, as RFC 7519 allows") {
  jwt_verifier v{hs("s3cret")};
  auto t = [&](const std::string& exp) {
    return raw_hs256("s3cret", R"({"alg":"HS256"})", claims_with("\"exp\":" + exp));
  };
  CHECK(v.verify(t(std::to_string(now() + 600) + ".5")));
  CHECK(v.verify(t(std::to_string(now() + 600) + ".0")));
  CHECK(!v.verify(t(std::to_string(now() - 600) + ".5")));
  CHECK(!v.verify(t("\"tomorrow\"")));
}

TEST_CASE("extreme NumericDates neither overflow nor pass by accident") {
  jwt_verifier v{hs("s3cret")};
  auto t = [&](const std::string& extra) {
    return raw_hs256("s3cret", R"({"alg":"HS256"})", claims_with(extra));
  };
  auto exp = "\"exp\":" + std::to_string(now() + 600);
  CHECK(v.verify(t(exp + ",\"nbf\":-9223372036854775808")));
  CHECK(!v.verify(t(exp + ",\"nbf\":9223372036854775807")));
  CHECK(!v.verify(t(exp + ",\"nbf\":1e300")));
  CHECK(v.verify(t("\"exp\":9223372036854775807")));
  CHECK(!v.verify(t("\"exp\":-9223372036854775808")));
  CHECK(!v.verify(t("\"exp\":1e300")));
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
  auto claims = [&](const std::string& aud) {
    return raw_hs256("s3cret", R"({"alg":"HS256"})",
                     claims_with(R"("iss":"booking-site","aud":)" + aud
                                 + ",\"exp\":" + std::to_string(now() + 60)));
  };
  CHECK(v.verify(claims(R"(["other","bellhop"])")));
  CHECK(!v.verify(claims(R"(["other","bellhop2"])")));
  CHECK(!v.verify(claims(R"(["x\"bellhop\""])")));
  CHECK(!v.verify(claims("7")));
}

TEST_CASE("sign_hs256 makes tokens the verifier accepts") {
  auto t = sign_hs256("k", "svc", role::service, 60);
  jwt_verifier v{hs("k")};
  auto p = v.verify(t);
  REQUIRE(p);
  CHECK(p->role == role::service);
  CHECK(p->sub == "svc");
  auto cfg = hs("k");
  cfg.issuer = "booking-site";
  cfg.audience = "bellhop";
  jwt_verifier strict{cfg};
  CHECK(strict.verify(sign_hs256("k", "h1", role::host, 60, "booking-site",
                                 "bellhop")));
  CHECK_FALSE(strict.verify(sign_hs256("k", "h1", role::host, 60)));
}

TEST_CASE("the bearer token is taken from an Authorization value as RFC 6750 "
          "and RFC 9110 write it") {

  CHECK(bearer_token("Bearer abc.def.ghi") == "abc.def.ghi");
  CHECK(bearer_token("bearer abc") == "abc");
  CHECK(bearer_token("BEARER   abc") == "abc");
  CHECK(bearer_token("Bearer abc ") == "abc");   // trailing blanks are not
  CHECK(bearer_token(" Bearer abc\t") == "abc");  // part of a field value
  CHECK(bearer_token("Bearer") == "");
  CHECK(bearer_token("Bearer   ") == "");
  CHECK(bearer_token("Bearerabc") == "");
  CHECK(bearer_token("Basic YWxhZGRpbjpvcGVuc2VzYW1l") == "");
  CHECK(bearer_token("") == "");
}
