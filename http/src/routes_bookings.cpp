// POST /bookings and GET /bookings/{id}.
#include <nlohmann/json.hpp>

#include "ask.hpp"
#include "routes.hpp"
#include "validation.hpp"

namespace bellhop::http {

std::optional<std::string> idempotency_key(const Request& req,
                                           ResponseWriter& w) {
  auto raw = req.headers().tryGetRaw("Idempotency-Key");
  if (!raw)
    return std::string{};
  if (!valid_idempotency_key(raw->value())) {
    send_error(w, 400, "invalid_request",
               "Idempotency-Key must be 1-128 printable ASCII characters",
               "Idempotency-Key");
    return std::nullopt;
  }
  return raw->value();
}

void post_booking(context& ctx, const Request& req, ResponseWriter w) {
  auto who = authenticate(ctx, req, w);
  if (!who)
    return;
  if (who->role == auth::role::host) {
    send_error(w, 403, "forbidden", "hosts cannot book rooms");
    return;
  }
  auto body = json_body(ctx, req, w);
  if (!body)
    return;
  booking_request msg;
  if (auto err = parse_booking(*body, *who, msg, false)) {
    send_error(w, 400, "invalid_request", err->message, err->field);
    return;
  }
  auto key = idempotency_key(req, w);
  if (!key)
    return;
  if (auto wait = ctx.booking_limit.take("guest:" + msg.guest_id); wait > 0) {
    send_retry_later(w, 429, "rate_limited", "too many bookings", wait);
    return;
  }
  msg.principal = who->key();
  msg.idem_key = *key;
  if (!key->empty())
    msg.fingerprint = booking_fingerprint(msg);
  ask<created_reply>(ctx, std::move(w), std::move(msg),
                     [](ResponseWriter& w, created_reply& r) {
                       add_header(w, "Location", r.location);
                       send_json(w, 201, r.body);
                     });
}

void get_booking(context& ctx, const Request& req, ResponseWriter w,
                 const std::string& id) {
  auto who = authenticate(ctx, req, w);
  if (!who)
    return;
  auto read = read_or_503(w, [&] { return ctx.queries.booking(id); });
  if (!read)
    return;
  auto& doc = *read;
  bool allowed = false;
  if (doc) {
    if (who->role == auth::role::service || who->role == auth::role::admin) {
      allowed = true;
    } else {
      auto b = nlohmann::json::parse(*doc, nullptr, false);
      auto owner = who->role == auth::role::host ? "hostId" : "guestId";
      allowed = b.is_object() && b.value(owner, "") == who->sub;
    }
  }
  if (!allowed) {
    // Existence is not revealed to those who may not see the booking.
    send_error(w, 404, "not_found", "no such booking");
    return;
  }
  send_json(w, 200, *doc);
}

} // namespace bellhop::http
