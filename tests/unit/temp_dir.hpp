// A fresh directory under /tmp, removed with everything in it at the end.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

struct temp_dir {
  std::string path;
  temp_dir() {
    std::string tmpl = "/tmp/bellhop-test-XXXXXX";
    path = mkdtemp(tmpl.data());
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};
