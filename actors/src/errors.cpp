// bellhop's error category.
#include "bellhop/actors/errors.hpp"

#include <caf/atom.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace bellhop {

caf::atom_value error_category() {
  return caf::atom("bellhop");
}

caf::error make_error(ec code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), error_category(),
                    caf::make_message(std::move(message))};
}

ec code_of(const caf::error& err) {
  if (err.category() == error_category())
    return static_cast<ec>(err.code());
  return ec::unavailable;
}

std::string message_of(const caf::error& err) {
  if (err.category() == error_category() && err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return {};
}

std::string to_string(ec code) {
  switch (code) {
    case ec::none: return "none";
    case ec::invalid_request: return "invalid_request";
    case ec::conflict: return "conflict";
    case ec::not_found: return "not_found";
    case ec::unavailable: return "unavailable";
    case ec::forbidden: return "forbidden";
  }
  return "unavailable";
}

} // namespace bellhop
