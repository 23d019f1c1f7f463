// The checks every route shares: authentication and rate limits, the host a
// request is about, and the body's size, type and syntax.
#include <nlohmann/json.hpp>

#include "ask.hpp"
#include "bellhop/telemetry/log.hpp"
#include "routes.hpp"
#include "validation.hpp"

namespace bellhop::http {

namespace H = Pistache::Http::Header;

namespace {

std::string bearer_token(const Request& req) {
  auto auth = req.headers().tryGet<H::Authorization>();
  if (!auth)
    return {};
  return std::string{auth::bearer_token(auth->value())};
}

} // namespace

std::optional<auth::principal> authenticate(context& ctx, const Request& req,
                                            ResponseWriter& w) {
  auto who = ctx.jwt.verify(bearer_token(req));
  // A host's or guest's sub is its id: one that no id can be names nobody
  // (and could reach into another host's keys in the store).
  bool bad_sub = who
                 && (who->role == auth::role::host || who->role == auth::role::guest)
                 && !valid_id(who->sub);
  if (bad_sub)
    who.reset();
  auto key = who ? who->key() : "ip:" + req.address().host();
  if (auto wait = ctx.rest_limit.take(key); wait > 0) {
    send_retry_later(w, 429, "rate_limited", "too many requests", wait);
    return std::nullopt;
  }
  if (!who) {
    send_error(w, 401, "unauthorized",
               bad_sub ? "a host's or guest's token must have its id as sub"
                       : "a valid bearer token is required");
    return std::nullopt;
  }
  // §4's body rules hold for every request, once it is known whose it is;
  // POST and PUT check their bodies as they parse them.
  auto m = req.method();
  if (m != Pistache::Http::Method::Post && m != Pistache::Http::Method::Put
      && !stray_body_allowed(ctx, req, w))
    return std::nullopt;
  return who;
}

bool over_address_limit(context& ctx, const Request& req, ResponseWriter& w) {
  auto wait = ctx.rest_limit.take("ip:" + req.address().host());
  if (wait > 0)
    send_retry_later(w, 429, "rate_limited", "too many requests", wait);
  return wait > 0;
}

std::optional<std::string> target_host(const auth::principal& who,
                                       const Request& req, ResponseWriter& w) {
  auto named = query_param(req, "hostId");
  if (who.role == auth::role::host) {
    // authenticate checked that sub is a valid hostId.
    if (named && *named != who.sub) {
      send_error(w, 403, "forbidden", "a host may only see its own notifications");
      return std::nullopt;
    }
    return who.sub;
  }
  if (who.role == auth::role::admin) {
    if (!named || !valid_id(*named)) {
      send_error(w, 400, "invalid_request", "an admin must name a valid hostId",
                 "hostId");
      return std::nullopt;
    }
    return *named;
  }
  send_error(w, 403, "forbidden", "this endpoint is for hosts and admins");
  return std::nullopt;
}

std::optional<host_request> authorize_host(context& ctx, const Request& req,
                                           ResponseWriter& w) {
  auto who = authenticate(ctx, req, w);
  if (!who)
    return std::nullopt;
  auto host = target_host(*who, req, w);
  if (!host)
    return std::nullopt;
  return host_request{std::move(*who), std::move(*host)};
}

std::optional<std::size_t> limit_param(const Request& req, ResponseWriter& w) {
  auto raw = query_param(req, "limit");
  if (!raw)
    return 20;
  auto v = parse_uint(*raw, 1, 100);
  if (!v)
    send_error(w, 400, "invalid_request", "limit must be 1-100", "limit");
  return v;
}

std::string page_json(const list_page& page, const std::string& extra) {
  std::string body = "{\"items\":";
  body.append(page.items).append(",\"nextCursor\":");
  body.append(page.cursor ? "\"" + *page.cursor + "\"" : "null");
  body.append(extra).append("}");
  return body;
}

namespace {

bool too_large(context& ctx, const Request& req, ResponseWriter& w) {
  if (req.body().size() <= ctx.cfg.max_body)
    return false;
  send_error(w, 413, "payload_too_large", "the body is over 64 KiB");
  return true;
}

bool not_json(const Request& req, ResponseWriter& w) {
  auto ct = req.headers().tryGet<H::ContentType>();
  // Exactly application/json: "application/json+x" has a suffix.
  if (ct && ct->mime().top() == Pistache::Http::Mime::Type::Application
      && ct->mime().sub() == Pistache::Http::Mime::Subtype::Json
      && ct->mime().suffix() == Pistache::Http::Mime::Suffix::None)
    return false;
  send_error(w, 415, "unsupported_media_type",
             "the body must be application/json");
  return true;
}

} // namespace

bool stray_body_allowed(context& ctx, const Request& req, ResponseWriter& w) {
  return req.body().empty() || (!too_large(ctx, req, w) && !not_json(req, w));
}

std::optional<nlohmann::json> json_body(context& ctx, const Request& req,
                                        ResponseWriter& w) {
  const auto& body = req.body();
  if (too_large(ctx, req, w))
    return std::nullopt;
  // No body at all is a missing JSON object, whatever the Content-Type
  // (curl -X POST sends none): 400, not 415.
  if (body.empty()) {
    send_error(w, 400, "invalid_request", "the body must be a JSON object");
    return std::nullopt;
  }
  if (not_json(req, w))
    return std::nullopt;
  if (json_too_deep(body)) {
    send_error(w, 400, "invalid_request", "the body nests too deeply");
    return std::nullopt;
  }
  auto doc = parse_json_document(body);
  if (doc.is_discarded()) {
    send_error(w, 400, "invalid_request", "the body is not valid JSON");
    return std::nullopt;
  }
  if (!doc.is_object()) {
    send_error(w, 400, "invalid_request", "the body must be a JSON object");
    return std::nullopt;
  }
  return doc;
}

void send_actor_error(ResponseWriter& w, const caf::error& err) {
  auto code = code_of(err);
  auto msg = message_of(err);
  switch (code) {
    case ec::invalid_request:
      send_error(w, 400, "invalid_request", msg);
      break;
    case ec::conflict:
      send_error(w, 409, "conflict", msg);
      break;
    case ec::not_found:
      send_error(w, 404, "not_found", msg);
      break;
    case ec::forbidden:
      send_error(w, 403, "forbidden", msg);
      break;
    default:
      send_retry_later(w, 503, "unavailable",
                       msg.empty() ? "the service is unavailable, try again"
                                   : msg,
                       1);
  }
}

void log_answer_failure(const std::exception& e) {
  telemetry::log(telemetry::level::error, "answering a request failed",
                 {{"error", std::string_view{e.what()}}});
}

} // namespace bellhop::http
