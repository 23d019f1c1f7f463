// Fuzzes the native WebSocket client ops (§5): ping, ack and mark-read,
// through decode_client_op (ws/src/client_ops.cpp), the function the
// session actor calls on every text frame. Socket.IO events reach the same
// code: socketio_session turns ["mark-read",{...}] into {"op":"mark-read"}.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "client_ops.hpp"
#include "fuzz_check.hpp"

namespace {

// As in session_actor.cpp's error frames.
using json = nlohmann::ordered_json;
using namespace bellhop;
using ws::client_op;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string text{fuzz::as_text(data, size)};
  auto d = ws::decode_client_op(text);
  switch (d.kind) {
    case client_op::invalid:
      FUZZ_CHECK(!d.error.empty());
      {
        // As send_error: a strict dump, which throws on invalid UTF-8.
        json e;
        e["event"] = "error";
        e["data"] = json{{"code", "invalid_request"}, {"message", d.error}};
        (void) e.dump();
      }
      break;
    case client_op::ping:
      break;
    case client_op::ack:
      FUZZ_CHECK(d.ack_id >= 1);  // any positive 64-bit id, as mark-read
      break;
    case client_op::mark_read:
      switch (static_cast<mark_mode>(d.mark.mode)) {
        case mark_mode::ids:
          FUZZ_CHECK(d.mark.ids.size() <= 1000);
          for (auto id : d.mark.ids)
            FUZZ_CHECK(id >= 1);  // ids use all 64 bits
          break;
        case mark_mode::up_to:
          break;  // any 64-bit watermark
        case mark_mode::all:
          break;
        default:
          FUZZ_CHECK(!"unknown mark mode");
      }
      break;
  }
  return 0;
}
