// SMTP with libcurl.
#include "smtp_client.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

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

/// Base64 of `s` (OpenSSL), without line breaks.
std::string base64(std::string_view s) {
  std::string out(4 * ((s.size() + 2) / 3), '\0');
  auto n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(s.data()),
                           static_cast<int>(s.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

/// True when `s` is printable ASCII.
bool printable_ascii(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return c >= 0x20 && c < 0x7f;
  });
}

/// A header value that is not plain printable ASCII as RFC 2047 encoded
/// words of at most 75 characters (45 bytes of UTF-8 each, never cutting a
/// character), folded onto continuation lines. So is plain text with "=?"
/// in it: a mail reader would decode what looks like an encoded word
/// ("=?UTF-8?B?SGk=?=" shows as "Hi"), and the subject must read as the
/// title does.
std::string header_text(const std::string& s) {
  if (printable_ascii(s) && s.find("=?") == std::string::npos)
    return s;
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    auto end = std::min(s.size(), i + 45);
    // Back off to a character's first byte (not 10xxxxxx), unless the
    // character is longer than a word (invalid UTF-8: cut it anyway).
    auto cut = end;
    while (cut < s.size() && cut > i && (uint8_t(s[cut]) & 0xC0) == 0x80)
      --cut;
    if (cut == i)
      cut = end;
    if (!out.empty())
      out += "\r\n ";
    out += "=?UTF-8?B?" + base64(std::string_view{s}.substr(i, cut - i)) + "?=";
    i = cut;
  }
  return out;
}

/// Line ends as CRLF: CRLF, a lone LF and a lone CR each end one line.
std::string crlf(const std::string& s) {
  std::string out;
  out.reserve(s.size() + s.size() / 16);
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += "\r\n";
      if (i + 1 < s.size() && s[i + 1] == '\n')
        ++i;
    } else if (s[i] == '\n') {
      out += "\r\n";
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

/// True when `text` (CRLF lines) can go as 7bit: ASCII without controls
/// other than tab, and no line over RFC 5322's 998 octets.
bool seven_bit(const std::string& text) {
  std::size_t line = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      line = 0;
      ++i;
      continue;
    }
    if (c >= 0x80 || (c < 0x20 && c != '\t') || c == 0x7f || ++line > 998)
      return false;
  }
  return true;
}

/// Base64 in lines of 76 characters (RFC 2045), each ending in CRLF.
std::string base64_lines(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); i += 57)
    out += base64(std::string_view{s}.substr(i, 57)) + "\r\n";
  return out;
}

/// How long one attempt may take, its end included: attempts of an email
/// can then start at most 30 s apart (§7) even against a server that hangs.
/// Of that, the TCP connection may take 5 s; the server's greeting and
/// answers may take what is left.
constexpr auto attempt_limit = std::chrono::seconds(20);
constexpr auto connect_limit = std::chrono::seconds(5);
/// Once the whole message is sent, the server's answer to the end of its
/// data may take 10 minutes (RFC 5321 §4.5.3.2.6): a server that checks a
/// message may take long to answer, and may deliver it even so. Cutting
/// that wait short and sending again would deliver it again, every attempt.
constexpr auto end_of_data_limit = std::chrono::minutes(10);

/// Set when the server stops: attempts under way end at once.
std::atomic<bool> stopping{false};

struct upload {
  const std::string* data;
  std::size_t pos = 0;

  bool done() const {
    return pos == data->size();
  }
};

/// One attempt: its sockets and when it began. Its thread's callbacks
/// below and a stop (another thread) reach its sockets under
/// `sockets_lock`, so that they can be shut down: a shut socket makes curl
/// end its exchange at once, where it would otherwise wait for answers (to
/// the end of the data, to QUIT) far longer than an attempt may take. A
/// socket leaves its attempt, under the lock, before it is closed, so
/// nothing shuts down a descriptor that was closed and given to another
/// file.
struct attempt {
  using clock = std::chrono::steady_clock;
  struct socket {
    curl_socket_t fd;
    clock::time_point opened;
    bool connected = false;
  };
  std::vector<socket> fds;  ///< open now (several while connecting)
  int socket_errno = 0;  ///< why a socket could not be made (curl drops it)
  clock::time_point began = clock::now();
  bool connect_cut = false;  ///< a socket got no connection in 5 s
  // Only the attempt's own thread uses these (curl's callbacks run on it):
  const upload* message = nullptr;
  clock::time_point data_sent{};  ///< zero until then
  const char* cut = nullptr;  ///< why watch_attempt cut the attempt short
  std::string refusal;  ///< the server's first 4xx or 5xx answer line

  void shut_down() const {  // under sockets_lock
    for (auto& s : fds)
      ::shutdown(s.fd, SHUT_RDWR);
  }

  /// Shuts down the sockets still not connected 5 s after they were
  /// opened: curl then tries the server's next address, if it has one,
  /// within the attempt's time. Under sockets_lock.
  void cut_slow_connects(clock::time_point now) {
    for (auto& s : fds) {
      if (s.connected || now - s.opened < connect_limit)
        continue;
      sockaddr_storage peer{};
      socklen_t len = sizeof peer;
      s.connected
        = ::getpeername(s.fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0;
      if (!s.connected && errno == ENOTCONN) {
        ::shutdown(s.fd, SHUT_RDWR);
        connect_cut = true;
      }
    }
  }
};

std::mutex sockets_lock;
std::unordered_set<attempt*> attempts;  ///< under way, for a stop

curl_socket_t open_socket(void* p, curlsocktype, curl_sockaddr* a) {
  auto fd = ::socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
  if (fd < 0) {
    // Under the lock as `fds` is: a stop reads the attempt from another
    // thread.
    int why = errno;
    std::lock_guard<std::mutex> guard{sockets_lock};
    static_cast<attempt*>(p)->socket_errno = why;
    return CURL_SOCKET_BAD;
  }
  std::lock_guard<std::mutex> guard{sockets_lock};
  if (stopping.load()) {
    ::close(fd);
    return CURL_SOCKET_BAD;
  }
  static_cast<attempt*>(p)->socket_errno = 0;  // a later failure is another's
  static_cast<attempt*>(p)->fds.push_back({fd, attempt::clock::now(), false});
  return fd;
}

int close_socket(void* p, curl_socket_t fd) {
  std::lock_guard<std::mutex> guard{sockets_lock};
  auto& fds = static_cast<attempt*>(p)->fds;
  fds.erase(std::remove_if(fds.begin(), fds.end(),
                           [fd](const attempt::socket& s) { return s.fd == fd; }),
            fds.end());
  return ::close(fd);
}

/// Why the attempt must end now, or null while it may go on.
const char* past_its_time(attempt& at) {
  if (stopping.load())
    return "the server is stopping";
  auto now = std::chrono::steady_clock::now();
  if (at.message->done()) {
    if (at.data_sent == std::chrono::steady_clock::time_point{})
      at.data_sent = now;
    return now - at.data_sent < end_of_data_limit
             ? nullptr
             : "no answer to the end of the data within 10 min";
  }
  if (now - at.began >= attempt_limit)
    return "no answer within 20 s";
  std::lock_guard<std::mutex> guard{sockets_lock};
  at.cut_slow_connects(now);
  return nullptr;
}

/// curl's progress callback, called at least once a second, also while it
/// connects and waits for an answer: past the attempt's time, or at a
/// stop, the socket is shut down and the transfer aborted.
int watch_attempt(void* p, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* at = static_cast<attempt*>(p);
  at->cut = past_its_time(*at);
  if (at->cut == nullptr)
    return 0;
  std::lock_guard<std::mutex> guard{sockets_lock};
  at->shut_down();
  return 1;
}

/// curl's debug callback: keeps the server's first refusal (a 4xx or 5xx
/// answer line), so that it is logged in the server's words; what follows
/// it (curl's QUIT and its 221) does not replace it. (curl hands it the
/// whole exchange; the rest is ignored.)
int keep_refusal(CURL*, curl_infotype type, char* data, std::size_t size,
                 void* p) {
  auto& reply = static_cast<attempt*>(p)->refusal;
  if (type != CURLINFO_HEADER_IN || !reply.empty() || size == 0
      || (data[0] != '4' && data[0] != '5'))
    return 0;
  for (std::size_t i = 0; i < size && reply.size() < 200; ++i) {
    auto c = static_cast<unsigned char>(data[i]);
    if (c == '\r' || c == '\n')
      break;
    reply.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  return 0;
}

std::size_t read_payload(char* buf, std::size_t size, std::size_t n, void* p) {
  auto* u = static_cast<upload*>(p);
  auto left = u->data->size() - u->pos;
  auto len = std::min(left, size * n);
  std::memcpy(buf, u->data->data() + u->pos, len);
  u->pos += len;
  return len;
}

/// The From: header's value: the address, after the name when there is
/// one. A name of printable ASCII goes as a quoted string (it may hold
/// commas and dots); any other as encoded words.
std::string from_header(const smtp_config& cfg) {
  if (cfg.from_name.empty())
    return cfg.from;
  if (!printable_ascii(cfg.from_name))
    return header_text(cfg.from_name) + " <" + cfg.from + ">";
  std::string quoted = "\"";
  for (char c : cfg.from_name) {
    if (c == '"' || c == '\\')
      quoted += '\\';
    quoted += c;
  }
  return quoted + "\" <" + cfg.from + ">";
}

} // namespace

std::string compose_email(const smtp_config& cfg, const email_message& m) {
  std::string msg;
  msg += "Date: " + rfc5322_date() + "\r\n";
  msg += "From: " + from_header(cfg) + "\r\n";
  msg += "To: " + m.to + "\r\n";
  msg += "Subject: " + header_text(m.subject) + "\r\n";
  msg += "Message-ID: " + m.message_id + "\r\n";
  msg += "MIME-Version: 1.0\r\n";
  msg += "Content-Type: text/plain; charset=utf-8\r\n";
  auto text = crlf(m.text);
  if (!text.empty() && text.back() != '\n')
    text += "\r\n";
  text += "\r\nOpen your notifications: " + cfg.page_url + "\r\n";
  // Plain text as it is when every line fits; otherwise (UTF-8, long
  // lines) base64, so that no server refuses a line or an 8-bit byte.
  if (seven_bit(text))
    return msg + "Content-Transfer-Encoding: 7bit\r\n\r\n" + text;
  return msg + "Content-Transfer-Encoding: base64\r\n\r\n" + base64_lines(text);
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
  // Only SMTP: an address of another scheme (file://, http://) must not
  // take the email somewhere else and count it as sent.
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  // The attempt's limits are watch_attempt's (past_its_time), curl's waits
  // included; curl's own limits are only a backstop behind them.
  attempt at;
  at.message = &u;
  {
    std::lock_guard<std::mutex> guard{sockets_lock};
    attempts.insert(&at);
  }
  using std::chrono::milliseconds;
  auto backstop = [](auto limit) {
    return static_cast<long>(
      std::chrono::duration_cast<milliseconds>(limit).count() + 5000);
  };
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, backstop(attempt_limit));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   backstop(attempt_limit + end_of_data_limit));
  curl_easy_setopt(curl, CURLOPT_SERVER_RESPONSE_TIMEOUT,
                   backstop(end_of_data_limit) / 1000);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, watch_attempt);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &at);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, keep_refusal);
  curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &at);
  curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &at);
  curl_easy_setopt(curl, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
  curl_easy_setopt(curl, CURLOPT_CLOSESOCKETDATA, &at);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  if (cfg.starttls)
    curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (!cfg.user.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, cfg.user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, cfg.password.c_str());
  }
  auto rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    bool no_connection = false;
    {
      std::lock_guard<std::mutex> guard{sockets_lock};
      no_connection = at.connect_cut && rc == CURLE_COULDNT_CONNECT;
    }
    error = at.cut != nullptr ? at.cut
            : no_connection   ? "no connection within 5 s"
            : errbuf[0] != 0  ? errbuf
                              : curl_easy_strerror(rc);
    // A refusal in the server's own words ("550 5.1.1 no such user"), in
    // place of the bare code that curl's message may end with.
    if (!at.refusal.empty()) {
      auto code = ": " + at.refusal.substr(0, 3);
      if (error.size() >= code.size()
          && error.compare(error.size() - code.size(), code.size(), code) == 0)
        error.erase(error.size() - code.size());
      error += ": " + at.refusal;
    }
  }
  {
    std::lock_guard<std::mutex> guard{sockets_lock};
    if (rc != CURLE_OK && at.socket_errno != 0)  // out of files, say
      error = "no socket: " + std::string{std::strerror(at.socket_errno)};
  }
  {
    // The connection is still open in the handle's cache: the cleanup
    // below would say QUIT and wait for its answer outside any attempt's
    // limit (no progress callback runs then). The email is accepted or
    // failed already; the socket goes now, so that wait ends at once.
    std::lock_guard<std::mutex> guard{sockets_lock};
    at.shut_down();
  }
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(curl);
  std::lock_guard<std::mutex> guard{sockets_lock};
  attempts.erase(&at);
  return rc == CURLE_OK;
}

bool email_sends_stopped() {
  return stopping.load();
}

void abort_email_sends() {
  std::lock_guard<std::mutex> guard{sockets_lock};
  stopping.store(true);
  for (auto* at : attempts)
    at->shut_down();
}

} // namespace bellhop
