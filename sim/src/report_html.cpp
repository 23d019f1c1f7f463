// The HTML report (see report_html.hpp).
#include "report_html.hpp"

#include <cstdio>

#include "svg.hpp"

namespace bellhop::sim {

namespace {

using ojson = nlohmann::ordered_json;
using svg::escape;

std::string text_of(const ojson& v) {
  if (v.is_null())
    return "-";  // not measured: no check, or the run was not aborted
  if (v.is_string())
    return v.get<std::string>();
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v.get<double>());
    return buf;
  }
  return v.dump();
}

std::string row(const std::string& name, const std::string& value) {
  return "<tr><th>" + escape(name) + "</th><td>" + escape(value)
         + "</td></tr>\n";
}

/// A two-column table of every scalar member of an object.
std::string object_table(const std::string& caption, const ojson& obj) {
  std::string s = "<table><caption>" + escape(caption) + "</caption>\n";
  for (auto& [k, v] : obj.items())
    if (!v.is_structured() || (v.is_object() && !v.empty())
        || (v.is_array() && !v.empty() && v[0].is_string()))
      s += row(k, text_of(v));
  return s + "</table>\n";
}

std::string latency_table(const ojson& lat) {
  static const std::pair<const char*, const char*> rows[] = {
    {"post", "POST /bookings (scheduled send to answer)"},
    {"socketLive", "send to socket, live pushes"},
    {"socketAll", "send to socket, live and caught up"},
    {"scheduleLag", "simulator's own lag (due to handed to its pool)"},
    {"poolQueue", "waited in the simulator's pool for a connection"}};
  std::string s = "<table><caption>Latency</caption>\n<tr><th></th>"
                  "<th>count</th><th>p50</th><th>p90</th><th>p99</th>"
                  "<th>p99.9</th><th>max</th></tr>\n";
  for (auto& [key, label] : rows) {
    const auto& h = lat[key];
    s += "<tr><th>" + escape(label) + "</th><td>"
         + text_of(h["count"]) + "</td>";
    for (auto p : {"p50", "p90", "p99", "p999", "max"})
      s += "<td>" + escape(svg::duration_text(h[p].get<double>())) + "</td>";
    s += "</tr>\n";
  }
  auto cut_off = lat["post"].value("cutOff", uint64_t{0});
  if (cut_off > 0)
    s += "<tr><td colspan=\"7\">POST /bookings includes " + text_of(cut_off)
         + " bookings with no answer, counted at the time they waited (a "
           "lower bound)</td></tr>\n";
  return s + "</table>\n";
}

std::vector<svg::bucket> buckets(const ojson& arr) {
  std::vector<svg::bucket> out;
  for (auto& b : arr)
    out.push_back({b[0].get<uint64_t>(), b[1].get<uint64_t>(),
                   b[2].get<uint64_t>()});
  return out;
}

svg::line series_line(const ojson& series, const char* key, std::string name,
                      std::string color) {
  svg::line l{std::move(name), std::move(color), {}};
  for (auto& p : series)
    if (!p[key].is_null())  // a second with nothing measured has no point
      l.points.emplace_back(p["t"].get<double>(), p[key].get<double>());
  return l;
}

std::string marks_chart(const std::string& title, const ojson& hist,
                        const ojson& summary) {
  return svg::histogram_chart(
    title, buckets(hist),
    {{"p50", summary["p50"].get<uint64_t>()},
     {"p99", summary["p99"].get<uint64_t>()},
     {"p99.9", summary["p999"].get<uint64_t>()}});
}

std::string named_list(const std::string& what, const ojson& items) {
  if (!items.is_array() || items.empty())
    return {};
  std::string s = "<h3>" + escape(what) + "</h3>\n<ul>\n";
  for (auto& b : items)
    s += "<li>host " + escape(text_of(b["hostId"])) + ", room "
         + escape(text_of(b["roomId"])) + ", booking "
         + escape(text_of(b["bookingId"])) + ", notification "
         + escape(text_of(b["notificationId"])) + " (stored "
         + escape(text_of(b["stored"])) + " times)</li>\n";
  return s + "</ul>\n";
}

constexpr const char* style = R"(
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 24px 16px 0;
        display: inline-table; vertical-align: top; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td { font-variant-numeric: tabular-nums; }
.ok { color: #1e7d32; } .bad { color: #b00020; }
svg.chart { display: block; margin: 8px 0 16px; font-size: 11px; }
svg .title { font-size: 13px; font-weight: bold; }
)";

} // namespace

std::string render_html(const ojson& f) {
  const auto& run = f["run"];
  const auto& series = f["series"];
  const auto& lat = f["latencyUs"];
  bool ok = run["ok"].get<bool>();
  std::string verdict;
  if (!run["aborted"].is_null())
    verdict = "ABORTED: " + run["aborted"].get<std::string>();
  else if (ok && !f["verify"].value("checked", false))
    verdict = "OK, but not checked: the lists were not read (--no-verify)";
  else if (ok)
    verdict = "OK: nothing lost, nothing duplicated";
  else
    verdict = "FAILED: see the check below";

  std::string s = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                  "<meta charset=\"utf-8\">\n"
                  "<title>bellhop sim report</title>\n<style>"
                  + std::string{style} + "</style>\n</head>\n<body>\n";
  s += "<h1>bellhop sim report</h1>\n<p>Started "
       + escape(text_of(run["startedAt"])) + ", "
       + escape(text_of(f["config"]["rate"])) + " bookings/s for "
       + escape(text_of(f["config"]["durationS"])) + " s to "
       + escape(text_of(f["config"]["hosts"])) + " hosts.</p>\n";
  s += "<p class=\"" + std::string{ok ? "ok" : "bad"} + "\"><strong>"
       + escape(verdict) + "</strong></p>\n";

  s += "<h2>Figures</h2>\n";
  s += object_table("Bookings", f["bookings"]);
  s += object_table("Delivery to online hosts", f["delivery"]);
  s += latency_table(lat);
  s += object_table("Sockets", f["sockets"]);
  s += object_table("Polls", f["polls"]);
  s += object_table("Run", run);
  s += object_table("Configuration", f["config"]);

  s += "<h2>Over time</h2>\n";
  s += svg::line_chart(
    "Rate (per second)", "per second",
    {series_line(series, "sent", "sent", "#4a7ebb"),
     series_line(series, "accepted", "accepted", "#1e7d32"),
     series_line(series, "delivered", "on a socket", "#8e44ad"),
     series_line(series, "refused", "refused", "#e67e22"),
     series_line(series, "errors", "errors", "#b00020")},
    false);
  s += svg::line_chart(
    "POST /bookings latency per second", "latency",
    {series_line(series, "postP50Us", "p50", "#4a7ebb"),
     series_line(series, "postP99Us", "p99", "#e67e22"),
     series_line(series, "postMaxUs", "max", "#b00020")},
    true);
  s += svg::line_chart(
    "Send to socket latency per second", "latency",
    {series_line(series, "socketP50Us", "p50", "#4a7ebb"),
     series_line(series, "socketP99Us", "p99", "#e67e22"),
     series_line(series, "socketMaxUs", "max", "#b00020")},
    true);
  s += "<h2>Latency histograms</h2>\n";
  s += marks_chart("POST /bookings latency", f["histogramsUs"]["post"],
                   lat["post"]);
  s += marks_chart("Send to socket latency (live and caught up)",
                   f["histogramsUs"]["socketAll"], lat["socketAll"]);

  const auto& v = f["verify"];
  s += "<h2>Check</h2>\n";
  if (v.value("checked", false)) {
    s += object_table("Every booking answered 201, in its host's list", v);
    s += named_list("Lost (answered 201, not stored)", v["missingBookings"]);
    s += named_list("Duplicated", v["duplicatedBookings"]);
    s += named_list("Stored under another id", v["mismatchedBookings"]);
    s += named_list("Refused but stored", v["refusedButStoredBookings"]);
  } else {
    s += "<p>The check did not run"
         + std::string{v.value("skipped", false) ? " (--no-verify)." : "."}
         + "</p>\n";
  }
  return s + "</body>\n</html>\n";
}

} // namespace bellhop::sim
