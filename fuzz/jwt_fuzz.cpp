// Fuzzes the JWT verifier (auth/src/jwt.cpp): jwt_verifier::verify, which
// every REST request and socket handshake goes through.
//
// Two kinds of input:
//  - anything not starting with '{' is a token, verified as it is. The seed
//    corpus holds valid HS256 tokens signed with `secret` below (made by
//    fuzz/make-jwt-seeds), so mutations start from tokens that pass;
//  - input starting with '{' is "<header JSON>\n<claims JSON>" (or only the
//    claims, under {"alg":"HS256","typ":"JWT"}) that this target signs with
//    `secret` before verifying, since a mutated token never keeps a valid
//    signature: that reaches the claim checks behind it.
// libjwt and OpenSSL are not instrumented: coverage is bellhop's only,
// though ASan still sees their heap misuse through its interceptors.
#include <chrono>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "bellhop/auth/jwt.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace bellhop;

/// The fuzz targets' HS256 secret (fuzz/make-jwt-seeds signs with it).
constexpr std::string_view secret = "bellhop-fuzz-secret";

int64_t now_seconds() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

std::string base64url(std::string_view in) {
  static constexpr char abc[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16
                 | static_cast<uint8_t>(in[i + 1]) << 8
                 | static_cast<uint8_t>(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6)
      out.push_back(abc[(v >> k) & 63]);
  }
  if (i + 1 == in.size()) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    out.push_back(abc[(v >> 18) & 63]);
    out.push_back(abc[(v >> 12) & 63]);
  } else if (i + 2 == in.size()) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16
                 | static_cast<uint8_t>(in[i + 1]) << 8;
    out.push_back(abc[(v >> 18) & 63]);
    out.push_back(abc[(v >> 12) & 63]);
    out.push_back(abc[(v >> 6) & 63]);
  }
  return out;
}

/// header.claims.HMAC-SHA256, as any HS256 signer writes it.
std::string sign(std::string_view header, std::string_view claims) {
  auto input = base64url(header) + "." + base64url(claims);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
       &len);
  return input + "."
         + base64url({reinterpret_cast<const char*>(mac), len});
}

void check(const auth::jwt_verifier& v, const std::string& token) {
  // Twice: the second answer comes from the per-thread cache.
  auto first = v.verify(token);
  std::string why;
  auto second = v.verify(token, &why);
  if (!second) {
    FUZZ_CHECK(!why.empty());
    // A token accepted a moment ago is refused only if it expired since.
    FUZZ_CHECK(!first || why == "token expired");
    return;
  }
  FUZZ_CHECK(!second->sub.empty());
  FUZZ_CHECK(second->exp >= now_seconds() - v.config().leeway_seconds - 1);
  FUZZ_CHECK(auth::parse_role(auth::to_string(second->role)) == second->role);
  FUZZ_CHECK(second->key().size() > second->sub.size());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const auth::jwt_verifier plain{[] {
    auth::jwt_config c;
    c.secret = std::string{secret};
    return c;
  }()};
  static const auth::jwt_verifier scoped{[] {
    auth::jwt_config c;
    c.secret = std::string{secret};
    c.issuer = "bellhop";
    c.audience = "bellhop-api";
    return c;
  }()};

  auto text = fuzz::as_text(data, size);
  std::string token;
  if (!text.empty() && text[0] == '{') {
    auto [first, rest] = fuzz::split_line(text);
    if (rest.empty())
      token = sign(R"({"alg":"HS256","typ":"JWT"})", first);
    else
      token = sign(first, rest);
  } else {
    token = std::string{text};
  }
  check(plain, token);
  check(scoped, token);
  return 0;
}
