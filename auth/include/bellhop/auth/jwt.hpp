// JSON Web Tokens: the verifier used by every authenticated endpoint and
// the signer behind `bellhop token`. A token is accepted only when its
// `alg` is the configured one, spelt exactly (never `none`), its signature
// checks, no header is marked critical (`crit`), `sub` and a known `role`
// are present, `exp` has not passed and `nbf`, when present, has (both with
// 30 s leeway; fractional seconds allowed), and `iss`/`aud` match when
// configured.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bellhop::auth {

enum class role : uint8_t { host, guest, service, admin };

std::optional<role> parse_role(std::string_view s);
std::string_view to_string(role r);

/// Who is asking.
struct principal {
  std::string sub;
  auth::role role = role::guest;
  int64_t exp = 0;  ///< seconds since the epoch

  /// "role:sub", the scope of rate limits and idempotency keys.
  std::string key() const;
};

struct jwt_config {
  std::string secret;          ///< HS256 shared secret
  std::string public_key_pem;  ///< RS256/ES256: the key's PEM text
  std::string alg = "HS256";   ///< HS256, RS256 or ES256
  std::string issuer;          ///< checked when not empty
  std::string audience;        ///< checked when not empty
  int64_t leeway_seconds = 30;
};

class jwt_verifier {
public:
  explicit jwt_verifier(jwt_config cfg);

  /// The token's principal, or nullopt with a reason in `why` (never the
  /// token itself). Thread-safe; recently verified tokens are remembered
  /// per thread, so a client that sends the same token again costs a lookup.
  std::optional<principal> verify(std::string_view token,
                                  std::string* why = nullptr) const;

  const jwt_config& config() const {
    return cfg_;
  }

private:
  std::optional<principal> decode(const std::string& token,
                                  std::string* why) const;
  jwt_config cfg_;
};

/// Why the PEM public key `pem` cannot check `alg` (RS256 or ES256) tokens:
/// empty when it can; "not a PEM public key" or "an EC key cannot check
/// RS256 tokens", say, otherwise.
std::string public_key_problem(const std::string& pem, const std::string& alg);

/// The token of an `Authorization: Bearer <token>` header value (RFC 6750:
/// the scheme in any case, one or more spaces, surrounding blanks
/// ignored); empty when it names another scheme or no token.
std::string_view bearer_token(std::string_view authorization);

/// Signs an HS256 token with `sub`, `role`, `iat` and `exp` = now + ttl,
/// and `iss` / `aud` when not empty. Empty on failure.
std::string sign_hs256(const std::string& secret, const std::string& sub,
                       role r, int64_t ttl_seconds,
                       const std::string& issuer = {},
                       const std::string& audience = {});

} // namespace bellhop::auth
