// The end-of-run loss and duplicate check (see verify.hpp).
#include "verify.hpp"

#include <cctype>

#include <nlohmann/json.hpp>

#include "clock.hpp"
#include "http_pool.hpp"
#include "ledger.hpp"

namespace bellhop::sim {

namespace {

constexpr int max_attempts = 3;

/// Booking number k of a roomId "r-<k>", or -1.
int64_t booking_of(const std::string& room) {
  if (room.size() < 3 || room.size() > 20 || room.compare(0, 2, "r-") != 0)
    return -1;
  int64_t k = 0;
  for (std::size_t i = 2; i < room.size(); ++i) {
    if (room[i] < '0' || room[i] > '9')
      return -1;
    k = k * 10 + (room[i] - '0');
  }
  return k;
}

std::string query_escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

} // namespace

bool verdict::ok() const {
  return checked && host_errors.empty() && missing.empty()
         && duplicated.empty() && mismatched.empty()
         && refused_but_stored.empty() && misplaced == 0;
}

struct verifier::impl {
  http_pool& rest;
  ledger& led;
  verdict v;
  std::size_t pending = 0;
  std::function<void()> done;

  impl(http_pool& r, ledger& l) : rest(r), led(l) {}

  void fetch(uint32_t h, const std::string& cursor, int attempt) {
    http_request req;
    req.target = "/notifications/list?limit=100&"
                 + (cursor.empty() ? std::string{"after=0"}
                                   : "cursor=" + query_escape(cursor));
    req.authorization = "Bearer " + led.hosts[h].token;
    rest.submit(std::move(req), [this, h, cursor, attempt](http_result& r) {
      page(h, cursor, attempt, r);
    });
  }

  void page(uint32_t h, const std::string& cursor, int attempt,
            http_result& r) {
    led.on_reply(now_us(), r.status, r.error);
    auto j = r.status == 200 ? nlohmann::json::parse(r.body, nullptr, false)
                             : nlohmann::json{};
    if (!j.is_object() || !j.contains("items") || !j["items"].is_array()) {
      if (attempt + 1 < max_attempts) {
        fetch(h, cursor, attempt + 1);
        return;
      }
      v.unreadable[h] = true;
      v.host_errors.push_back(
        led.hosts[h].id + ": "
        + (r.status == 0 ? r.error
                         : "HTTP " + std::to_string(r.status) + " "
                             + r.body.substr(0, 200)));
      host_done();
      return;
    }
    const auto& items = j["items"];
    for (const auto& item : items) {
      ++v.items;
      int64_t k = -1;
      uint64_t id = 0;
      if (item.is_object()) {
        if (item.contains("id") && item["id"].is_number_unsigned())
          id = item["id"].get<uint64_t>();
        // Only a booking's own notification names it: another type may
        // carry a roomId too (a cancellation a service posts, say).
        auto data = item.find("data");
        auto type = item.find("type");
        bool booking = type != item.end() && *type == "new_booking";
        if (booking && data != item.end() && data->is_object()
            && data->contains("roomId") && (*data)["roomId"].is_string())
          k = booking_of((*data)["roomId"].get<std::string>());
      }
      if (k < 0 || static_cast<uint64_t>(k) >= led.bookings.size()) {
        ++v.foreign;
        continue;
      }
      auto& b = led.bookings[static_cast<std::size_t>(k)];
      if (b.host != h) {
        ++v.misplaced;
        continue;
      }
      ++b.stored;
      b.stored_nid = id;
    }
    auto next = j.find("nextCursor");
    if (!items.empty() && next != j.end() && next->is_string()
        && !next->get<std::string>().empty()) {
      fetch(h, next->get<std::string>(), 0);
      return;
    }
    ++v.hosts_checked;
    host_done();
  }

  void host_done() {
    if (--pending == 0)
      finish();
  }

  void finish() {
    for (uint64_t k = 0; k < led.bookings.size(); ++k) {
      const auto& b = led.bookings[k];
      if (b.status == 201) {
        if (b.stored == 0 && v.unreadable[b.host])
          ++v.unchecked;
        else if (b.stored == 0)
          v.missing.push_back(k);
        else if (b.stored > 1)
          v.duplicated.push_back(k);
        else if (b.nid != 0 && b.stored_nid != b.nid)
          v.mismatched.push_back(k);
        else
          ++v.found;
      } else if (b.stored > 0) {
        if (b.status <= 0)
          ++v.stored_unanswered;
        else
          v.refused_but_stored.push_back(k);
      }
    }
    v.checked = true;
    auto d = std::move(done);
    d();
  }
};

verifier::verifier(http_pool& rest, ledger& led)
  : d_(std::make_unique<impl>(rest, led)) {}

verifier::~verifier() = default;

void verifier::start(std::function<void()> done) {
  d_->done = std::move(done);
  d_->pending = d_->led.hosts.size();
  d_->v.unreadable.assign(d_->led.hosts.size(), false);
  if (d_->pending == 0) {
    d_->finish();
    return;
  }
  for (uint32_t h = 0; h < d_->led.hosts.size(); ++h)
    d_->fetch(h, "", 0);
}

std::size_t verifier::pending() const {
  return d_->pending;
}

const verdict& verifier::result() const {
  return d_->v;
}

} // namespace bellhop::sim
