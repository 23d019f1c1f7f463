// Parsing of request documents that both front ends accept: the REST API
// and the WebSocket protocols share one set of rules.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "bellhop/actors/messages.hpp"

namespace bellhop {

/// A rule a request broke.
struct invalid {
  std::string field;  ///< empty when no single field is at fault
  std::string message;
};

/// A mark-read document: exactly one of {"ids":[...]} (at most 1000
/// positive ids), {"upTo":N} or {"all":true}. Other keys are ignored.
/// host_id, by and via are left to the caller.
std::optional<invalid> parse_mark_read(const nlohmann::json& body,
                                       mark_read_request& out);

} // namespace bellhop
