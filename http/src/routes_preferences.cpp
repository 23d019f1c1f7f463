// GET/PUT /preferences and GET /admin/audit.
#include <nlohmann/json.hpp>

#include "ask.hpp"
#include "bellhop/actors/preferences.hpp"
#include "routes.hpp"
#include "validation.hpp"

namespace bellhop::http {

void get_preferences(context& ctx, const Request& req, ResponseWriter w) {
  auto hr = authorize_host(ctx, req, w);
  if (!hr)
    return;
  if (auto doc = read_or_503(w, [&] { return ctx.queries.preferences(hr->host); }))
    send_json(w, 200, *doc);
}

void put_preferences(context& ctx, const Request& req, ResponseWriter w) {
  auto hr = authorize_host(ctx, req, w);
  if (!hr)
    return;
  auto body = json_body(ctx, req, w);
  if (!body)
    return;
  preferences prefs;
  if (auto err = parse_preferences(*body, prefs)) {
    send_error(w, 400, "invalid_request", err->message, err->field);
    return;
  }
  ask<std::string>(ctx, std::move(w), preferences_put{hr->host, prefs.to_json()},
                   [](ResponseWriter& w, std::string& doc) {
                     send_json(w, 200, doc);
                   });
}

void get_audit(context& ctx, const Request& req, ResponseWriter w) {
  auto who = authenticate(ctx, req, w);
  if (!who)
    return;
  if (who->role != auth::role::admin) {
    send_error(w, 403, "forbidden", "the audit log is for admins");
    return;
  }
  auto host = query_param(req, "hostId");
  if (!host || !valid_id(*host)) {
    send_error(w, 400, "invalid_request",
               host ? "hostId must be 1-64 characters of A-Z a-z 0-9 . _ -"
                    : "hostId is required",
               "hostId");
    return;
  }
  auto limit = limit_param(req, w);
  if (!limit)
    return;
  std::optional<std::string> from;
  if (auto c = query_param(req, "cursor")) {
    from = host_queries::decode_audit_cursor(*c);
    if (!from) {
      send_error(w, 400, "invalid_request", "malformed cursor", "cursor");
      return;
    }
  }
  uint64_t nid = 0;
  if (auto n = query_param(req, "notificationId")) {
    auto v = parse_uint(*n, 1, UINT64_MAX);
    if (!v) {
      send_error(w, 400, "invalid_request",
                 "notificationId must be a notification id", "notificationId");
      return;
    }
    nid = *v;
  }
  if (auto page = read_or_503(
        w, [&] { return ctx.queries.audit(*host, *limit, from, nid); }))
    send_json(w, 200, page_json(*page));
}

} // namespace bellhop::http
