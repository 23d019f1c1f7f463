// The host actor's write ops. Each checks before it writes, so that a
// rejected op leaves the batch transaction untouched.
#include "write_ops.hpp"

#include <algorithm>
#include <chrono>

#include <caf/send.hpp>
#include <nlohmann/json.hpp>

#include "bellhop/storage/tables.hpp"
#include "email_content.hpp"

namespace bellhop {

namespace {

std::string_view next_line(std::string_view& rest) {
  auto pos = rest.find('\n');
  auto line = rest.substr(0, pos);
  rest = pos == std::string_view::npos ? std::string_view{} : rest.substr(pos + 1);
  return line;
}

op_outcome outcome_of(storage::status st) {
  switch (st) {
    case storage::status::ok: return op_outcome::committed;
    case storage::status::full: return op_outcome::storage_full;
    default: return op_outcome::storage_failed;
  }
}

constexpr std::string_view unread_suffix = ",\"readAt\":null}";

} // namespace

std::string idem_record::encode() const {
  std::string s = std::to_string(expires_ms);
  s.append("\n").append(fingerprint).append("\n").append(location);
  s.append("\n").append(body);
  return s;
}

std::optional<idem_record> idem_record::decode(std::string_view bytes) {
  idem_record r;
  auto exp = next_line(bytes);
  try {
    r.expires_ms = std::stoll(std::string{exp});
  } catch (...) {
    return std::nullopt;
  }
  r.fingerprint = std::string{next_line(bytes)};
  r.location = std::string{next_line(bytes)};
  r.body = std::string{bytes};
  return r;
}

storage::status create_op::apply(storage::txn_ref t) {
  using namespace storage;
  reply_.token = token;
  if (!idem_key.empty()) {
    // The host actor checked this key already; this check is the one that is
    // atomic across hosts (one principal may use a key for two hosts).
    if (auto bytes = get(t, t.db->idem, idem_key)) {
      auto now = epoch_ms(std::chrono::system_clock::now());
      auto old = idem_record::decode(*bytes);
      if (old && old->expires_ms > now) {
        if (old->fingerprint == record.fingerprint) {
          reply_.outcome = static_cast<uint8_t>(op_outcome::replay);
          reply_.body = old->body;
          reply_.location = old->location;
        } else {
          reply_.outcome = static_cast<uint8_t>(op_outcome::key_mismatch);
        }
        return status::rejected;
      }
    }
  }
  auto c = get_counters(t, host_id);
  auto ci = static_cast<std::size_t>(cat);
  c.next_id = std::max(c.next_id, id + 1);
  c.latest_id = std::max(c.latest_id, id);
  c.unread += 1;
  c.unread_by_category[ci] += 1;
  c.latest_by_category[ci] = std::max(c.latest_by_category[ci], id);
  auto key = note_key(host_id, id);
  if (!booking_id.empty()) {
    put(t, t.db->bookings, booking_id, booking_json);
    put(t, t.db->calendar, calendar_key, calendar_value);
  }
  put(t, t.db->notes, key, note_json);
  char cat_byte = static_cast<char>(ci);
  put(t, t.db->unread, unread_key(host_id, id), std::string_view{&cat_byte, 1});
  put_counters(t, host_id, c);
  if (!idem_key.empty())
    put(t, t.db->idem, idem_key, record.encode());
  if (wait_due_ms > 0)
    put(t, t.db->waits, key, std::to_string(wait_due_ms));
  put_audit(t, audit_entry{host_id, id, "created", created_by, "rest", ""});
  reply_.outcome = static_cast<uint8_t>(op_outcome::committed);
  return status::ok;
}

void create_op::done(storage::status result) {
  if (result != storage::status::rejected)
    reply_.outcome = static_cast<uint8_t>(outcome_of(result));
  reply_.token = token;
  caf::anon_send(host, std::move(reply_));
}

storage::status mark_read_op::apply(storage::txn_ref t) {
  using namespace storage;
  // A failed group commit applies each op again on its own: start afresh.
  reply_ = mark_read_reply{};
  auto c = get_counters(t, req.host_id);
  // Collect first, then change: no writes under an open cursor.
  std::vector<std::pair<uint64_t, std::size_t>> hits;
  auto mode = static_cast<mark_mode>(req.mode);
  if (mode == mark_mode::ids) {
    auto ids = req.ids;
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (auto id : ids)
      if (auto cat = get(t, t.db->unread, unread_key(req.host_id, id)))
        hits.emplace_back(id, static_cast<unsigned char>((*cat)[0]));
  } else {
    auto limit = mode == mark_mode::all ? UINT64_MAX : req.up_to;
    auto prefix = unread_prefix(req.host_id);
    cursor cur{t, t.db->unread};
    for (bool ok = cur.seek(unread_key(req.host_id, 0)); ok; ok = cur.next()) {
      auto k = cur.key();
      if (!has_prefix(k, prefix, 8))
        break;
      auto id = note_key_id(k);
      if (id > limit)
        break;
      hits.emplace_back(id, static_cast<unsigned char>(cur.value()[0]));
    }
  }
  for (auto [id, ci] : hits) {
    auto key = note_key(req.host_id, id);
    del(t, t.db->unread, unread_key(req.host_id, id));
    del(t, t.db->waits, key);  // read first: no email
    put_audit(t, audit_entry{req.host_id, id, "read", req.by, req.via,
                             req.session_id});
    if (auto note = get(t, t.db->notes, key)) {
      std::string doc{*note};
      if (doc.size() > unread_suffix.size()
          && doc.compare(doc.size() - unread_suffix.size(),
                         unread_suffix.size(), unread_suffix) == 0) {
        doc.resize(doc.size() - unread_suffix.size());
        doc.append(",\"readAt\":\"").append(read_at).append("\"}");
        put(t, t.db->notes, key, doc);
      }
    }
    if (c.unread > 0)
      c.unread -= 1;
    if (ci < category_count && c.unread_by_category[ci] > 0)
      c.unread_by_category[ci] -= 1;
    reply_.changed.push_back(id);
  }
  if (!hits.empty())
    put_counters(t, req.host_id, c);
  reply_.updated = hits.size();
  reply_.unread = c.unread;
  reply_.latest_id = c.latest_id;
  return status::ok;
}

void mark_read_op::done(storage::status result) {
  commit_done msg;
  msg.token = token;
  msg.outcome = static_cast<uint8_t>(outcome_of(result));
  if (result == storage::status::ok)
    msg.marked = std::move(reply_);
  caf::anon_send(host, std::move(msg));
}

} // namespace bellhop

namespace bellhop {

namespace {

/// Takes `ids` out of the host's outbox entries (emails not sent yet): an
/// entry left with none is deleted, and the mailer, which reads its entry
/// at each attempt, sends none of them. A host has few entries (usually
/// none), so this is a short range of the table.
void unlist_from_outbox(storage::txn_ref t, const std::string& host_id,
                        const std::vector<uint64_t>& ids) {
  using namespace storage;
  auto prefix = host_prefix(host_id);
  std::vector<std::pair<std::string, std::string>> changed;
  cursor cur{t, t.db->outbox};
  for (bool ok = cur.seek(prefix); ok && has_prefix(cur.key(), prefix, 8);
       ok = cur.next()) {
    auto rec = nlohmann::ordered_json::parse(cur.value(), nullptr, false);
    if (!rec.is_object() || !rec.contains("ids") || !rec["ids"].is_array())
      continue;
    auto& listed = rec["ids"];
    auto before = listed.size();
    for (auto i = listed.begin(); i != listed.end();) {
      bool gone = i->is_number_unsigned()
                  && std::find(ids.begin(), ids.end(), i->get<uint64_t>())
                       != ids.end();
      i = gone ? listed.erase(i) : i + 1;
    }
    if (listed.size() != before)
      changed.emplace_back(std::string{cur.key()},
                           listed.empty() ? std::string{} : rec.dump());
  }
  for (auto& [key, value] : changed) {
    if (value.empty())
      del(t, t.db->outbox, key);
    else
      put(t, t.db->outbox, key, value);
  }
}

} // namespace

storage::status audit_op::apply(storage::txn_ref t) {
  for (auto id : drop_waits)
    storage::del(t, t.db->waits, storage::note_key(host_id, id));
  // An ack that comes after its email was handed to the outbox, but before
  // it was sent, still stops it (§7: never for one acked first).
  if (!drop_waits.empty())
    unlist_from_outbox(t, host_id, drop_waits);
  for (auto& e : entries)
    put_audit(t, e);
  return storage::status::ok;
}

void audit_op::done(storage::status result) {
  // On the writer thread: the delay is the clock's, never a wait here.
  if (result != storage::status::ok && rewrite_to) {
    ack.rewrite = true;
    caf::delayed_anon_send(rewrite_to, std::chrono::seconds(1), ack);
  }
}

storage::status email_due_op::apply(storage::txn_ref t) {
  using namespace storage;
  std::vector<uint64_t> still_waiting;
  for (auto id : ids)
    if (del(t, t.db->waits, note_key(host_id, id)))  // else acked or read
      still_waiting.push_back(id);
  auto items = unread_items(t, host_id, still_waiting);
  if (items.empty() || to.empty())
    return status::ok;
  // The entry names the notifications; the mailer writes the email when it
  // sends, of those still unread then.
  nlohmann::ordered_json rec;
  rec["to"] = to;
  nlohmann::json list = nlohmann::json::array();
  for (auto& i : items)
    list.push_back(i.id);
  rec["ids"] = list;
  first_ = items.front().id;
  put(t, t.db->outbox, note_key(host_id, first_), rec.dump());
  return status::ok;
}

void email_due_op::done(storage::status result) {
  commit_done msg;
  msg.token = token;
  msg.outcome = static_cast<uint8_t>(outcome_of(result));
  if (result == storage::status::ok)
    msg.email_first = first_;
  caf::anon_send(host, std::move(msg));
}

storage::status preferences_op::apply(storage::txn_ref t) {
  storage::put(t, t.db->prefs, host_id, doc);
  return storage::status::ok;
}

void preferences_op::done(storage::status result) {
  commit_done msg;
  msg.token = token;
  msg.outcome = static_cast<uint8_t>(outcome_of(result));
  caf::anon_send(host, std::move(msg));
}

storage::status outbox_done_op::apply(storage::txn_ref t) {
  storage::del(t, t.db->outbox, storage::note_key(sent.host_id, sent.first_id));
  for (auto id : sent.ids)
    put_audit(t, audit_entry{sent.host_id, id, "emailed", "bellhop", "email", ""});
  return storage::status::ok;
}

void outbox_done_op::done(storage::status result) {
  // On the writer thread, like audit_op's retry.
  if (result != storage::status::ok && retry_to)
    caf::delayed_anon_send(retry_to, std::chrono::seconds(1), std::move(sent));
}

} // namespace bellhop
