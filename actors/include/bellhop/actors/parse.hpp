// Parsing of request documents that both front ends accept: the REST API
// and the WebSocket protocols share one set of rules.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "bellhop/actors/messages.hpp"

namespace bellhop {

/// A rule a request broke.
struct invalid {
  std::string field;  ///< empty when no single field is at fault
  std::string message;
};

/// Deepest nesting of objects and arrays the front ends accept in a JSON
/// document: deep enough for any request of the API, shallow enough that no
/// recursive walk (serialising `data`, say) can exhaust a thread's stack.
constexpr std::size_t max_json_depth = 64;

/// True when `text` nests objects/arrays deeper than `max_depth` (brackets
/// inside strings do not count). O(size), no allocation: call before parse.
bool json_too_deep(std::string_view text, std::size_t max_depth = max_json_depth);

/// `text` parsed as one JSON document that fills it; a discarded value when
/// it is not one. nlohmann's parser takes a NUL byte for the end of its
/// input and would ignore whatever follows it, so a NUL anywhere (never
/// valid in JSON text) makes the document invalid here. For every document
/// a client sends.
nlohmann::json parse_json_document(std::string_view text);

/// A mark-read document: exactly one of {"ids":[...]} (at most 1000
/// positive ids), {"upTo":N} or {"all":true}. Other keys are ignored.
/// host_id, by and via are left to the caller.
std::optional<invalid> parse_mark_read(const nlohmann::json& body,
                                       mark_read_request& out);

} // namespace bellhop
