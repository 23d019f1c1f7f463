// SMTP with libcurl.
#include "smtp_client.hpp"

#include <cstring>
#include <ctime>

#include <curl/curl.h>

namespace bellhop {

namespace {

std::string rfc5322_date() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

/// RFC 2047 encoding for a header value that is not plain ASCII.
std::string header_text(const std::string& s) {
  bool ascii = true;
  for (unsigned char c : s)
    ascii = ascii && c >= 0x20 && c < 0x7f;
  if (ascii)
    return s;
  static constexpr char b64[]
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out = "=?UTF-8?B?";
  std::size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8) | uint8_t(s[i + 2]);
    for (int k = 18; k >= 0; k -= 6)
      out.push_back(b64[(v >> k) & 63]);
  }
  if (i < s.size()) {
    uint32_t v = uint8_t(s[i]) << 16;
    if (i + 1 < s.size())
      v |= uint8_t(s[i + 1]) << 8;
    out.push_back(b64[(v >> 18) & 63]);
    out.push_back(b64[(v >> 12) & 63]);
    out.push_back(i + 1 < s.size() ? b64[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out + "?=";
}

/// Normalises line ends to CRLF.
std::string crlf(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\r')
      continue;
    if (c == '\n')
      out.push_back('\r');
    out.push_back(c);
  }
  return out;
}

struct upload {
  const std::string* data;
  std::size_t pos = 0;
};

std::size_t read_payload(char* buf, std::size_t size, std::size_t n, void* p) {
  auto* u = static_cast<upload*>(p);
  auto left = u->data->size() - u->pos;
  auto len = std::min(left, size * n);
  std::memcpy(buf, u->data->data() + u->pos, len);
  u->pos += len;
  return len;
}

} // namespace

std::string compose_email(const smtp_config& cfg, const email_message& m) {
  std::string msg;
  msg += "Date: " + rfc5322_date() + "\r\n";
  msg += "From: " + cfg.from + "\r\n";
  msg += "To: " + m.to + "\r\n";
  msg += "Subject: " + header_text(m.subject) + "\r\n";
  msg += "Message-ID: " + m.message_id + "\r\n";
  msg += "MIME-Version: 1.0\r\n";
  msg += "Content-Type: text/plain; charset=utf-8\r\n";
  msg += "Content-Transfer-Encoding: 8bit\r\n\r\n";
  msg += crlf(m.text);
  if (!m.text.empty() && m.text.back() != '\n')
    msg += "\r\n";
  msg += "\r\nOpen your notifications: " + cfg.page_url + "\r\n";
  return msg;
}

bool smtp_send(const smtp_config& cfg, const email_message& m,
               std::string& error) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    error = "curl_easy_init failed";
    return false;
  }
  auto payload = compose_email(cfg, m);
  upload u{&payload};
  curl_slist* rcpt = curl_slist_append(nullptr, ("<" + m.to + ">").c_str());
  auto from = "<" + cfg.from + ">";
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, cfg.url.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_payload);
  curl_easy_setopt(curl, CURLOPT_READDATA, &u);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  // An attempt ends within 20 s, so that attempts can start at most 30 s
  // apart (§7) even against a server that hangs.
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  if (cfg.starttls)
    curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (!cfg.user.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, cfg.user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, cfg.password.c_str());
  }
  auto rc = curl_easy_perform(curl);
  if (rc != CURLE_OK)
    error = errbuf[0] != 0 ? errbuf : curl_easy_strerror(rc);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(curl);
  return rc == CURLE_OK;
}

} // namespace bellhop
