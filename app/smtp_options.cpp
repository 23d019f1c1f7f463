// The email options of `bellhop serve`.
#include "smtp_options.hpp"

#include <algorithm>
#include <cctype>
#include <string>

#include "bellhop/telemetry/log.hpp"

namespace bellhop::app {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return s;
}

/// The host of "scheme://[user@]host[:port][/...]", as written.
std::string host_of(const std::string& url) {
  auto start = url.find("://") + 3;
  auto end = url.find('/', start);
  auto authority = url.substr(start, end == std::string::npos ? end : end - start);
  if (auto at = authority.rfind('@'); at != std::string::npos)
    authority.erase(0, at + 1);
  if (!authority.empty() && authority[0] == '[')
    return authority.substr(0, authority.find(']') + 1);
  return authority.substr(0, authority.find(':'));
}

bool loopback(const std::string& host) {
  return host == "localhost" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

} // namespace

smtp_config smtp_config_from(const options& opts) {
  smtp_config smtp;
  smtp.url = opts.str("smtp-url", "");
  smtp.from = opts.str("smtp-from", smtp.from);
  smtp.user = opts.str("smtp-user", "");
  smtp.password = opts.str("smtp-password", "");
  smtp.starttls = opts.flag("smtp-starttls");
  smtp.connections
    = static_cast<unsigned>(opts.integer("smtp-connections", 4, 1, 64));
  if (smtp.url.empty())
    return smtp;
  // curl would take another scheme, or none, elsewhere: an HTTP PUT of the
  // email, or a file written and counted as sent.
  auto scheme = lower(smtp.url.substr(0, smtp.url.find("://")));
  if (smtp.url.find("://") == std::string::npos
      || (scheme != "smtp" && scheme != "smtps")
      || host_of(smtp.url).empty())
    throw usage_error("--smtp-url must be smtp://HOST[:PORT] or "
                      "smtps://HOST[:PORT], not " + smtp.url);
  // curl logs in with AUTH in clear on smtp:// unless STARTTLS is asked
  // for, even when the server offers it.
  auto host = lower(host_of(smtp.url));
  if (!smtp.user.empty() && scheme == "smtp" && !smtp.starttls
      && !loopback(host))
    telemetry::log(telemetry::level::warn,
                   "the SMTP password goes over the network in clear: give "
                   "--smtp-starttls, or an smtps:// address",
                   {{"smtp_host", std::string_view{host}}});
  return smtp;
}

} // namespace bellhop::app
