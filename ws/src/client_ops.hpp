// Decoding a native client message (§5): ping, ack and mark-read. A pure
// function, so that the session actor and the fuzzer run the same code.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bellhop/actors/messages.hpp"

namespace bellhop::ws {

enum class client_op { invalid, ping, ack, mark_read };

struct decoded_op {
  client_op kind = client_op::invalid;
  uint64_t ack_id = 0;      ///< ack
  mark_read_request mark;   ///< mark-read (host, by, via left to the caller)
  std::string error;        ///< invalid: what is wrong, for the error frame
};

/// Decodes one text frame. Never throws; nesting deeper than the front
/// ends accept is refused before parsing.
decoded_op decode_client_op(std::string_view text);

} // namespace bellhop::ws
