// Request targets, query values and If-None-Match, read as HTTP means them.
#include "request_parts.hpp"

#include <strings.h>
#include <utility>

#include "request_framing.hpp"

namespace bellhop::http {

namespace {

std::string percent_decoded(std::string raw) {
  if (raw.find('%') == std::string::npos)
    return raw;  // the common case: no copy
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    int hi = -1;
    int lo = -1;
    if (raw[i] == '%' && i + 2 < raw.size()) {
      hi = hex_digit(raw[i + 1]);
      lo = hex_digit(raw[i + 2]);
    }
    if (hi >= 0 && lo >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(raw[i]);
    }
  }
  return out;
}

} // namespace

std::string_view origin_path(const Pistache::Http::Request& req) {
  std::string_view target = req.resource();
  auto is = [&](std::string_view scheme) {  // ASCII case ignored
    return target.size() >= scheme.size()
           && strncasecmp(target.data(), scheme.data(), scheme.size()) == 0;
  };
  std::size_t scheme = is("http://") ? 7 : is("https://") ? 8 : 0;
  if (scheme == 0)
    return target;
  // Pistache ends the target at '?', so what follows the authority is the
  // path alone.
  auto slash = target.find('/', scheme);
  return slash == std::string_view::npos ? std::string_view{"/"}
                                         : target.substr(slash);
}

std::optional<std::string> query_param(const Pistache::Http::Request& req,
                                       const std::string& name) {
  auto raw = req.query().get(name);
  if (!raw)
    return std::nullopt;
  return percent_decoded(std::move(*raw));
}

bool etag_matches(const Pistache::Http::Request& req, std::string_view etag) {
  auto inm = req.headers().tryGetRaw("If-None-Match");
  if (!inm)
    return false;
  const std::string value = inm->value();
  std::string_view rest = value;
  for (;;) {
    auto comma = rest.find(',');
    auto tag = trim_blanks(rest.substr(0, comma));
    if (tag.substr(0, 2) == "W/")
      tag.remove_prefix(2);
    if (tag == etag || tag == "*")
      return true;
    if (comma == std::string_view::npos)
      return false;
    rest.remove_prefix(comma + 1);
  }
}

} // namespace bellhop::http
