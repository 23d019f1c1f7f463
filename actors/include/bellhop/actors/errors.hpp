// bellhop's error codes, carried as caf::error values (category "bellhop")
// between actors, and turned into HTTP statuses at the edge.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>

namespace bellhop {

enum class ec : uint8_t {
  none = 0,
  invalid_request = 1,  ///< 400
  conflict = 2,         ///< 409: overlap, or idempotency key reused
  not_found = 3,        ///< 404
  unavailable = 4,      ///< 503: storage full or failing, node unreachable
  forbidden = 5,        ///< 403
};

/// The error category atom of `ec`.
caf::atom_value error_category();

caf::error make_error(ec code, std::string message);

/// The code of `err` if it is one of ours, else `ec::unavailable` (a CAF
/// error such as a timeout or a dead actor means "try again").
ec code_of(const caf::error& err);

/// The message text of one of our errors ("" otherwise).
std::string message_of(const caf::error& err);

std::string to_string(ec code);

} // namespace bellhop
