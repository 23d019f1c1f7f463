// Serving web/ from memory with its content types and cache headers, and the
// page's run-time documents /config.json and /demo/token (static_files.hpp).
#include "static_files.hpp"

#include <random>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "context.hpp"
#include "reply.hpp"
#include "request_parts.hpp"
#include "routes.hpp"

namespace bellhop::http {

namespace {

using Pistache::Http::Code;

/// A demo guest's token lives this long; the /demo page asks for a new one
/// when the server refuses it.
constexpr int64_t demo_guest_ttl_seconds = 3600;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size()
         && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

/// The Content-Type of a file, by its extension.
std::string_view content_type(std::string_view path) {
  static constexpr std::pair<std::string_view, std::string_view> types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& [ext, type] : types)
    if (ends_with(path, ext))
      return type;
  return "application/octet-stream";
}

/// The embedded file at `path`, or null. O(files): there are a handful.
const embedded_file* find_file(std::string_view path) {
  for (std::size_t i = 0; i < embedded_file_count; ++i)
    if (path == embedded_files[i].path)
      return &embedded_files[i];
  return nullptr;
}

void send_file(const Request& req, ResponseWriter& w, const embedded_file& f) {
  bool html = ends_with(f.path, ".html");
  // HTML is revalidated on every load: it names the current version of each
  // asset. An asset asked for by that version never changes under its URL,
  // so it may be cached for a year; asked for without it (or with an old
  // one), it is revalidated like HTML.
  auto v = query_param(req, "v");
  bool immutable = !html && v && *v == f.version;
  add_header(w, "ETag", f.etag);
  add_header(w, "Cache-Control",
             immutable ? "public, max-age=31536000, immutable" : "no-cache");
  add_header(w, "X-Content-Type-Options", "nosniff");
  if (html) {
    // A host link carries its token in the query until the page removes it:
    // no Referer may take it elsewhere. Scripts and styles come only from
    // this server; the socket goes to the WebSocket port.
    add_header(w, "Referrer-Policy", "no-referrer");
    add_header(w, "Content-Security-Policy",
               "default-src 'self'; connect-src 'self' ws: wss:; "
               "img-src 'self' data:; base-uri 'none'; "
               "frame-ancestors 'none'; form-action 'self'");
  }
  if (etag_matches(req, f.etag)) {
    send_status(w, 304);
    return;
  }
  send_body(w, 200,
            {reinterpret_cast<const char*>(f.data), static_cast<std::size_t>(f.size)},
            content_type(f.path));
}

/// {"wsPort":N,"demo":bool}: what the page cannot know from its own URL.
void send_config(const context& ctx, ResponseWriter& w) {
  add_header(w, "Cache-Control", "no-store");
  send_json(w, 200,
            "{\"wsPort\":" + std::to_string(ctx.cfg.ws_port)
              + ",\"demo\":" + (ctx.cfg.demo ? "true" : "false") + "}");
}

/// `n` random hex digits. Demo guest ids need to be distinct, not secret.
std::string random_hex(int n) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < n; ++i)
    s.push_back(digits[rng() % 16]);
  return s;
}

/// A fresh demo guest and its token, with the demo hosts to book with.
/// Rate limited per client address like any unauthenticated request.
void send_demo_token(context& ctx, const Request& req, ResponseWriter& w) {
  if (over_address_limit(ctx, req, w))
    return;
  auto guest = "g-demo-" + random_hex(6);
  auto token = auth::sign_hs256(ctx.cfg.jwt.secret, guest, auth::role::guest,
                                demo_guest_ttl_seconds);
  if (token.empty()) {
    send_retry_later(w, 503, "unavailable", "cannot sign a token", 1);
    return;
  }
  nlohmann::ordered_json doc;
  doc["token"] = token;
  doc["guestId"] = guest;
  doc["expiresIn"] = demo_guest_ttl_seconds;
  doc["hosts"] = ctx.cfg.demo_hosts;
  add_header(w, "Cache-Control", "no-store");
  send_json(w, 200, doc.dump());
}

} // namespace

bool serve_static(context& ctx, const Request& req, ResponseWriter& w) {
  auto path = origin_path(req);
  if (path == "/config.json") {
    send_config(ctx, w);
    return true;
  }
  // /demo, /demo/token and the files of web/ named demo* exist only in demo
  // mode; otherwise they are unknown paths like any other.
  if (starts_with(path, "/demo") && !ctx.cfg.demo)
    return false;
  if (path == "/demo/token") {
    send_demo_token(ctx, req, w);
    return true;
  }
  std::string_view name = path;
  if (path == "/")
    name = "/index.html";
  else if (path == "/demo")
    name = "/demo.html";
  const auto* f = find_file(name);
  if (f == nullptr)
    return false;
  send_file(req, w, *f);
  return true;
}

} // namespace bellhop::http
