// `bellhop token --sub ID --role ROLE [--ttl SECONDS] [--jwt-secret S]
// [--jwt-issuer I] [--jwt-audience A]`: prints an HS256 JWT signed with the
// shared secret, with the claims a server given the same flags requires.
#include <cstdlib>
#include <iostream>

#include "bellhop/actors/domain.hpp"
#include "bellhop/auth/jwt.hpp"
#include "commands.hpp"
#include "options.hpp"

namespace bellhop::app {

int token_command(int argc, char** argv) {
  static const std::vector<option_spec> specs{
    {"sub", true, false, "the subject: a hostId, guestId or service name"},
    {"role", true, false, "host, guest, service or admin"},
    {"ttl", true, false, "lifetime in seconds (default 3600)"},
    {"jwt-secret", true, false, "HS256 secret (default: $BELLHOP_JWT_SECRET)"},
    {"jwt-issuer", true, false, "the iss claim (for a server run with --jwt-issuer)"},
    {"jwt-audience", true, false, "the aud claim (for a server run with --jwt-audience)"},
    {"help", false, false, "this text"},
  };
  try {
    options opts{specs, argc, argv, 2};
    if (opts.flag("help")) {
      std::cout << "usage: bellhop token --sub ID --role ROLE [options]\n"
                << options::help_text(specs);
      return 0;
    }
    if (!opts.has("sub") || !opts.has("role"))
      throw usage_error("--sub and --role are required");
    auto r = auth::parse_role(opts.str("role", ""));
    if (!r)
      throw usage_error("--role must be host, guest, service or admin");
    // A host's or guest's sub is its id (§2, §3): the server refuses any
    // other, so no such token is made.
    auto sub = opts.str("sub", "");
    if (sub.empty())
      throw usage_error("--sub must not be empty");
    if ((*r == auth::role::host || *r == auth::role::guest) && !valid_id(sub))
      throw usage_error("--sub of a " + std::string{auth::to_string(*r)}
                        + " must be 1-64 characters of A-Z a-z 0-9 . _ -");
    const char* env = std::getenv("BELLHOP_JWT_SECRET");
    auto secret = opts.str("jwt-secret", env != nullptr ? env : "");
    if (secret.empty())
      throw usage_error("give --jwt-secret or set BELLHOP_JWT_SECRET");
    auto ttl = opts.integer("ttl", 3600, 1, 10LL * 365 * 86400);
    for (const char* name : {"jwt-issuer", "jwt-audience"})
      if (opts.has(name) && opts.str(name, "").empty())
        throw usage_error("--" + std::string{name} + " must not be empty");
    auto token = auth::sign_hs256(secret, sub, *r, ttl,
                                  opts.str("jwt-issuer", ""),
                                  opts.str("jwt-audience", ""));
    if (token.empty()) {
      std::cerr << "bellhop token: signing failed\n";
      return 1;
    }
    std::cout << token << "\n";
    return 0;
  } catch (const usage_error& e) {
    std::cerr << "bellhop token: " << e.what() << "\n";
    return 2;
  }
}

} // namespace bellhop::app
