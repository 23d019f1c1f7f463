// The end-of-run summary (see summary.hpp).
#include "summary.hpp"

#include <cstdio>
#include <string>

#include "svg.hpp"

namespace bellhop::sim {

namespace {

using ojson = nlohmann::ordered_json;

/// Bookings named on the terminal (all of them are in the JSON).
constexpr std::size_t max_named = 20;

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string u(const ojson& v) {
  return v.is_null() ? "-" : std::to_string(v.get<uint64_t>());
}

std::string percentiles(const ojson& h) {
  if (h["count"].get<uint64_t>() == 0)
    return "(none)";
  std::string s;
  for (auto [label, key] : {std::pair{"p50", "p50"}, {"p90", "p90"},
                            {"p99", "p99"}, {"p99.9", "p999"},
                            {"max", "max"}})
    s += std::string{label} + " " + svg::duration_text(h[key].get<double>())
         + "  ";
  return s + "(" + u(h["count"]) + ")";
}

std::string by_key(const ojson& obj) {
  std::string s;
  for (auto& [k, v] : obj.items())
    s += (s.empty() ? "" : ", ") + k + ": " + v.dump();
  return s.empty() ? "none" : s;
}

void name_bookings(std::ostream& out, const char* what, const ojson& list,
                   uint64_t total) {
  if (total == 0)
    return;
  out << "  " << what << " (" << total << "):\n";
  std::size_t n = 0;
  for (auto& b : list) {
    if (n++ == max_named) {
      out << "    ... and " << (total - max_named) << " more (see --json)\n";
      break;
    }
    out << "    host " << b["hostId"].get<std::string>() << " room "
        << b["roomId"].get<std::string>() << " booking "
        << b["bookingId"].get<std::string>() << " notification "
        << b["notificationId"] << " (stored " << b["stored"] << "x)\n";
  }
}

} // namespace

void print_summary(std::ostream& out, const ojson& f) {
  const auto& c = f["config"];
  const auto& b = f["bookings"];
  const auto& lat = f["latencyUs"];
  const auto& d = f["delivery"];
  const auto& s = f["sockets"];
  const auto& p = f["polls"];
  const auto& run = f["run"];
  const auto& v = f["verify"];

  out << "bellhop sim: " << fmt("%g", c["rate"].get<double>())
      << " bookings/s for " << fmt("%g", c["durationS"].get<double>())
      << " s to " << u(c["hosts"]) << " hosts (" << u(c["onlineHosts"])
      << " online, " << u(c["devicesPerHost"]) << " device(s) each)\n";
  out << "bookings     sent " << u(b["sent"]) << " ("
      << fmt("%.1f/s", b["sentPerS"].get<double>()) << ")  accepted "
      << u(b["accepted"]) << " ("
      << fmt("%.1f/s", b["acceptedPerS"].get<double>()) << ")  refused "
      << u(b["refused"]) << " ("
      << fmt("%.1f/s", b["refusedPerS"].get<double>()) << ")  errors "
      << u(b["errors"]) << "\n";
  if (b["refused"].get<uint64_t>() > 0)
    out << "  refused by status: " << by_key(b["refusedByStatus"]) << "\n";
  if (b["errors"].get<uint64_t>() > 0)
    out << "  errors: " << by_key(b["errorsByKind"]) << "\n";
  out << "POST /bookings       " << percentiles(lat["post"]) << "\n";
  if (lat["post"].value("cutOff", 0) > 0)
    out << "  of which " << u(lat["post"]["cutOff"])
        << " cut off: no answer, counted at the time they waited\n";
  out << "send->socket, live   " << percentiles(lat["socketLive"]) << "\n";
  out << "send->socket, all    " << percentiles(lat["socketAll"]) << "\n";
  out << "delivery     live " << u(d["live"]) << " of "
      << u(d["acceptedForOnlineHosts"]) << " ("
      << fmt("%.2f %%", 100 * d["realtimeShare"].get<double>())
      << " real time); fell back to polling " << u(d["fellBackToPolling"])
      << " (caught up on a socket " << u(d["caughtUp"]) << ", REST only "
      << u(d["restOnly"]) << ")\n";
  out << "sockets      opened " << u(s["opened"]) << "  failed "
      << u(s["failed"]) << "  closes {" << by_key(s["closesByCode"])
      << "}  acks " << u(s["acks"]) << "  duplicate frames "
      << u(s["duplicateFrames"]) << "\n";
  if (s["failed"].get<uint64_t>() > 0)
    out << "  socket failures: " << by_key(s["failures"]) << "\n";
  if (s.value("wrongIds", 0) > 0)
    out << "  " << u(s["wrongIds"])
        << " bookings came on a socket under another id than their 201's\n";
  for (auto& problem : s["problems"])
    out << "  socket problem: " << problem.get<std::string>() << "\n";
  out << "polls        " << u(p["sent"]) << " (304 " << u(p["notModified"])
      << ", news " << u(p["news"]) << ", errors " << u(p["errors"]) << ")\n";
  out << "simulator    "
      << fmt("%.0f %% of a core while sending",
             100 * run["simCpuShareWhileSending"].get<double>())
      << "; its own lag p99 "
      << svg::duration_text(lat["scheduleLag"]["p99"].get<double>())
      << ", max "
      << svg::duration_text(lat["scheduleLag"]["max"].get<double>())
      << "; waited for a connection p99 "
      << svg::duration_text(lat["poolQueue"]["p99"].get<double>()) << " ("
      << fmt("%.0f %% of POST latency",
             100 * run["poolQueueShare"].get<double>())
      << ")\n";

  if (!run["aborted"].is_null() && !v.value("checked", false)) {
    out << "check        not done: the run was aborted ("
        << run["aborted"].get<std::string>() << ")\n";
  } else if (v.value("skipped", false)) {
    out << "check        skipped (--no-verify)\n";
  } else if (v.value("ok", false)) {
    out << "check        OK: all " << u(v["found"])
        << " accepted bookings are stored exactly once ("
        << u(v["hostsChecked"]) << " hosts read)\n";
  } else {
    out << "check        FAILED: " << u(v["missing"]) << " lost, "
        << u(v["duplicated"]) << " duplicated, " << u(v["mismatched"])
        << " under another id, " << u(v["refusedButStored"])
        << " refused but stored, " << u(v["misplaced"])
        << " in the wrong host's list";
    if (v.value("unchecked", 0) > 0)
      out << "; " << u(v["unchecked"])
          << " not checked: their hosts' lists could not be read";
    out << "\n";
    name_bookings(out, "lost", v["missingBookings"],
                  v["missing"].get<uint64_t>());
    name_bookings(out, "duplicated", v["duplicatedBookings"],
                  v["duplicated"].get<uint64_t>());
    name_bookings(out, "under another id", v["mismatchedBookings"],
                  v["mismatched"].get<uint64_t>());
    name_bookings(out, "refused but stored", v["refusedButStoredBookings"],
                  v["refusedButStored"].get<uint64_t>());
    for (auto& e : v["hostErrors"])
      out << "  unreadable list: " << e.get<std::string>() << "\n";
  }
  if (v.value("storedUnanswered", 0) > 0)
    out << "  note: " << u(v["storedUnanswered"])
        << " bookings were stored although their answer never came\n";
  if (b.value("refused", 0) > 0 || b.value("errors", 0) > 0)
    out << "bookings     FAILED: " << u(b["refused"]) << " refused, "
        << u(b["errors"]) << " not answered\n";
  if (d.value("missedOnSocket", 0) > 0)
    out << "delivery     FAILED: " << u(d["missedOnSocket"])
        << " bookings of online hosts never reached a socket\n";
}

} // namespace bellhop::sim
