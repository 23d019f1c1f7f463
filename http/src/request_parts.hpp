// Reading parts of a request the way HTTP means them, where Pistache 0.0.5
// hands them over raw: the path of an absolute-form target, query values
// percent-decoded, If-None-Match as a list of entity tags.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <pistache/http.h>

namespace bellhop::http {

/// The request target's path. A target in absolute form
/// (`http://host:8080/notifications/count`, as sent to proxies; RFC 9112,
/// 3.2.2, says servers must take it) gives its path, "/" when it has none;
/// one in origin form is the path as it is.
std::string_view origin_path(const Pistache::Http::Request& req);

/// The query parameter `name`, its %XX escapes decoded ("h%31" is "h1"). A
/// `+` stays a `+`: these are URI queries, not HTML form posts. A malformed
/// escape is kept as it is, and the value's own check then refuses it.
std::optional<std::string> query_param(const Pistache::Http::Request& req,
                                       const std::string& name);

/// Whether the request's If-None-Match names `etag` (quoted) or is `*`. The
/// header may list several tags, weak or strong; GET compares them weakly
/// (RFC 9110, 13.1.2).
bool etag_matches(const Pistache::Http::Request& req, std::string_view etag);

} // namespace bellhop::http
