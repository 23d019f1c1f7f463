// Inline SVG charts for the HTML report: a line chart (rates and latency
// over time) and a latency histogram on a logarithmic time axis. Plain
// strings, no scripts, no external assets.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace bellhop::sim::svg {

struct line {
  std::string name;
  std::string color;  ///< any CSS colour
  std::vector<std::pair<double, double>> points;  ///< (x, y)
};

/// x is seconds; with `log_y` the y axis is logarithmic (values <= 0 are
/// left out) and y values are microseconds shown as durations.
std::string line_chart(const std::string& title, const std::string& y_label,
                       const std::vector<line>& lines, bool log_y);

struct bucket {
  uint64_t low, high, n;  ///< microseconds
};

/// Counts per latency bucket, regrouped into bins of equal width on a log
/// axis; `marks` are labelled vertical lines (percentiles).
std::string histogram_chart(
  const std::string& title, const std::vector<bucket>& buckets,
  const std::vector<std::pair<std::string, uint64_t>>& marks);

/// "850 us", "1.25 ms", "2.1 s".
std::string duration_text(double us);

/// Text safe inside HTML/SVG elements and attributes.
std::string escape(const std::string& text);

} // namespace bellhop::sim::svg
