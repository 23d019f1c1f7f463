// The web page's side of the REST port (§8, §9 --demo): the files of web/,
// embedded in the binary at build time (cmake/embed_web.cmake), and two small
// documents made at run time: /config.json, which tells the page the
// WebSocket port, and, in demo mode only, /demo/token, a fresh guest token
// for the /demo booking page.
#pragma once

#include <cstddef>

// Light on purpose: the generated web_files.cpp includes this header.
namespace Pistache::Http {
class Request;
class ResponseWriter;
} // namespace Pistache::Http

namespace bellhop::http {

struct context;

/// One file of web/, as generated into web_files.cpp.
struct embedded_file {
  const char* path;           ///< "/app.js"
  const unsigned char* data;  ///< the bytes (NUL-terminated, not counted)
  std::size_t size;
  const char* etag;           ///< strong, quoted: a prefix of the SHA-256
  const char* version;        ///< the `?v=` that HTML files refer to it with
};

/// Every file of web/, sorted by path.
extern const embedded_file embedded_files[];
extern const std::size_t embedded_file_count;

/// Answers a GET the API routes did not take: `/` (index.html), a file of
/// web/, `/config.json`, and in demo mode `/demo` and `/demo/token`. Returns
/// false, having sent nothing, when the path is none of these.
bool serve_static(context& ctx, const Pistache::Http::Request& req,
                  Pistache::Http::ResponseWriter& w);

} // namespace bellhop::http
