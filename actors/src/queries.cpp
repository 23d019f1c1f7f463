// host_queries: counts, pages and bookings from a read snapshot.
#include "bellhop/actors/queries.hpp"

#include <charconv>

#include "bellhop/actors/preferences.hpp"
#include "bellhop/storage/store.hpp"
#include "bellhop/storage/tables.hpp"

namespace bellhop {

namespace {

constexpr char b64url[]
  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view in) {
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(b64url[(buf >> bits) & 63]);
    }
  }
  if (bits > 0)
    out.push_back(b64url[(buf << (6 - bits)) & 63]);
  return out;
}

std::optional<std::string> unbase64url(std::string_view in) {
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (char c : in) {
    auto pos = std::string_view{b64url, 64}.find(c);
    if (pos == std::string_view::npos)
      return std::nullopt;
    buf = (buf << 6) | static_cast<uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  return out;
}

/// The category of a stored notification: the first "category" key of the
/// document is the top-level one (id, hostId and type come before it and
/// cannot contain it).
bool has_category(std::string_view doc, category cat) {
  constexpr std::string_view tag = "\"category\":\"";
  auto pos = doc.find(tag);
  if (pos == std::string_view::npos)
    return false;
  auto name = to_string(cat);
  return doc.substr(pos + tag.size(), name.size() + 1) == std::string(name) + '"';
}

} // namespace

count_result host_queries::count(std::string_view host,
                                 std::optional<category> cat) const {
  auto txn = store_.begin_read();
  auto c = storage::get_counters(txn.ref(), host);
  if (!cat)
    return {c.unread, c.latest_id};
  auto i = static_cast<std::size_t>(*cat);
  return {c.unread_by_category[i], c.latest_by_category[i]};
}

list_page host_queries::list(std::string_view host, const list_query& q) const {
  auto txn = store_.begin_read();
  auto t = txn.ref();
  auto c = storage::get_counters(t, host);
  list_page page;
  page.unread = q.cat ? c.unread_by_category[static_cast<std::size_t>(*q.cat)]
                      : c.unread;
  // Walk the unread index for unread=true, else all notifications.
  auto key_of = [&](uint64_t id) {
    return q.unread_only ? storage::unread_key(host, id)
                         : storage::note_key(host, id);
  };
  auto prefix = q.unread_only ? storage::unread_prefix(host)
                              : storage::host_prefix(host);
  auto index = q.unread_only ? t.db->unread : t.db->notes;
  storage::cursor cur{t, index};
  bool ok;
  if (q.ascending)  // nothing is newer than the largest id (+1 would wrap)
    ok = !(q.has_from && q.from == UINT64_MAX)
         && cur.seek(key_of(q.has_from ? q.from + 1 : 0));
  else
    ok = cur.seek_before(key_of(q.has_from ? q.from : UINT64_MAX));
  page.items = "[";
  std::size_t n = 0;
  uint64_t last = 0;     // the last id on the page
  uint64_t looked = 0;   // the last id looked at
  std::size_t scanned = 0;
  for (; ok; ok = q.ascending ? cur.next() : cur.prev()) {
    auto k = cur.key();
    if (!storage::has_prefix(k, prefix, 8))
      break;
    if (scanned++ == max_scanned_) {
      page.cursor = encode_cursor(q.ascending, looked);
      break;
    }
    looked = storage::note_key_id(k);
    std::string_view doc;
    if (q.unread_only) {
      if (q.cat && static_cast<unsigned char>(cur.value()[0])
                     != static_cast<unsigned char>(*q.cat))
        continue;
      auto note = storage::get(t, t.db->notes,
                               storage::note_key(host, storage::note_key_id(k)));
      if (!note)
        continue;
      doc = *note;
    } else {
      doc = cur.value();
      if (q.cat && !has_category(doc, *q.cat))
        continue;
    }
    if (n == q.limit) {
      // One more match exists: the page has a next one.
      page.cursor = encode_cursor(q.ascending, last);
      break;
    }
    if (n > 0)
      page.items.push_back(',');
    page.items.append(doc);
    last = storage::note_key_id(k);
    ++n;
  }
  page.items.push_back(']');
  return page;
}

std::optional<std::string> host_queries::booking(std::string_view id) const {
  auto txn = store_.begin_read();
  auto v = storage::get(txn.ref(), txn.ref().db->bookings, id);
  if (!v)
    return std::nullopt;
  return std::string{*v};
}

std::string host_queries::preferences(std::string_view host) const {
  auto txn = store_.begin_read();
  auto v = storage::get(txn.ref(), txn.ref().db->prefs, host);
  return v ? std::string{*v} : bellhop::preferences{}.to_json();
}

list_page host_queries::audit(std::string_view host, std::size_t limit,
                              std::optional<std::string> cursor_key,
                              uint64_t notification_id) const {
  auto txn = store_.begin_read();
  auto t = txn.ref();
  auto prefix = storage::audit_prefix(host);
  storage::cursor cur{t, t.db->audit};
  // Keys are the audit prefix + time seq (16 bytes); walk newest first.
  bool ok = cursor_key ? cur.seek_before(prefix + *cursor_key)
                       : cur.seek_before(prefix + std::string(16, '\xff'));
  list_page page;
  page.items = "[";
  std::size_t n = 0;
  std::string last;    // the last entry's key on the page (its suffix)
  std::string looked;  // the last one looked at
  std::size_t scanned = 0;
  std::string needle = "\"notificationId\":" + std::to_string(notification_id) + ",";
  for (; ok; ok = cur.prev()) {
    if (!storage::has_prefix(cur.key(), prefix, 16))
      break;
    if (scanned++ == max_scanned_) {
      page.cursor = encode_audit_cursor(looked);
      break;
    }
    looked.assign(cur.key().substr(prefix.size()));  // reuses its buffer
    if (notification_id != 0 && cur.value().find(needle) == std::string_view::npos)
      continue;
    if (n == limit) {
      page.cursor = encode_audit_cursor(last);
      break;
    }
    if (n > 0)
      page.items.push_back(',');
    page.items.append(cur.value());
    last = std::string{cur.key().substr(prefix.size())};
    ++n;
  }
  page.items.push_back(']');
  return page;
}

std::string host_queries::encode_audit_cursor(std::string_view key_suffix) {
  return base64url(key_suffix);
}

std::optional<std::string>
host_queries::decode_audit_cursor(std::string_view c) {
  auto raw = unbase64url(c);
  if (!raw || raw->size() != 16)
    return std::nullopt;
  return raw;
}

std::string host_queries::encode_cursor(bool ascending, uint64_t id) {
  return base64url((ascending ? "a:" : "d:") + std::to_string(id));
}

bool host_queries::decode_cursor(std::string_view cursor, list_query& q) {
  if (cursor.empty() || cursor.size() > 64)
    return false;
  auto raw = unbase64url(cursor);
  if (!raw || raw->size() < 3 || (*raw)[1] != ':'
      || ((*raw)[0] != 'a' && (*raw)[0] != 'd'))
    return false;
  uint64_t id = 0;
  auto digits = std::string_view{*raw}.substr(2);
  auto [p, err] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (err != std::errc{} || p != digits.data() + digits.size())
    return false;
  q.ascending = (*raw)[0] == 'a';
  q.from = id;
  q.has_from = true;
  return true;
}

} // namespace bellhop
