// `--report FILE.html`: one self-contained page (inline CSS and SVG, no
// scripts, no external assets) made from the figures document: the
// verdict, the tables, the rate and latency over time and the latency
// histograms.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace bellhop::sim {

std::string render_html(const nlohmann::ordered_json& figures);

} // namespace bellhop::sim
