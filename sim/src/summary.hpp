// The text a run ends with (stdout): the figures that matter most, in a
// few lines, and the verdict naming what was lost or duplicated.
#pragma once

#include <ostream>

#include <nlohmann/json.hpp>

namespace bellhop::sim {

void print_summary(std::ostream& out, const nlohmann::ordered_json& figures);

} // namespace bellhop::sim
