// Command-line options of `bellhop serve` and `bellhop token`: a table of
// known long options, `--name value` / `--name=value` parsing, and a TOML
// file (`--config`) whose keys are the same names without dashes. Flags
// given on the command line override the environment, which overrides the
// file.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace bellhop::app {

/// A usage error: exit code 2 with this message.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct option_spec {
  const char* name;  ///< without dashes
  bool takes_value;
  bool repeatable;
  const char* help;
};

class options {
public:
  /// Parses argv[first..]; throws usage_error on an unknown option or a
  /// missing value.
  options(const std::vector<option_spec>& specs, int argc, char** argv,
          int first);

  /// Takes `name` from the environment variable `var` (when it is set and
  /// not empty) unless the command line gave it: call before
  /// `load_config_file`, so that flags beat the environment and the
  /// environment beats the file.
  /// Returns whether it took it.
  bool take_from_environment(const std::string& name, const char* var);

  /// Loads the TOML file named by --config (if any) under the flags.
  void load_config_file();

  bool has(const std::string& name) const;
  std::string str(const std::string& name, const std::string& fallback) const;
  std::vector<std::string> all(const std::string& name) const;
  int64_t integer(const std::string& name, int64_t fallback, int64_t lo,
                  int64_t hi) const;
  double number(const std::string& name, double fallback) const;
  /// A size in bytes: a number with an optional K, M, G suffix (powers of 2).
  uint64_t size(const std::string& name, uint64_t fallback) const;
  /// A duration: a whole number with a unit, ms, s, m, h or d ("30d");
  /// "0" alone is zero.
  std::chrono::milliseconds duration(const std::string& name,
                                     std::chrono::milliseconds fallback) const;
  bool flag(const std::string& name) const;

  static std::string help_text(const std::vector<option_spec>& specs);

private:
  const option_spec* find(const std::string& name) const;
  std::vector<option_spec> specs_;
  std::map<std::string, std::vector<std::string>> values_;
};

} // namespace bellhop::app
