// The storage layer's one way to turn an LMDB return code into an exception
// that says what was being done (opening and upgrading the environment).
#pragma once

#include <stdexcept>
#include <string>

#include <lmdb.h>

namespace bellhop::storage {

inline void check(int rc, const std::string& what) {
  if (rc != 0)
    throw std::runtime_error(what + ": " + mdb_strerror(rc));
}

} // namespace bellhop::storage
