// Subjects, texts and Message-IDs of emails (email_content.hpp).
#include "email_content.hpp"

#include <nlohmann/json.hpp>

#include "bellhop/storage/tables.hpp"

namespace bellhop {

email_message email_of(const std::string& host_id, const std::string& to,
                       const std::vector<email_item>& items) {
  email_message m;
  m.to = to;
  auto first = std::to_string(items.front().id);
  if (items.size() == 1) {
    m.subject = items[0].title;
    m.text = items[0].body;
    m.message_id = "<" + host_id + "." + first + "@bellhop>";
    return m;
  }
  m.subject = std::to_string(items.size()) + " new notifications";
  for (auto& i : items)
    m.text.append("- ").append(i.title).append(": ").append(i.body).append("\n");
  m.message_id = "<" + host_id + "." + first + "-"
                 + std::to_string(items.back().id) + "@bellhop>";
  return m;
}

std::vector<email_item> unread_items(storage::txn_ref t,
                                     const std::string& host_id,
                                     const std::vector<uint64_t>& ids) {
  using namespace storage;
  std::vector<email_item> items;
  for (auto id : ids) {
    if (!get(t, t.db->unread, unread_key(host_id, id)))
      continue;
    auto doc = get(t, t.db->notes, note_key(host_id, id));
    if (!doc)
      continue;
    auto n = nlohmann::json::parse(*doc, nullptr, false);
    if (!n.is_object())
      continue;
    items.push_back(email_item{id, n.value("title", ""), n.value("body", ""),
                               parse_category(n.value("category", ""))});
  }
  return items;
}

} // namespace bellhop
