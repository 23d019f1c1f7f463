// The email options of `bellhop serve`.
#include "smtp_options.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <string>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include "bellhop/actors/preferences.hpp"
#include "bellhop/telemetry/log.hpp"

namespace bellhop::app {

namespace {

/// What the email needs of --smtp-url, read with curl's own parser (the
/// one that will use it).
struct smtp_address {
  std::string scheme;  ///< lower case
  std::string host;    ///< an IPv6 literal in brackets
  bool has_user = false;
};

std::optional<std::string> part(CURLU* u, CURLUPart which) {
  char* text = nullptr;
  if (curl_url_get(u, which, &text, 0) != CURLUE_OK)
    return std::nullopt;
  std::string out{text};
  curl_free(text);
  return out;
}

std::optional<smtp_address> parse(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u{curl_url(),
                                                         curl_url_cleanup};
  // No scheme guessing: "127.0.0.1:2525" alone is not an SMTP address.
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
    return std::nullopt;
  auto scheme = part(u.get(), CURLUPART_SCHEME);
  auto host = part(u.get(), CURLUPART_HOST);
  if (!scheme || !host || host->empty())
    return std::nullopt;
  std::transform(scheme->begin(), scheme->end(), scheme->begin(),
                 [](unsigned char c) { return std::tolower(c); });
  auto user = part(u.get(), CURLUPART_USER);
  return smtp_address{*scheme, *host, user && !user->empty()};
}

/// An address of this machine, written as one: 127.0.0.0/8, ::1 (or
/// ::ffff:127.x), or the name localhost.
bool loopback(const std::string& host) {
  if (host == "localhost")
    return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  auto bare = host.size() > 2 && host.front() == '['
                ? host.substr(1, host.size() - 2)
                : host;
  if (inet_pton(AF_INET6, bare.c_str(), &v6) != 1)
    return false;
  return IN6_IS_ADDR_LOOPBACK(&v6)
         || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
}

/// `s` without the spaces at either end.
std::string trimmed(const std::string& s) {
  auto b = s.find_first_not_of(' ');
  if (b == std::string::npos)
    return {};
  return s.substr(b, s.find_last_not_of(' ') - b + 1);
}

/// --smtp-from: `ADDRESS`, or `NAME <ADDRESS>` with NAME bare or in quotes,
/// into smtp.from and smtp.from_name. False when it is neither, or the name
/// holds a control character (a line break would start another header).
bool read_sender(const std::string& text, smtp_config& smtp) {
  auto s = trimmed(text);
  std::string name;
  auto open = s.rfind('<');
  if (!s.empty() && s.back() == '>' && open != std::string::npos) {
    name = trimmed(s.substr(0, open));
    s = s.substr(open + 1, s.size() - open - 2);
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      std::string bare;
      for (std::size_t i = 1; i + 1 < name.size(); ++i) {
        if (name[i] == '\\' && i + 2 < name.size())
          ++i;
        bare += name[i];
      }
      name = std::move(bare);
    }
  }
  if (!valid_email_address(s))
    return false;
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f)
      return false;
  smtp.from = std::move(s);
  smtp.from_name = std::move(name);
  return true;
}

} // namespace

smtp_config smtp_config_from(const options& opts) {
  smtp_config smtp;
  smtp.url = opts.str("smtp-url", "");
  if (!read_sender(opts.str("smtp-from", smtp.from), smtp))
    throw usage_error("--smtp-from must be an address (bellhop@example.com) "
                      "or a name and an address (Bellhop <bellhop@example.com>)");
  smtp.user = opts.str("smtp-user", "");
  smtp.password = opts.str("smtp-password", "");
  smtp.starttls = opts.flag("smtp-starttls");
  smtp.connections
    = static_cast<unsigned>(opts.integer("smtp-connections", 4, 1, 64));
  // The page's address goes into every email as its link.
  if (opts.has("public-url")) {
    auto page = parse(opts.str("public-url", ""));
    if (!page || (page->scheme != "http" && page->scheme != "https"))
      throw usage_error("--public-url must be an http:// or https:// address");
  }
  if (smtp.url.empty())
    return smtp;
  // curl would take another scheme, or none, elsewhere: an HTTP PUT of the
  // email, or a file written and counted as sent. The address itself is
  // not repeated: it may hold a password.
  auto address = parse(smtp.url);
  if (!address || (address->scheme != "smtp" && address->scheme != "smtps"))
    throw usage_error("--smtp-url must be smtp://HOST[:PORT] or "
                      "smtps://HOST[:PORT]");
  // curl logs in with AUTH in clear on smtp:// unless STARTTLS is asked
  // for, even when the server offers it.
  bool logs_in = !smtp.user.empty() || address->has_user;
  if (logs_in && address->scheme == "smtp" && !smtp.starttls
      && !loopback(address->host))
    telemetry::log(telemetry::level::warn,
                   "the SMTP password goes over the network in clear: give "
                   "--smtp-starttls, or an smtps:// address",
                   {{"smtp_host", std::string_view{address->host}}});
  return smtp;
}

} // namespace bellhop::app
