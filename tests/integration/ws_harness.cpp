// The harness of ws_test.cpp (see ws_harness.hpp).
#include "ws_harness.hpp"

#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

namespace bellhop_it {

const std::string jwt_secret = "ws-it-secret-0123456789abcdef-0123456789";

namespace {

constexpr auto start_timeout = std::chrono::seconds(20);
constexpr std::size_t output_cap = 64 * 1024;

/// Process-wide set-up: file limit, libcurl, SIGPIPE.
struct global_setup {
  global_setup() {
    raise_nofile_limit();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    std::signal(SIGPIPE, SIG_IGN);
  }
};
const global_setup setup_once;

} // namespace

void raise_nofile_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

std::string bellhop_bin() {
  const char* env = std::getenv("BELLHOP_BIN");
  std::string path = env && *env ? env : "build/bellhop";
  return std::filesystem::absolute(path).string();
}

json http_response::json_body() const {
  return json::parse(body, nullptr, false);
}

std::string event_of(const json& frame) {
  if (!frame.is_object())
    return {};
  auto i = frame.find("event");
  if (i == frame.end() || !i->is_string())
    return {};
  return i->get<std::string>();
}

// ------------------------------------------------------------ server_process

/// The server's output, written by the reader threads.
struct server_process::output {
  mutable std::mutex mu;
  std::condition_variable cv;
  std::string out, err;   ///< tails of stdout and stderr
  std::string line;       ///< stdout's current partial line
  bool listening = false;
  json listening_line;
  bool out_eof = false;

  static void append(std::string& s, const char* p, std::size_t n) {
    s.append(p, n);
    if (s.size() > output_cap)
      s.erase(0, s.size() - output_cap);
  }
};

server_process::server_process(std::vector<std::string> extra_args)
  : out_(std::make_shared<output>()) {
  raise_nofile_limit();
  char tmpl[] = "/tmp/bellhop-ws-it-XXXXXX";
  if (!mkdtemp(tmpl))
    throw std::runtime_error("mkdtemp failed");
  data_dir_ = tmpl;

  std::vector<std::string> args = {bellhop_bin(),
                                   "serve",
                                   "--http-port",
                                   "0",
                                   "--ws-port",
                                   "0",
                                   "--bind",
                                   "127.0.0.1",
                                   "--data-dir",
                                   data_dir_,
                                   "--jwt-secret",
                                   jwt_secret,
                                   "--rate-limit",
                                   "0",
                                   "--booking-rate-limit",
                                   "0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  long max_fd = sysconf(_SC_OPEN_MAX);
  pid_ = fork();
  if (pid_ < 0)
    throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Child: only async-signal-safe calls until exec.
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    for (long fd = 3; fd < max_fd; ++fd)
      close(static_cast<int>(fd));
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);

  auto out = out_;
  out_reader_ = std::thread{[out, fd = out_pipe[0]] {
    char buf[4096];
    for (;;) {
      auto n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      std::lock_guard<std::mutex> lk{out->mu};
      if (n <= 0) {
        out->out_eof = true;
        out->cv.notify_all();
        break;
      }
      output::append(out->out, buf, static_cast<std::size_t>(n));
      if (out->listening)
        continue;
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[i] != '\n') {
          out->line.push_back(buf[i]);
          continue;
        }
        auto j = json::parse(out->line, nullptr, false);
        out->line.clear();
        if (j.is_object() && j.value("event", "") == "listening") {
          out->listening = true;
          out->listening_line = j;
          out->cv.notify_all();
          break;
        }
      }
    }
    close(fd);
  }};
  err_reader_ = std::thread{[out, fd = err_pipe[0]] {
    char buf[4096];
    for (;;) {
      auto n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      std::lock_guard<std::mutex> lk{out->mu};
      output::append(out->err, buf, static_cast<std::size_t>(n));
    }
    close(fd);
  }};

  bool ok = false;
  {
    std::unique_lock<std::mutex> lk{out_->mu};
    ok = out_->cv.wait_for(lk, start_timeout,
                           [&] { return out_->listening || out_->out_eof; })
         && out_->listening;
    if (ok) {
      auto& l = out_->listening_line;
      ok = l.contains("http") && l["http"].is_number_integer() && l.contains("ws")
           && l["ws"].is_number_integer();
      if (ok) {
        http_port_ = l["http"].get<uint16_t>();
        ws_port_ = l["ws"].get<uint16_t>();
      }
    }
  }
  if (!ok) {
    std::string cmd;
    for (auto& a : args)
      cmd += a + " ";
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    reap(status);
    out_reader_.join();
    err_reader_.join();
    std::string msg = "bellhop did not print its listening line\ncmd: " + cmd
                      + "\nstdout:\n" + stdout_text() + "\nstderr:\n" + stderr_text();
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
    throw std::runtime_error(msg);
  }
}

server_process::~server_process() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    reap(status);
  }
  if (out_reader_.joinable())
    out_reader_.join();
  if (err_reader_.joinable())
    err_reader_.join();
  std::error_code ec;
  if (!data_dir_.empty())
    std::filesystem::remove_all(data_dir_, ec);
}

void server_process::reap(int status) {
  reaped_ = true;
  if (WIFEXITED(status))
    exit_status_ = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    exit_status_ = 128 + WTERMSIG(status);
}

bool server_process::running() {
  if (reaped_)
    return false;
  int status = 0;
  auto r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reap(status);
    return false;
  }
  return true;
}

int server_process::terminate(std::chrono::seconds timeout) {
  if (!running())
    return exit_status_;
  kill(pid_, SIGTERM);
  auto deadline = steady::now() + timeout;
  while (running()) {
    if (steady::now() > deadline) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
      reap(status);
      break;
    }
    std::this_thread::sleep_for(ms(5));
  }
  return exit_status_;
}

std::string server_process::stdout_text() const {
  std::lock_guard<std::mutex> lk{out_->mu};
  return out_->out;
}

std::string server_process::stderr_text() const {
  std::lock_guard<std::mutex> lk{out_->mu};
  return out_->err;
}

std::string server_process::ws_url(const std::string& path_and_query) const {
  return "ws://127.0.0.1:" + std::to_string(ws_port_) + path_and_query;
}

namespace {

size_t on_body(char* p, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(p, size * n);
  return size * n;
}

http_response http_call(uint16_t port, const std::string& path,
                        const std::string& token, const std::string* body) {
  http_response r;
  CURL* c = curl_easy_init();
  if (!c) {
    r.body = "curl_easy_init failed";
    return r;
  }
  auto url = "http://127.0.0.1:" + std::to_string(port) + path;
  curl_slist* headers = nullptr;
  std::string auth = "Authorization: Bearer " + token;
  if (!token.empty())
    headers = curl_slist_append(headers, auth.c_str());
  if (body) {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
  }
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  auto rc = curl_easy_perform(c);
  if (rc == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  else
    r.body = std::string{"curl: "} + curl_easy_strerror(rc);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return r;
}

} // namespace

http_response server_process::post_json(const std::string& path,
                                         const std::string& token,
                                         const json& body) const {
  auto text = body.dump();
  return http_call(http_port_, path, token, &text);
}

http_response server_process::get(const std::string& path,
                                  const std::string& token) const {
  return http_call(http_port_, path, token, nullptr);
}

double metric(const server_process& srv, const std::string& series) {
  auto text = srv.get("/metrics", "").body;
  auto at = text.find("\n" + series + " ");
  if (at == std::string::npos)
    return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

// ------------------------------------------------------------------ ws_client

namespace {

using client_t = websocketpp::client<websocketpp::config::asio_client>;
namespace asio = websocketpp::lib::asio;

} // namespace

struct ws_client::impl {
  client_t cli;
  std::thread thread;
  mutable std::mutex mu;
  std::condition_variable cv;
  std::vector<ws_conn_state> states;  // guarded by mu; index = conn_id
  std::vector<websocketpp::connection_hdl> hdls;  // Asio thread only

  void update(conn_id id, const std::function<void(ws_conn_state&)>& f) {
    {
      std::lock_guard<std::mutex> lk{mu};
      f(states[id]);
    }
    cv.notify_all();
  }

  void post(std::function<void()> f) {
    asio::post(cli.get_io_service(), std::move(f));
  }
};

ws_client::ws_client() : d_(std::make_unique<impl>()) {
  raise_nofile_limit();
  auto& cli = d_->cli;
  cli.clear_access_channels(websocketpp::log::alevel::all);
  cli.clear_error_channels(websocketpp::log::elevel::all);
  cli.init_asio();
  cli.start_perpetual();
  d_->thread = std::thread{[this] {
    for (;;) {
      try {
        d_->cli.run();
        break;
      } catch (...) {
        // keep the thread alive: a handler's exception must not end it
      }
    }
  }};
}

ws_client::~ws_client() {
  d_->cli.stop_perpetual();
  d_->cli.stop();
  if (d_->thread.joinable())
    d_->thread.join();
}

ws_client::conn_id ws_client::connect(const std::string& url,
                                      const std::string& authorization) {
  conn_id id;
  {
    std::lock_guard<std::mutex> lk{d_->mu};
    id = d_->states.size();
    d_->states.emplace_back();
    d_->states.back().connect_at = steady::now();
  }
  auto* d = d_.get();
  d->post([d, id, url, authorization] {
    if (d->hdls.size() <= id)
      d->hdls.resize(id + 1);
    websocketpp::lib::error_code ec;
    auto con = d->cli.get_connection(url, ec);
    if (ec) {
      d->update(id, [&](ws_conn_state& s) {
        s.failed = true;
        s.error = ec.message();
      });
      return;
    }
    if (!authorization.empty())
      con->append_header("Authorization", authorization);
    con->set_open_handshake_timeout(20000);
    con->set_close_handshake_timeout(5000);
    con->set_open_handler([d, id](websocketpp::connection_hdl h) {
      auto c = d->cli.get_con_from_hdl(h);
      int status = c ? static_cast<int>(c->get_response_code()) : 0;
      d->update(id, [&](ws_conn_state& s) {
        s.opened = true;
        s.http_status = status;
        s.open_at = steady::now();
      });
    });
    con->set_fail_handler([d, id](websocketpp::connection_hdl h) {
      auto c = d->cli.get_con_from_hdl(h);
      int status = 0;
      std::string err;
      if (c) {
        status = static_cast<int>(c->get_response_code());
        err = c->get_ec().message();
      }
      d->update(id, [&](ws_conn_state& s) {
        s.failed = true;
        s.http_status = status;
        s.error = err;
        s.close_at = steady::now();
      });
    });
    con->set_close_handler([d, id](websocketpp::connection_hdl h) {
      auto c = d->cli.get_con_from_hdl(h);
      int code = 0;
      std::string reason;
      if (c) {
        code = static_cast<int>(c->get_remote_close_code());
        reason = c->get_remote_close_reason();
      }
      d->update(id, [&](ws_conn_state& s) {
        s.closed = true;
        s.close_code = code;
        s.close_reason = reason;
        s.close_at = steady::now();
      });
    });
    con->set_message_handler(
      [d, id](websocketpp::connection_hdl, client_t::message_ptr msg) {
        auto text = msg->get_payload();
        auto j = json::parse(text, nullptr, false);
        if (j.is_discarded())
          j = nullptr;
        d->update(id, [&](ws_conn_state& s) {
          s.raw.push_back(std::move(text));
          s.frames.push_back(std::move(j));
        });
      });
    d->hdls[id] = con->get_handle();
    d->cli.connect(con);
  });
  return id;
}

void ws_client::send(conn_id id, const std::string& text) {
  send_burst(id, {text});
}

void ws_client::send_burst(conn_id id, const std::vector<std::string>& texts) {
  auto* d = d_.get();
  d->post([d, id, texts] {
    if (id >= d->hdls.size())
      return;
    for (auto& t : texts) {
      websocketpp::lib::error_code ec;
      d->cli.send(d->hdls[id], t, websocketpp::frame::opcode::text, ec);
    }
  });
}

void ws_client::send_pings(conn_id id, int n, bool pongs) {
  auto* d = d_.get();
  d->post([d, id, n, pongs] {
    if (id >= d->hdls.size())
      return;
    for (int i = 0; i < n; ++i) {
      websocketpp::lib::error_code ec;
      if (pongs)
        d->cli.pong(d->hdls[id], "", ec);
      else
        d->cli.ping(d->hdls[id], "", ec);
    }
  });
}

void ws_client::close(conn_id id, int code, const std::string& reason) {
  auto* d = d_.get();
  d->post([d, id, code, reason] {
    if (id >= d->hdls.size())
      return;
    websocketpp::lib::error_code ec;
    d->cli.close(d->hdls[id], static_cast<websocketpp::close::status::value>(code),
                 reason, ec);
  });
}

ws_conn_state ws_client::state(conn_id id) const {
  std::lock_guard<std::mutex> lk{d_->mu};
  return d_->states.at(id);
}

std::vector<json> ws_client::frames(conn_id id) const {
  std::lock_guard<std::mutex> lk{d_->mu};
  return d_->states.at(id).frames;
}

bool ws_client::wait(conn_id id, const std::function<bool(const ws_conn_state&)>& pred,
                     ms timeout) {
  std::unique_lock<std::mutex> lk{d_->mu};
  return d_->cv.wait_for(lk, timeout, [&] { return pred(d_->states.at(id)); });
}

bool ws_client::wait_all(const std::vector<conn_id>& ids,
                         const std::function<bool(const ws_conn_state&)>& pred,
                         ms timeout) {
  std::size_t done = 0;
  std::unique_lock<std::mutex> lk{d_->mu};
  return d_->cv.wait_for(lk, timeout, [&] {
    while (done < ids.size() && pred(d_->states.at(ids[done])))
      ++done;
    return done == ids.size();
  });
}

bool ws_client::wait_open(conn_id id, ms timeout) {
  wait(id, [](const ws_conn_state& s) { return s.opened || s.failed; }, timeout);
  return state(id).opened;
}

int ws_client::wait_refused(conn_id id, ms timeout) {
  wait(id, [](const ws_conn_state& s) { return s.opened || s.failed; }, timeout);
  auto s = state(id);
  if (s.opened)
    return 101;
  return s.failed ? s.http_status : 0;
}

bool ws_client::wait_frames(conn_id id, std::size_t n, ms timeout) {
  return wait(id,
              [n](const ws_conn_state& s) {
                return s.frames.size() >= n || s.closed || s.failed;
              },
              timeout)
         && state(id).frames.size() >= n;
}

bool ws_client::wait_closed(conn_id id, ms timeout) {
  return wait(id, [](const ws_conn_state& s) { return s.closed || s.failed; },
              timeout);
}

} // namespace bellhop_it
