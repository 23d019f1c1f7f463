// URL parsing for `--http` and `--ws` (see url.hpp).
#include "url.hpp"

namespace bellhop::sim {

std::optional<url> parse_url(const std::string& text,
                             const std::string& expected_scheme) {
  auto sep = text.find("://");
  if (sep == std::string::npos || text.substr(0, sep) != expected_scheme)
    return std::nullopt;
  url u;
  u.scheme = expected_scheme;
  auto rest = text.substr(sep + 3);
  auto slash = rest.find('/');
  auto hostport = rest.substr(0, slash);
  if (slash != std::string::npos)
    u.path = rest.substr(slash);
  if (auto q = u.path.find('?'); q != std::string::npos)
    u.path.erase(q);
  if (u.path == "/")
    u.path.clear();
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos || hostport.back() == ']') {
    u.host = hostport;
    u.port = 80;
  } else {
    u.host = hostport.substr(0, colon);
    auto digits = hostport.substr(colon + 1);
    if (digits.empty() || digits.size() > 5
        || digits.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    auto port = std::stoul(digits);
    if (port == 0 || port > 65535)
      return std::nullopt;
    u.port = static_cast<uint16_t>(port);
  }
  if (u.host.size() > 2 && u.host.front() == '[' && u.host.back() == ']')
    u.host = u.host.substr(1, u.host.size() - 2);
  if (u.host.empty())
    return std::nullopt;
  return u;
}

} // namespace bellhop::sim
