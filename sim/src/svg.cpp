// The report's SVG charts (see svg.hpp).
#include "svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace bellhop::sim::svg {

namespace {

constexpr double width = 760, height = 300;
constexpr double left = 72, right = 34, top = 44, bottom = 40;
constexpr double plot_w = width - left - right;
constexpr double plot_h = height - top - bottom;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

/// The smallest 1, 2 or 5 times a power of ten that is >= v.
double nice_ceil(double v) {
  if (v <= 0)
    return 1;
  double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= v)
      return m * p;
  return 10 * p;
}

std::string count_text(double v) {
  char buf[32];
  if (v >= 1e6)
    std::snprintf(buf, sizeof buf, "%.3gM", v / 1e6);
  else if (v >= 1e4)
    std::snprintf(buf, sizeof buf, "%.3gk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string open_svg(const std::string& title) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
         "viewBox=\"0 0 " + num(width) + " " + num(height) + "\" width=\""
         + num(width) + "\" height=\"" + num(height) + "\" role=\"img\">\n"
         "<title>" + escape(title) + "</title>\n"
         "<rect x=\"0\" y=\"0\" width=\"" + num(width) + "\" height=\""
         + num(height) + "\" fill=\"#fff\"/>\n"
         "<text x=\"" + num(left) + "\" y=\"20\" class=\"title\">"
         + escape(title) + "</text>\n";
}

std::string frame() {
  return "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\""
         + num(plot_w) + "\" height=\"" + num(plot_h)
         + "\" fill=\"none\" stroke=\"#888\"/>\n";
}

std::string x_tick(double x, const std::string& label) {
  return "<line x1=\"" + num(x) + "\" y1=\"" + num(top + plot_h) + "\" x2=\""
         + num(x) + "\" y2=\"" + num(top + plot_h + 5)
         + "\" stroke=\"#888\"/>\n<text x=\"" + num(x) + "\" y=\""
         + num(top + plot_h + 18) + "\" text-anchor=\"middle\">"
         + escape(label) + "</text>\n";
}

std::string y_tick(double y, const std::string& label) {
  return "<line x1=\"" + num(left) + "\" y1=\"" + num(y) + "\" x2=\""
         + num(left + plot_w) + "\" y2=\"" + num(y)
         + "\" stroke=\"#eee\"/>\n<text x=\"" + num(left - 6) + "\" y=\""
         + num(y + 4) + "\" text-anchor=\"end\">" + escape(label)
         + "</text>\n";
}

std::string no_data(const std::string& title) {
  return open_svg(title) + frame() + "<text x=\"" + num(left + plot_w / 2)
         + "\" y=\"" + num(top + plot_h / 2)
         + "\" text-anchor=\"middle\">no data</text>\n</svg>\n";
}

} // namespace

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string duration_text(double us) {
  char buf[32];
  // The unit by the value as printed: 999.7 us is "1 ms", not "1000 us",
  // and 999.7 ms "1 s", not "1e+03 ms".
  if (us < 999.5)
    std::snprintf(buf, sizeof buf, "%.0f us", us);
  else if (us < 999'500)
    std::snprintf(buf, sizeof buf, "%.3g ms", us / 1e3);
  else if (us < 999'500'000)
    std::snprintf(buf, sizeof buf, "%.3g s", us / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.0f s", us / 1e6);
  return buf;
}

std::string line_chart(const std::string& title, const std::string& y_label,
                       const std::vector<line>& lines, bool log_y) {
  double max_x = 0, min_y = INFINITY, max_y = 0;
  for (auto& l : lines)
    for (auto& [x, y] : l.points) {
      if (log_y && y <= 0)
        continue;
      max_x = std::max(max_x, x);
      min_y = std::min(min_y, y);
      max_y = std::max(max_y, y);
    }
  if (max_y <= 0)
    return no_data(title);
  max_x = std::max(max_x, 1.0);
  double y_lo = 0, y_hi = nice_ceil(max_y);
  if (log_y) {
    y_lo = std::floor(std::log10(min_y));
    y_hi = std::max(std::ceil(std::log10(max_y)), y_lo + 1);
  }
  auto px = [&](double x) { return left + x / max_x * plot_w; };
  auto py = [&](double y) {
    double f = log_y ? (std::log10(y) - y_lo) / (y_hi - y_lo) : y / y_hi;
    return top + plot_h - f * plot_h;
  };

  std::string s = open_svg(title) + frame();
  if (log_y) {
    for (double e = y_lo; e <= y_hi + 1e-9; e += 1)
      s += y_tick(py(std::pow(10.0, e)), duration_text(std::pow(10.0, e)));
  } else {
    for (int i = 0; i <= 5; ++i)
      s += y_tick(py(y_hi * i / 5), count_text(y_hi * i / 5));
  }
  double step = nice_ceil(max_x / 8);
  for (double x = 0; x <= max_x + 1e-9; x += step)
    s += x_tick(px(x), count_text(x) + " s");
  s += "<text x=\"14\" y=\"" + num(top + plot_h / 2)
       + "\" transform=\"rotate(-90 14 " + num(top + plot_h / 2)
       + ")\" text-anchor=\"middle\">" + escape(y_label) + "</text>\n";

  double legend_x = left + plot_w;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    legend_x -= 16 + 7.5 * static_cast<double>(it->name.size()) + 14;
    s += "<rect x=\"" + num(legend_x) + "\" y=\"28\" width=\"12\" "
         "height=\"8\" fill=\"" + escape(it->color) + "\"/>\n<text x=\""
         + num(legend_x + 16) + "\" y=\"36\">" + escape(it->name)
         + "</text>\n";
  }
  for (auto& l : lines) {
    std::string pts;
    for (auto& [x, y] : l.points) {
      if (log_y && y <= 0)
        continue;
      pts += num(px(x)) + "," + num(py(y)) + " ";
    }
    if (pts.empty())
      continue;
    s += "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\""
         + escape(l.color) + "\" points=\"" + pts + "\"><title>"
         + escape(l.name) + "</title></polyline>\n";
  }
  return s + "</svg>\n";
}

std::string histogram_chart(
  const std::string& title, const std::vector<bucket>& buckets,
  const std::vector<std::pair<std::string, uint64_t>>& marks) {
  if (buckets.empty())
    return no_data(title);
  // Regroup the fine buckets into bins of 1/10 decade.
  constexpr double bins_per_decade = 10;
  double lo = std::floor(std::log10(std::max<double>(1, buckets.front().low))
                         * bins_per_decade) / bins_per_decade;
  double hi = std::ceil(std::log10(static_cast<double>(buckets.back().high) + 1)
                        * bins_per_decade) / bins_per_decade;
  lo = std::floor(lo);
  hi = std::max(std::ceil(hi), lo + 1);
  auto n_bins = static_cast<std::size_t>((hi - lo) * bins_per_decade + 0.5);
  std::vector<double> bins(n_bins, 0);
  for (auto& b : buckets) {
    double mid = (static_cast<double>(b.low) + static_cast<double>(b.high)) / 2;
    double pos = (std::log10(std::max(mid, 1.0)) - lo) * bins_per_decade;
    auto i = static_cast<std::size_t>(std::clamp(pos, 0.0, n_bins - 1.0));
    bins[i] += static_cast<double>(b.n);
  }
  double max_n = nice_ceil(*std::max_element(bins.begin(), bins.end()));
  auto px = [&](double log_us) {
    return left + (log_us - lo) / (hi - lo) * plot_w;
  };
  auto py = [&](double n) { return top + plot_h - n / max_n * plot_h; };

  std::string s = open_svg(title) + frame();
  for (int i = 0; i <= 5; ++i)
    s += y_tick(py(max_n * i / 5), count_text(max_n * i / 5));
  for (double e = lo; e <= hi + 1e-9; e += 1)
    s += x_tick(px(e), duration_text(std::pow(10.0, e)));
  double bar_w = plot_w / static_cast<double>(n_bins);
  for (std::size_t i = 0; i < n_bins; ++i) {
    if (bins[i] <= 0)
      continue;
    double x = left + static_cast<double>(i) * bar_w;
    s += "<rect class=\"bar\" x=\"" + num(x + 0.5) + "\" y=\""
         + num(py(bins[i])) + "\" width=\"" + num(std::max(bar_w - 1, 0.5))
         + "\" height=\"" + num(top + plot_h - py(bins[i]))
         + "\" fill=\"#4a7ebb\"><title>" + count_text(bins[i]) + " between "
         + duration_text(std::pow(10.0, lo + i / bins_per_decade)) + " and "
         + duration_text(std::pow(10.0, lo + (i + 1) / bins_per_decade))
         + "</title></rect>\n";
  }
  double label_y = top + 12;
  for (auto& [name, us] : marks) {
    if (us == 0)
      continue;
    double x = px(std::log10(static_cast<double>(us)));
    s += "<line x1=\"" + num(x) + "\" y1=\"" + num(top) + "\" x2=\"" + num(x)
         + "\" y2=\"" + num(top + plot_h)
         + "\" stroke=\"#c0392b\" stroke-dasharray=\"4 3\"/>\n";
    // Labels near the right edge go on the left of their line.
    bool flip = x > left + plot_w * 0.7;
    s += "<text x=\"" + num(flip ? x - 3 : x + 3) + "\" y=\"" + num(label_y)
         + "\" fill=\"#c0392b\"" + (flip ? " text-anchor=\"end\"" : "") + ">"
         + escape(name + " " + duration_text(static_cast<double>(us)))
         + "</text>\n";
    label_y += 14;
  }
  s += "<text x=\"14\" y=\"" + num(top + plot_h / 2)
       + "\" transform=\"rotate(-90 14 " + num(top + plot_h / 2)
       + ")\" text-anchor=\"middle\">bookings</text>\n";
  return s + "</svg>\n";
}

} // namespace bellhop::sim::svg
