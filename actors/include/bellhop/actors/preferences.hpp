// A host's delivery preferences (§4 GET/PUT /preferences): where email goes,
// which categories use which channel, the email delay and digest mode.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "bellhop/actors/domain.hpp"
#include "bellhop/actors/parse.hpp"

namespace bellhop {

struct channel_prefs {
  bool realtime = true;
  bool email = true;
};

struct preferences {
  std::optional<std::string> email;
  /// By category (booking, review, message, system).
  std::array<channel_prefs, 4> channels{{{true, true}, {true, false},
                                         {true, true}, {true, false}}};
  uint32_t email_delay_seconds = 0;
  bool digest = false;

  const channel_prefs& of(category c) const {
    return channels[static_cast<std::size_t>(c)];
  }

  /// The §4 document.
  std::string to_json() const;
  /// A stored document (trusted: written by to_json); defaults on failure.
  static preferences from_json(std::string_view doc);
};

/// An address emails can go to: one `@` with something on each side, at
/// most 254 characters, printable ASCII without blanks or `<>,;`.
bool valid_email_address(std::string_view addr);

/// Validates a PUT /preferences body: the whole document must be there.
std::optional<invalid> parse_preferences(const nlohmann::json& body,
                                         preferences& out);

} // namespace bellhop
