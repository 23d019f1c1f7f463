// Option parsing and the TOML config file.
#include "options.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <string_view>
#include <system_error>

#include <toml++/toml.h>

namespace bellhop::app {

options::options(const std::vector<option_spec>& specs, int argc, char** argv,
                 int first)
  : specs_(specs) {
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0)
      throw usage_error("unexpected argument: " + arg);
    std::string name = arg.substr(2), value;
    bool inline_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    auto spec = find(name);
    if (spec == nullptr)
      throw usage_error("unknown option: --" + name);
    if (spec->takes_value && !inline_value) {
      if (i + 1 >= argc)
        throw usage_error("--" + name + " needs a value");
      value = argv[++i];
    } else if (!spec->takes_value) {
      if (inline_value && value != "true" && value != "false")
        throw usage_error("--" + name + " takes no value");
      if (!inline_value)
        value = "true";
    }
    auto& v = values_[name];
    if (!spec->repeatable)
      v.clear();
    v.push_back(value);
  }
}

bool options::take_from_environment(const std::string& name,
                                    const char* var) {
  const char* v = std::getenv(var);
  if (v == nullptr || *v == '\0' || values_.count(name) > 0)
    return false;
  values_[name].push_back(v);
  return true;
}

void options::load_config_file() {
  if (!has("config"))
    return;
  auto path = str("config", "");
  // toml++ reads a directory as an empty file: every setting would be lost
  // without a word.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw usage_error("cannot read config file " + path + ": a directory");
  toml::table tbl;
  try {
    tbl = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw usage_error("cannot read config file " + path + ": "
                      + std::string{e.description()});
  }
  for (auto&& [key, node] : tbl) {
    std::string name{key.str()};
    auto spec = find(name);
    if (spec == nullptr || name == "config" || name == "help")
      throw usage_error("unknown key in " + path + ": " + name);
    // By the node's own type: toml++ converts between types on request (a
    // boolean read as an integer is 1), so asking would lose switches.
    auto to_text = [&](const toml::node& n) -> std::string {
      if (!spec->takes_value) {
        // A TOML boolean, or the words a flag would take (--name=true).
        if (n.is_boolean())
          return n.as_boolean()->get() ? "true" : "false";
        if (n.is_string()
            && (n.as_string()->get() == "true" || n.as_string()->get() == "false"))
          return n.as_string()->get();
        throw usage_error(name + " in " + path + " is a switch: true or false");
      }
      if (n.is_string())
        return n.as_string()->get();
      if (n.is_integer())
        return std::to_string(n.as_integer()->get());
      if (n.is_floating_point()) {
        // The shortest plain decimal that reads back as the same value, as
        // a flag would be written (std::to_string keeps six decimals: 1e-7
        // would read as 0, which turns a limit off).
        char buf[512];
        auto r = std::to_chars(buf, buf + sizeof buf, n.as_floating_point()->get(),
                               std::chars_format::fixed);
        if (r.ec != std::errc{})
          throw usage_error("unsupported value for " + name + " in " + path);
        return std::string(buf, r.ptr);
      }
      throw usage_error("unsupported value for " + name + " in " + path);
    };
    if (node.is_array() && !spec->repeatable)
      throw usage_error(name + " in " + path + " takes one value, not a list");
    // Every key's shape is checked, even one the command line overrides, so
    // a broken file is found before the flag that hides it is dropped.
    std::vector<std::string> from_file;
    if (auto arr = node.as_array()) {
      for (auto& el : *arr)
        from_file.push_back(to_text(el));
    } else {
      from_file.push_back(to_text(node));
    }
    if (values_.count(name) > 0)
      continue;  // the command line wins
    values_[name] = std::move(from_file);
  }
}

const option_spec* options::find(const std::string& name) const {
  for (auto& s : specs_)
    if (name == s.name)
      return &s;
  return nullptr;
}

bool options::has(const std::string& name) const {
  return values_.count(name) > 0;
}

std::string options::str(const std::string& name,
                         const std::string& fallback) const {
  auto i = values_.find(name);
  return i == values_.end() ? fallback : i->second.back();
}

std::vector<std::string> options::all(const std::string& name) const {
  auto i = values_.find(name);
  return i == values_.end() ? std::vector<std::string>{} : i->second;
}

int64_t options::integer(const std::string& name, int64_t fallback, int64_t lo,
                         int64_t hi) const {
  if (!has(name))
    return fallback;
  auto text = str(name, "");
  try {
    std::size_t used = 0;
    auto v = std::stoll(text, &used);
    if (used == text.size() && v >= lo && v <= hi)
      return v;
  } catch (...) {
  }
  throw usage_error("--" + name + " must be an integer from "
                    + std::to_string(lo) + " to " + std::to_string(hi));
}

double options::number(const std::string& name, double fallback) const {
  if (!has(name))
    return fallback;
  auto text = str(name, "");
  // Plain decimals only: std::stod alone would take "inf", "nan" and hex.
  bool decimal = !text.empty() && std::isdigit(static_cast<unsigned char>(text[0]))
                 && text.find_first_not_of("0123456789.") == std::string::npos
                 && std::count(text.begin(), text.end(), '.') <= 1;
  try {
    std::size_t used = 0;
    auto v = decimal ? std::stod(text, &used) : -1;
    if (used == text.size() && v >= 0)
      return v;
  } catch (...) {
  }
  throw usage_error("--" + name + " must be a non-negative number");
}

namespace {

struct unit {
  std::string_view name;
  uint64_t factor;
};

/// "<digits><unit>", the unit one of `units`: the number times the unit's
/// factor, or nullopt (no leading sign or space, no overflow).
std::optional<uint64_t> number_with_unit(const std::string& text,
                                         std::initializer_list<unit> units) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0])))
    return std::nullopt;
  std::size_t used = 0;
  uint64_t v = 0;
  try {
    v = std::stoull(text, &used);
  } catch (...) {
    return std::nullopt;
  }
  auto suffix = std::string_view{text}.substr(used);
  for (const auto& u : units)
    if (suffix == u.name) {
      if (u.factor != 0 && v > UINT64_MAX / u.factor)
        return std::nullopt;
      return v * u.factor;
    }
  return std::nullopt;
}

} // namespace

uint64_t options::size(const std::string& name, uint64_t fallback) const {
  if (!has(name))
    return fallback;
  auto v = number_with_unit(str(name, ""),
                            {{"", 1}, {"K", 1ull << 10}, {"KiB", 1ull << 10},
                             {"M", 1ull << 20}, {"MiB", 1ull << 20},
                             {"G", 1ull << 30}, {"GiB", 1ull << 30}});
  if (v && *v > 0)
    return *v;
  throw usage_error("--" + name + " must be a size such as 1073741824 or 1G");
}

std::chrono::milliseconds options::duration(
  const std::string& name, std::chrono::milliseconds fallback) const {
  if (!has(name))
    return fallback;
  auto text = str(name, "");
  auto v = number_with_unit(text, {{"ms", 1}, {"s", 1000}, {"m", 60'000},
                                   {"h", 3'600'000}, {"d", 86'400'000}});
  if (text == "0")
    v = 0;
  constexpr uint64_t century_ms = 3'153'600'000'000;
  if (v && *v <= century_ms)
    return std::chrono::milliseconds(static_cast<int64_t>(*v));
  throw usage_error("--" + name
                    + " must be a duration such as 30d, 12h, 90m, 45s or 0");
}

bool options::flag(const std::string& name) const {
  return has(name) && str(name, "false") == "true";
}

std::string options::help_text(const std::vector<option_spec>& specs) {
  std::string out;
  for (auto& s : specs) {
    std::string left = "  --" + std::string{s.name} + (s.takes_value ? " VALUE" : "");
    if (left.size() < 30)
      left.resize(30, ' ');
    else
      left += "\n" + std::string(30, ' ');
    out += left + s.help + "\n";
  }
  return out;
}

} // namespace bellhop::app
