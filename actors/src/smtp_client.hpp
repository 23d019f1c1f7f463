// Sending one email over SMTP with libcurl (blocking: called only from the
// mailer's own thread).
#pragma once

#include <string>

#include "bellhop/actors/core.hpp"

namespace bellhop {

struct email_message {
  std::string to;
  std::string subject;
  std::string text;        ///< the body, without the link
  std::string message_id;  ///< "<h1.17@bellhop>"
};

/// The RFC 5322 message: headers (Date, From, To, Subject, Message-ID) and
/// a plain-text UTF-8 body ending with a link to the page.
std::string compose_email(const smtp_config& cfg, const email_message& m);

/// Sends `m`; false with a reason in `error` when the server did not accept
/// it (or could not be reached).
bool smtp_send(const smtp_config& cfg, const email_message& m,
               std::string& error);

/// True once abort_email_sends() was called: the server is stopping, and
/// no email is sent any more (thread-safe).
bool email_sends_stopped();

} // namespace bellhop
