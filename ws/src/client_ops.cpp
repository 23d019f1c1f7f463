// Decoding native client messages.
#include "client_ops.hpp"

#include <nlohmann/json.hpp>

#include "bellhop/actors/parse.hpp"

namespace bellhop::ws {

decoded_op decode_client_op(std::string_view text) {
  decoded_op d;
  if (json_too_deep(text)) {
    d.error = "the message nests too deeply";
    return d;
  }
  // nlohmann::json is what parse_mark_read takes: the document is never
  // copied.
  auto msg = parse_json_document(text);
  if (msg.is_discarded() || !msg.is_object() || !msg.contains("op")
      || !msg["op"].is_string()) {
    d.error = "expected a JSON object with an op";
    return d;
  }
  auto op = msg["op"].get<std::string>();
  if (op == "ping") {
    d.kind = client_op::ping;
  } else if (op == "ack") {
    auto id = msg.find("id");
    // Ids are positive and may use all 64 bits (as in mark-read).
    if (id == msg.end() || !id->is_number_unsigned() || id->get<uint64_t>() < 1) {
      d.error = "ack needs a notification id";
      return d;
    }
    d.kind = client_op::ack;
    d.ack_id = id->get<uint64_t>();
  } else if (op == "mark-read") {
    if (auto err = parse_mark_read(msg, d.mark)) {
      d.error = err->message;
      return d;
    }
    d.kind = client_op::mark_read;
  } else {
    d.error = "unknown op: " + op;
  }
  return d;
}

} // namespace bellhop::ws
