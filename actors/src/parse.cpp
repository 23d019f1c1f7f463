// Request documents shared by the front ends.
#include "bellhop/actors/parse.hpp"

#include <nlohmann/json.hpp>

namespace bellhop {

namespace {

using json = nlohmann::json;

std::optional<invalid> invalid_field(std::string field, std::string message) {
  return invalid{std::move(field), std::move(message)};
}

} // namespace

bool json_too_deep(std::string_view text, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth)
        return true;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return false;
}

json parse_json_document(std::string_view text) {
  if (text.find('\0') != std::string_view::npos)
    return json::value_t::discarded;
  return json::parse(text, nullptr, false);
}

std::optional<invalid> parse_mark_read(const json& body,
                                       mark_read_request& out) {
  if (!body.is_object())
    return invalid_field("", "the body must be a JSON object");
  int forms = body.contains("ids") + body.contains("upTo") + body.contains("all");
  if (forms != 1)
    return invalid_field("", "give exactly one of ids, upTo or all");
  if (auto i = body.find("ids"); i != body.end()) {
    if (!i->is_array())
      return invalid_field("ids", "ids must be an array of notification ids");
    if (i->size() > 1000)
      return invalid_field("ids", "at most 1000 ids");
    out.mode = static_cast<uint8_t>(mark_mode::ids);
    for (auto& x : *i) {
      // Positive JSON integers are unsigned in nlohmann::json; ids the
      // host does not have, however large, are ignored (§4).
      if (!x.is_number_unsigned() || x.get<uint64_t>() < 1)
        return invalid_field("ids", "ids must be positive integers");
      out.ids.push_back(x.get<uint64_t>());
    }
  } else if (auto u = body.find("upTo"); u != body.end()) {
    if (!u->is_number_unsigned())
      return invalid_field("upTo", "upTo must be a non-negative integer");
    out.mode = static_cast<uint8_t>(mark_mode::up_to);
    out.up_to = u->get<uint64_t>();
  } else {
    auto a = body.find("all");
    if (!a->is_boolean() || !a->get<bool>())
      return invalid_field("all", "all must be true");
    out.mode = static_cast<uint8_t>(mark_mode::all);
  }
  return std::nullopt;
}

} // namespace bellhop
