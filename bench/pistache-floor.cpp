// pistache-floor: the least a durable POST /bookings can cost on Pistache
// 0.0.5, for bench/rest-bench's "floor" rows. Not bellhop: no JWT, no
// validation beyond JSON parsing, no actors, no LMDB. It serves
// POST /bookings on 127.0.0.1 with bellhop's endpoint options and keep-alive
// handling, parses the body as JSON and answers 201 with a body of the size
// bellhop sends, in one of three modes:
//   inline   on the reactor thread, at once (Pistache's own ceiling);
//   handoff  from one other thread, as bellhop answers from a CAF worker:
//            the writer is moved to a queue, and the answer goes back to
//            the reactor through Pistache's cross-thread send;
//   commit   from a group-commit thread: every body waiting is appended to
//            one file with one write(2), then fdatasync(2), then each is
//            answered — the cheapest durable store there is (one append
//            of ~200 bytes per booking, no index).
// Usage: pistache-floor MODE [DIR]   (DIR for commit's file, default /tmp)
// Prints {"http":PORT} on stdout when it listens; stops on SIGINT/SIGTERM.
#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>
#include <pistache/endpoint.h>

namespace {

using Pistache::Http::ResponseWriter;
namespace H = Pistache::Http::Header;

enum class mode { inline_answer, handoff, commit };

// A 201 body the size of bellhop's (a booking and a notification id).
const std::string created_body =
  R"({"booking":{"id":"bk_01M8H488N09KXEP0VPPB9WPD8V","hostId":"h1",)"
  R"("roomId":"r1","guestId":"g1","checkIn":"2027-01-01","checkOut":)"
  R"("2027-01-03","guests":2,"note":null,"createdAt":)"
  R"("2026-11-28T13:07:00.384Z"},"notification":{"id":1}})";

void answer(ResponseWriter& w) {
  w.headers().add<H::Location>("/bookings/bk_01M8H488N09KXEP0VPPB9WPD8V");
  w.send(Pistache::Http::Code::Created, created_body,
         MIME(Application, Json));
}

/// One job for the other thread: the writer and, for commit, the body.
struct job {
  ResponseWriter w;
  std::string body;
};

/// The other thread: answers (handoff) or commits then answers (commit).
/// Jobs are taken all at once, as bellhop's writer takes every request
/// waiting into one transaction.
class worker {
public:
  worker(mode m, const std::string& dir) : mode_(m) {
    if (m == mode::commit) {
      auto path = dir + "/pistache-floor." + std::to_string(getpid());
      fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
      if (fd_ < 0) {
        std::perror(path.c_str());
        std::exit(1);
      }
      ::unlink(path.c_str());  // the file goes when the process does
    }
    thread_ = std::thread([this] { run(); });
  }

  void push(job j) {
    {
      std::lock_guard<std::mutex> lock{mu_};
      jobs_.push_back(std::move(j));
    }
    cv_.notify_one();
  }

private:
  void run() {
    std::deque<job> batch;
    std::string buf;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock{mu_};
        cv_.wait(lock, [this] { return !jobs_.empty(); });
        batch.swap(jobs_);
      }
      if (mode_ == mode::commit) {
        buf.clear();
        for (auto& j : batch) {
          buf += j.body;
          buf += '\n';
        }
        if (::write(fd_, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size())
            || ::fdatasync(fd_) != 0) {
          std::perror("pistache-floor: write");
          std::exit(1);
        }
      }
      for (auto& j : batch)
        answer(j.w);
      batch.clear();
    }
  }

  mode mode_;
  int fd_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<job> jobs_;
  std::thread thread_;
};

class floor_handler : public Pistache::Http::Handler {
public:
  HTTP_PROTOTYPE(floor_handler)

  floor_handler(mode m, std::shared_ptr<worker> wk) : mode_(m), worker_(std::move(wk)) {
  }

  void onRequest(const Pistache::Http::Request& req, ResponseWriter w) override {
    // As bellhop: HTTP/1.1 connections stay open (Pistache 0.0.5 would
    // close each one after its first answer).
    w.headers().remove<H::Connection>();
    w.headers().add<H::Connection>(Pistache::Http::ConnectionControl::KeepAlive);
    if (req.resource() != "/bookings"
        || req.method() != Pistache::Http::Method::Post) {
      w.send(Pistache::Http::Code::Not_Found);
      return;
    }
    auto doc = nlohmann::json::parse(req.body(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      w.send(Pistache::Http::Code::Bad_Request);
      return;
    }
    if (mode_ == mode::inline_answer) {
      answer(w);
      return;
    }
    worker_->push(job{std::move(w), mode_ == mode::commit ? req.body() : std::string{}});
  }

private:
  mode mode_;
  std::shared_ptr<worker> worker_;
};

} // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: pistache-floor inline|handoff|commit [DIR]\n";
    return 2;
  }
  std::string name = argv[1];
  mode m;
  if (name == "inline")
    m = mode::inline_answer;
  else if (name == "handoff")
    m = mode::handoff;
  else if (name == "commit")
    m = mode::commit;
  else {
    std::cerr << "pistache-floor: unknown mode " << name << "\n";
    return 2;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // every thread inherits it

  std::shared_ptr<worker> wk;
  if (m != mode::inline_answer)
    wk = std::make_shared<worker>(m, argc == 3 ? argv[2] : "/tmp");
  Pistache::Http::Endpoint endpoint{
    Pistache::Address{"127.0.0.1", Pistache::Port{0}}};
  endpoint.init(Pistache::Http::Endpoint::options()
                  .threads(1)
                  .flags(Pistache::Tcp::Options::ReuseAddr)
                  .maxRequestSize(1024 * 1024)
                  .maxResponseSize(4 * 1024 * 1024));
  endpoint.setHandler(std::make_shared<floor_handler>(m, wk));
  endpoint.serveThreaded();
  std::cout << "{\"http\":" << static_cast<uint16_t>(endpoint.getPort()) << "}"
            << std::endl;
  int sig = 0;
  sigwait(&stop, &sig);
  std::_Exit(0);  // the worker thread never returns: no orderly teardown
}
