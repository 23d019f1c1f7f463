// pistache-floor: the least a durable POST /bookings can cost on Pistache
// 0.0.5, for bench/rest-bench's "floor" rows. Not bellhop: no JWT, no
// validation beyond JSON parsing, no actors. It serves POST /bookings on
// 127.0.0.1 with bellhop's endpoint options and keep-alive handling, parses
// the body as JSON and answers 201 with a body of the size bellhop sends, in
// one of four modes:
//   inline   on the reactor thread, at once (Pistache's own ceiling);
//   handoff  from one other thread, as bellhop answers from a CAF worker:
//            the writer is moved to a queue, and the answer goes back to
//            the reactor through Pistache's cross-thread send;
//   commit   from a group-commit thread: every body waiting is appended to
//            one file with one write(2), then fdatasync(2), then each is
//            answered — the cheapest durable store there is (one append
//            of ~200 bytes per booking, no index);
//   lmdb     as commit, but the group commit is one LMDB transaction that
//            puts, per booking, the four records the core's storage design
//            asks for: the booking under its time-ordered id, its room
//            calendar entry (for the overlap check), the host's
//            notification under host + big-endian id and the host's
//            counters — bellhop's keys, values of bellhop's sizes; no
//            unread mark, audit entry or idempotency record, and no reads.
// Usage: pistache-floor MODE [DIR]   (DIR for commit's file or lmdb's
// environment, default /tmp)
// Prints {"http":PORT} on stdout when it listens; stops on SIGINT/SIGTERM.
//
// A fifth mode serves nothing: `pistache-floor lmdb-alone DIR SECONDS`
// commits lmdb's four records for bookings like bench/post-bookings.lua's
// (1,000 hosts in turn, a new room each), 64 to a transaction — the most
// that 64 connections can have waiting, so LMDB's cheapest case — on the
// calling thread for SECONDS, and prints the CPU time the commits took per
// booking (getrusage of the thread around each commit):
//   {"bookings":N,"batch":64,"cpu_us_per_booking":X,"bookings_per_s":Y}
// Added to the inline mode's CPU per request, it is the least a booking can
// cost with Pistache and LMDB on one core, with no thread hop at all.
#include <fcntl.h>
#include <lmdb.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>
#include <pistache/endpoint.h>

namespace {

using Pistache::Http::ResponseWriter;
namespace H = Pistache::Http::Header;

enum class mode { inline_answer, handoff, commit, lmdb };

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

/// A booking as lmdb's store needs it: the body and the fields its keys
/// are made of.
struct booking_fields {
  std::string body;
  std::string host, room, check_in;
};

/// One job for the other thread: the writer and, for commit and lmdb, the
/// booking.
struct job {
  ResponseWriter w;
  booking_fields b;
};

const booking_fields& fields_of(const job& j) { return j.b; }
const booking_fields& fields_of(const booking_fields& b) { return b; }

void lmdb_check(int rc, const char* what) {
  if (rc != 0) {
    std::cerr << "pistache-floor: " << what << ": " << mdb_strerror(rc) << "\n";
    std::exit(1);
  }
}

/// The lmdb mode's store: bellhop's environment flags and key layout
/// (storage/src/tables.cpp), reduced to bookings, calendar, notifications
/// and counters.
class floor_store {
public:
  explicit floor_store(const std::string& dir) : dir_(dir + "/pistache-floor-lmdb." + std::to_string(getpid())) {
    if (::mkdir(dir_.c_str(), 0755) != 0) {
      std::perror(dir_.c_str());
      std::exit(1);
    }
    lmdb_check(mdb_env_create(&env_), "mdb_env_create");
    lmdb_check(mdb_env_set_maxdbs(env_, 4), "mdb_env_set_maxdbs");
    lmdb_check(mdb_env_set_mapsize(env_, std::size_t{16} << 30), "mdb_env_set_mapsize");
    lmdb_check(mdb_env_open(env_, dir_.c_str(), MDB_NOTLS, 0644), "mdb_env_open");
    MDB_txn* txn = nullptr;
    lmdb_check(mdb_txn_begin(env_, nullptr, 0, &txn), "mdb_txn_begin");
    lmdb_check(mdb_dbi_open(txn, "bookings", MDB_CREATE, &bookings_), "mdb_dbi_open");
    lmdb_check(mdb_dbi_open(txn, "notes", MDB_CREATE, &notes_), "mdb_dbi_open");
    lmdb_check(mdb_txn_commit(txn), "mdb_txn_commit");
    // The environment goes when the process does: LMDB keeps its files
    // open and mapped, so their names are not needed.
    std::string data = dir_ + "/data.mdb", lock = dir_ + "/lock.mdb";
    ::unlink(data.c_str());
    ::unlink(lock.c_str());
    ::rmdir(dir_.c_str());
  }

  /// One transaction for the whole batch (of jobs or of bookings);
  /// returns after mdb_txn_commit.
  template <typename Batch>
  void commit(const Batch& batch) {
    MDB_txn* txn = nullptr;
    lmdb_check(mdb_txn_begin(env_, nullptr, 0, &txn), "mdb_txn_begin");
    for (auto& item : batch) {
      auto& j = fields_of(item);
      auto& next = next_id_[j.host];
      ++next;
      auto id = booking_id();
      put(txn, bookings_, id, j.body + id + created_at);  // ~ bellhop's booking JSON
      std::string calendar_key = j.host;
      calendar_key.append("\1C").append(j.room).push_back('\0');
      calendar_key.append(j.check_in);
      put(txn, notes_, calendar_key, "2026-12-02" + id);  // checkOut + bookingId
      std::string note_key = j.host;
      note_key.push_back('\0');
      for (int shift = 56; shift >= 0; shift -= 8)
        note_key.push_back(static_cast<char>((next >> shift) & 0xff));
      std::string note(400, 'n');  // bellhop's notification JSON is ~400 bytes
      put(txn, notes_, note_key, note);
      std::string counters_key = j.host;
      counters_key.push_back('\0');
      counters_key.append(8, '\xff');
      counters_key.push_back('\0');
      std::string counters(24 + 16 * 5, '\0');  // next, latest, unread; per category
      std::memcpy(&counters[0], &next, sizeof next);
      put(txn, notes_, counters_key, counters);
    }
    lmdb_check(mdb_txn_commit(txn), "mdb_txn_commit");
  }

private:
  static constexpr const char* created_at = "2026-11-28T13:07:00.384Z";

  static void put(MDB_txn* txn, MDB_dbi dbi, const std::string& k, const std::string& v) {
    MDB_val key{k.size(), const_cast<char*>(k.data())};
    MDB_val val{v.size(), const_cast<char*>(v.data())};
    lmdb_check(mdb_put(txn, dbi, &key, &val, 0), "mdb_put");
  }

  /// Time-ordered like bellhop's ULIDs: milliseconds, then random digits.
  std::string booking_id() {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch()).count();
    char buf[48];
    std::snprintf(buf, sizeof buf, "bk_%012llx%016llx",
                  static_cast<unsigned long long>(ms),
                  static_cast<unsigned long long>(rng_()));
    return buf;
  }

  std::string dir_;
  MDB_env* env_ = nullptr;
  MDB_dbi bookings_ = 0, notes_ = 0;
  std::unordered_map<std::string, uint64_t> next_id_;
  std::mt19937_64 rng_{42};
};

/// The other thread: answers (handoff) or commits then answers (commit).
/// Jobs are taken all at once, as bellhop's writer takes every request
/// waiting into one transaction.
class worker {
public:
  worker(mode m, const std::string& dir) : mode_(m) {
    if (m == mode::lmdb)
      store_ = std::make_unique<floor_store>(dir);
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
          buf += j.b.body;
          buf += '\n';
        }
        if (::write(fd_, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size())
            || ::fdatasync(fd_) != 0) {
          std::perror("pistache-floor: write");
          std::exit(1);
        }
      } else if (mode_ == mode::lmdb) {
        store_->commit(batch);
      }
      for (auto& j : batch)
        answer(j.w);
      batch.clear();
    }
  }

  mode mode_;
  int fd_ = -1;
  std::unique_ptr<floor_store> store_;
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
    if (mode_ == mode::handoff) {
      worker_->push(job{std::move(w), {}});
      return;
    }
    auto field = [&doc](const char* name) {
      auto it = doc.find(name);
      return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string{"x"};
    };
    worker_->push(job{std::move(w), {req.body(), field("hostId"), field("roomId"),
                                     field("checkIn")}});
  }

private:
  mode mode_;
  std::shared_ptr<worker> worker_;
};

double thread_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
         + static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/// The lmdb-alone mode: lmdb's commits with no HTTP and no other thread.
/// Only the commits are timed; making the bookings' text is not.
int lmdb_alone(const std::string& dir, double seconds) {
  constexpr std::size_t batch_size = 64;
  constexpr unsigned hosts = 1000;
  floor_store store{dir};
  std::vector<booking_fields> batch(batch_size);
  unsigned long long counter = 0, bookings = 0;
  double cpu = 0;
  auto start = std::chrono::steady_clock::now();
  auto end = start + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    for (auto& b : batch) {
      // The text bench/post-bookings.lua sends, in the same order.
      auto c = counter++;
      b.host = "h" + std::to_string(c % hosts);
      b.room = "rA-0-" + std::to_string(c);
      b.check_in = "2026-12-01";
      b.body = R"({"hostId":")" + b.host + R"(","roomId":")" + b.room
               + R"(","guestId":"g)" + std::to_string(c % 5000)
               + R"(","checkIn":"2026-12-01","checkOut":"2026-12-02","guests":1})";
    }
    double before = thread_cpu_s();
    store.commit(batch);
    cpu += thread_cpu_s() - before;
    bookings += batch_size;
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "{\"bookings\":" << bookings << ",\"batch\":" << batch_size
            << ",\"cpu_us_per_booking\":" << cpu * 1e6 / static_cast<double>(bookings)
            << ",\"bookings_per_s\":" << static_cast<double>(bookings) / wall << "}"
            << std::endl;
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string{argv[1]} == "lmdb-alone")
    return lmdb_alone(argv[2], std::atof(argv[3]));
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: pistache-floor inline|handoff|commit|lmdb [DIR]\n"
                 "       pistache-floor lmdb-alone DIR SECONDS\n";
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
  else if (name == "lmdb")
    m = mode::lmdb;
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
