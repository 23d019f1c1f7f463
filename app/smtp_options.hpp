// The email options of `bellhop serve` (--smtp-*), checked.
#pragma once

#include "bellhop/actors/core.hpp"
#include "options.hpp"

namespace bellhop::app {

/// The SMTP settings the options give (an empty url: email is off). Throws
/// usage_error for an address that is not smtp:// or smtps://, a sender
/// that is not an address (with a name or without), or a --public-url that
/// is not http(s); warns when a password would go in clear to another
/// machine.
smtp_config smtp_config_from(const options& opts);

} // namespace bellhop::app
