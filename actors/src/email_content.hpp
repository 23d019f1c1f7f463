// What an email of §7 says: subject, text and Message-ID of one
// notification, or of a digest of several. The mailer builds it when it
// sends, from the notifications still unread then.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bellhop/actors/domain.hpp"
#include "bellhop/storage/store.hpp"
#include "smtp_client.hpp"

namespace bellhop {

/// One notification in an email: id, title, body, and its category (none
/// for a record that names none).
struct email_item {
  uint64_t id = 0;
  std::string title;
  std::string body;
  std::optional<category> cat;
};

/// The email of `items` (in id order, at least one) to `to`: a single
/// notification's title as subject and its body as text, or a digest
/// ("N new notifications", one line each, Message-ID FIRST-LAST).
email_message email_of(const std::string& host_id, const std::string& to,
                       const std::vector<email_item>& items);

/// The notifications of `ids` that are still unread, with their titles and
/// bodies, read in `t`.
std::vector<email_item> unread_items(storage::txn_ref t,
                                     const std::string& host_id,
                                     const std::vector<uint64_t>& ids);

} // namespace bellhop
