// POST /notifications, GET /notifications/count, GET /notifications/list,
// POST /notifications/mark-read.
#include <nlohmann/json.hpp>

#include "ask.hpp"
#include "routes.hpp"
#include "validation.hpp"

namespace bellhop::http {

namespace {

/// The `category` query parameter: nullopt (unset) or a category; false in
/// `ok` when malformed (answered 400).
std::optional<category> category_param(const Request& req, ResponseWriter& w,
                                       bool& ok) {
  ok = true;
  auto raw = query_param(req, "category");
  if (!raw)
    return std::nullopt;
  auto cat = parse_category(*raw);
  if (!cat) {
    ok = false;
    send_error(w, 400, "invalid_request",
               "category must be booking, review, message or system",
               "category");
  }
  return cat;
}

} // namespace

void post_notification(context& ctx, const Request& req, ResponseWriter w) {
  auto who = authenticate(ctx, req, w);
  if (!who)
    return;
  if (who->role != auth::role::service && who->role != auth::role::admin) {
    send_error(w, 403, "forbidden", "only services and admins post notifications");
    return;
  }
  auto body = json_body(ctx, req, w);
  if (!body)
    return;
  notification_request msg;
  if (auto err = parse_notification(*body, msg, false)) {
    send_error(w, 400, "invalid_request", err->message, err->field);
    return;
  }
  auto key = idempotency_key(req, w);
  if (!key)
    return;
  msg.principal = who->key();
  msg.idem_key = *key;
  if (!key->empty())
    msg.fingerprint = notification_fingerprint(msg);
  ask<created_reply>(ctx, std::move(w), std::move(msg),
                     [](ResponseWriter& w, created_reply& r) {
                       send_json(w, 201, r.body);
                     });
}

void get_count(context& ctx, const Request& req, ResponseWriter w) {
  auto hr = authorize_host(ctx, req, w);
  if (!hr)
    return;
  const auto& host = hr->host;
  bool ok;
  auto cat = category_param(req, w, ok);
  if (!ok)
    return;
  auto read = read_or_503(w, [&] { return ctx.queries.count(host, cat); });
  if (!read)
    return;
  auto& c = *read;
  // The body is a function of (category, unread, latestId): so is the tag.
  std::string etag = "\"";
  etag.append(cat ? to_string(*cat) : "all").push_back('-');
  etag.append(std::to_string(c.unread)).push_back('-');
  etag.append(std::to_string(c.latest_id)).push_back('"');
  add_header(w, "ETag", etag);
  add_header(w, "Cache-Control", "no-cache");
  if (etag_matches(req, etag)) {
    send_status(w, 304);
    return;
  }
  send_json(w, 200, "{\"unread\":" + std::to_string(c.unread)
                      + ",\"latestId\":" + std::to_string(c.latest_id) + "}");
}

void get_list(context& ctx, const Request& req, ResponseWriter w) {
  auto hr = authorize_host(ctx, req, w);
  if (!hr)
    return;
  const auto& host = hr->host;
  list_query q;
  bool ok;
  q.cat = category_param(req, w, ok);
  if (!ok)
    return;
  auto limit = limit_param(req, w);
  if (!limit)
    return;
  q.limit = *limit;
  auto cursor = query_param(req, "cursor");
  auto after = query_param(req, "after");
  if (cursor && after) {
    // Two fields are at fault together: no `field` (§4).
    send_error(w, 400, "invalid_request", "give cursor or after, not both");
    return;
  }
  if (cursor && !host_queries::decode_cursor(*cursor, q)) {
    send_error(w, 400, "invalid_request", "malformed cursor", "cursor");
    return;
  }
  if (after) {
    auto v = parse_uint(*after, 0, UINT64_MAX);
    if (!v) {
      send_error(w, 400, "invalid_request",
                 "after must be a notification id", "after");
      return;
    }
    q.ascending = true;
    q.from = *v;
    q.has_from = true;
  }
  if (auto unread = query_param(req, "unread")) {
    if (*unread != "true" && *unread != "false") {
      send_error(w, 400, "invalid_request", "unread must be true or false",
                 "unread");
      return;
    }
    q.unread_only = *unread == "true";
  }
  auto read = read_or_503(w, [&] { return ctx.queries.list(host, q); });
  if (!read)
    return;
  auto& page = *read;
  send_json(w, 200,
            page_json(page, ",\"unread\":" + std::to_string(page.unread)));
}

void post_mark_read(context& ctx, const Request& req, ResponseWriter w) {
  auto hr = authorize_host(ctx, req, w);
  if (!hr)
    return;
  const auto& host = hr->host;
  auto body = json_body(ctx, req, w);
  if (!body)
    return;
  mark_read_request msg;
  if (auto err = parse_mark_read(*body, msg)) {
    send_error(w, 400, "invalid_request", err->message, err->field);
    return;
  }
  msg.host_id = host;
  msg.by = hr->who.sub;
  msg.via = "rest";
  ask<mark_read_reply>(ctx, std::move(w), std::move(msg),
                       [](ResponseWriter& w, mark_read_reply& r) {
                         send_json(w, 200,
                                   "{\"updated\":" + std::to_string(r.updated)
                                     + ",\"unread\":" + std::to_string(r.unread)
                                     + "}");
                       });
}

} // namespace bellhop::http
