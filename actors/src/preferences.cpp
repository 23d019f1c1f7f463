// Preferences: the document, its validation and its storage form.
#include "bellhop/actors/preferences.hpp"
#include "bellhop/telemetry/log.hpp"

#include <nlohmann/json.hpp>

namespace bellhop {

namespace {

using json = nlohmann::ordered_json;

constexpr const char* names[] = {"booking", "review", "message", "system"};

std::optional<invalid> bad(std::string field, std::string message) {
  return invalid{std::move(field), std::move(message)};
}

} // namespace

std::string preferences::to_json() const {
  json doc;
  doc["email"] = email ? json(*email) : json(nullptr);
  json ch;
  for (std::size_t i = 0; i < channels.size(); ++i)
    ch[names[i]] = json{{"realtime", channels[i].realtime},
                        {"email", channels[i].email}};
  doc["channels"] = std::move(ch);
  doc["emailDelaySeconds"] = email_delay_seconds;
  doc["digest"] = digest;
  return doc.dump();
}

preferences preferences::from_json(std::string_view text) {
  preferences p;
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object())
    return preferences{};
  // A document stored before the address rule became stricter keeps its
  // other choices; only an address emails cannot go to is dropped.
  if (auto e = doc.find("email");
      e != doc.end() && e->is_string() && !valid_email_address(e->get<std::string>())) {
    telemetry::log(telemetry::level::warn,
                   "a stored email address is not one emails can go to: "
                   "no email until the host sets another");
    (*e) = nullptr;
  }
  if (parse_preferences(doc, p))
    return preferences{};
  return p;
}

bool valid_email_address(std::string_view addr) {
  // Printable ASCII only: a control character (NUL above all) would cut
  // or bend the SMTP envelope and the To: header, and bellhop sends without
  // SMTPUTF8, so a non-ASCII address could not be delivered either.
  auto at = addr.find('@');
  if (addr.size() > 254 || at == std::string_view::npos || at == 0
      || at + 1 == addr.size() || addr.find('@', at + 1) != std::string_view::npos)
    return false;
  for (unsigned char c : addr)
    if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == ',' || c == ';')
      return false;
  return true;
}

std::optional<invalid> parse_preferences(const nlohmann::json& body,
                                         preferences& out) {
  if (!body.is_object())
    return bad("", "the body must be a JSON object");
  auto e = body.find("email");
  if (e == body.end())
    return bad("email", "email is required (null for none)");
  if (e->is_null()) {
    out.email.reset();
  } else {
    if (!e->is_string())
      return bad("email", "email must be an address or null");
    auto addr = e->get<std::string>();
    if (!valid_email_address(addr))
      return bad("email", "email must be an address with one @, in "
                          "printable ASCII without blanks or <>,;");
    out.email = std::move(addr);
  }
  auto ch = body.find("channels");
  if (ch == body.end() || !ch->is_object())
    return bad("channels", "channels must give all four categories");
  for (std::size_t i = 0; i < 4; ++i) {
    auto c = ch->find(names[i]);
    if (c == ch->end() || !c->is_object())
      return bad("channels", std::string{"channels."} + names[i] + " is required");
    auto rt = c->find("realtime");
    auto em = c->find("email");
    if (rt == c->end() || !rt->is_boolean() || em == c->end()
        || !em->is_boolean())
      return bad("channels", std::string{"channels."} + names[i]
                               + " needs boolean realtime and email");
    out.channels[i] = channel_prefs{rt->get<bool>(), em->get<bool>()};
  }
  auto d = body.find("emailDelaySeconds");
  if (d == body.end() || !d->is_number_integer() || d->get<int64_t>() < 0
      || d->get<int64_t>() > 86400)
    return bad("emailDelaySeconds", "emailDelaySeconds must be 0-86400");
  out.email_delay_seconds = static_cast<uint32_t>(d->get<int64_t>());
  auto g = body.find("digest");
  if (g == body.end() || !g->is_boolean())
    return bad("digest", "digest must be a boolean");
  out.digest = g->get<bool>();
  return std::nullopt;
}

} // namespace bellhop
