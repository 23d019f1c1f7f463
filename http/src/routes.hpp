// The REST routes and the checks they share. Each route function runs on a
// Pistache reactor thread and either answers at once or hands the
// ResponseWriter to an actor request (ask.hpp); it never blocks.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "bellhop/auth/jwt.hpp"
#include "context.hpp"
#include "reply.hpp"
#include "request_parts.hpp"

namespace bellhop::http {

/// The verified principal, after the rate limit; nullopt when an answer
/// (401 or 429) was already sent. A host or guest token whose sub is not a
/// valid id is a bad token (401).
std::optional<auth::principal> authenticate(context& ctx, const Request& req,
                                            ResponseWriter& w);

/// The limit of requests without a token, per client address (§4): true
/// when this one is over it and was answered 429.
bool over_address_limit(context& ctx, const Request& req, ResponseWriter& w);

/// The host a host-scoped request is about: the host's own id, or the
/// `hostId=` an admin names. nullopt when an answer (400/403) was sent.
std::optional<std::string> target_host(const auth::principal& who,
                                       const Request& req, ResponseWriter& w);

/// A host-scoped request: the principal and the host it is about, after
/// authentication and target_host; nullopt when an answer was sent.
struct host_request {
  auth::principal who;
  std::string host;
};
std::optional<host_request> authorize_host(context& ctx, const Request& req,
                                           ResponseWriter& w);

/// The `limit` query parameter (1-100, default 20); nullopt when a 400 was
/// sent.
std::optional<std::size_t> limit_param(const Request& req, ResponseWriter& w);

/// {"items":<items>,"nextCursor":<cursor or null><extra>}
std::string page_json(const list_page& page, const std::string& extra = "");

/// §4's rules for any body, on a request that takes none (a GET): over
/// 64 KiB is 413, one that is not application/json is 415 (a JSON body is
/// ignored). False when an answer was sent. (authenticate applies it.)
bool stray_body_allowed(context& ctx, const Request& req, ResponseWriter& w);

/// The body parsed as JSON after the 413/415/400 checks; nullopt when an
/// answer was sent.
std::optional<nlohmann::json> json_body(context& ctx, const Request& req,
                                        ResponseWriter& w);

/// The Idempotency-Key header: "" when absent, nullopt (answered 400) when
/// malformed.
std::optional<std::string> idempotency_key(const Request& req,
                                           ResponseWriter& w);

void post_booking(context& ctx, const Request& req, ResponseWriter w);
void get_booking(context& ctx, const Request& req, ResponseWriter w,
                 const std::string& id);
void post_notification(context& ctx, const Request& req, ResponseWriter w);
void get_count(context& ctx, const Request& req, ResponseWriter w);
void get_list(context& ctx, const Request& req, ResponseWriter w);
void post_mark_read(context& ctx, const Request& req, ResponseWriter w);
void get_preferences(context& ctx, const Request& req, ResponseWriter w);
void put_preferences(context& ctx, const Request& req, ResponseWriter w);
void get_audit(context& ctx, const Request& req, ResponseWriter w);

} // namespace bellhop::http
