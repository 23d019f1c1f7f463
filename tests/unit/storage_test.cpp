// The store: tables, the group-commit writer, reopening, and a full map.
#include <atomic>
#include <filesystem>
#include <thread>

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "bellhop/storage/store.hpp"
#include "bellhop/storage/tables.hpp"
#include "temp_dir.hpp"

using namespace bellhop::storage;

namespace {

/// Puts one key/value and records its final status.
struct put_op : write_op {
  std::string key, value;
  std::atomic<int>* done_count;
  status* result;
  put_op(std::string k, std::string v, std::atomic<int>* n, status* r)
    : key(std::move(k)), value(std::move(v)), done_count(n), result(r) {
  }
  status apply(txn_ref t) override {
    put(t, t.db->meta, key, value);
    return status::ok;
  }
  void done(status st) override {
    if (result != nullptr)
      *result = st;
    done_count->fetch_add(1);
  }
};

std::optional<std::string> read(store& st, const std::string& key) {
  auto txn = st.begin_read();
  auto v = get(txn.ref(), txn.ref().db->meta, key);
  return v ? std::optional<std::string>{std::string{*v}} : std::nullopt;
}

} // namespace

TEST_CASE("a committed write is visible to readers and survives reopening") {
  temp_dir dir;
  std::atomic<int> n{0};
  status result = status::failed;
  {
    store st{options{dir.path}};
    st.submit(std::make_unique<put_op>("k", "v", &n, &result));
    CHECK(!read(st, "k"));  // not before the commit
    CHECK(st.drain() == 1);
    CHECK(result == status::ok);
    CHECK(read(st, "k") == "v");
  }
  store again{options{dir.path}};
  CHECK(read(again, "k") == "v");
}

TEST_CASE("a data directory the store makes is its user's alone") {
  temp_dir parent;
  auto dir = parent.path + "/data";
  auto old_mask = umask(022);  // a common default: files readable by all
  { store st{options{dir}}; }
  umask(old_mask);
  namespace fs = std::filesystem;
  CHECK(fs::status(dir).permissions() == fs::perms::owner_all);
  for (auto name : {"data.mdb", "lock.mdb", "bellhop.pid"}) {
    INFO(name);
    CHECK(fs::status(dir + "/" + name).permissions()
          == (fs::perms::owner_read | fs::perms::owner_write));
  }
  // One that exists keeps its mode: its owner chose it.
  temp_dir shared;
  fs::permissions(shared.path, fs::perms::owner_all | fs::perms::group_read
                                 | fs::perms::group_exec);
  { store st{options{shared.path}}; }
  CHECK(fs::status(shared.path).permissions()
        == (fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec));
}

TEST_CASE("the writer commits many waiting requests in few transactions") {
  temp_dir dir;
  store st{options{dir.path}};
  std::size_t commits = 0, ops = 0;
  st.on_commit([&](std::chrono::nanoseconds, std::size_t k) {
    ++commits;
    ops += k;
  });
  std::atomic<int> n{0};
  // Queued before the writer starts: one transaction takes them all.
  for (int i = 0; i < 500; ++i)
    st.submit(std::make_unique<put_op>("a" + std::to_string(i), "x", &n, nullptr));
  st.start_writer();
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t)
    producers.emplace_back([&, t] {
      for (int i = 0; i < 250; ++i)
        st.submit(std::make_unique<put_op>(
          "b" + std::to_string(t) + "-" + std::to_string(i), "y", &n, nullptr));
    });
  for (auto& p : producers)
    p.join();
  st.stop_writer();
  CHECK(n == 1500);
  CHECK(ops == 1500);
  CHECK(commits < 1500);  // grouped: far fewer commits than requests
  CHECK(read(st, "a499") == "x");
  CHECK(read(st, "b3-249") == "y");
}

TEST_CASE("a full map refuses what does not fit and keeps what does") {
  temp_dir dir;
  options opts{dir.path};
  opts.map_size = 256 * 1024;
  store st{opts};
  std::atomic<int> n{0};
  std::vector<status> results(64, status::ok);
  for (int i = 0; i < 64; ++i)
    st.submit(std::make_unique<put_op>("big" + std::to_string(i),
                                       std::string(16 * 1024, 'x'), &n,
                                       &results[i]));
  st.drain();
  int ok = 0, full = 0;
  for (int i = 0; i < 64; ++i) {
    if (results[i] == status::ok) {
      ++ok;
      CHECK(read(st, "big" + std::to_string(i)));
    } else {
      CHECK(results[i] == status::full);
      ++full;
    }
  }
  CHECK(ok > 0);
  CHECK(full > 0);
  // Still usable after the refusal.
  status small = status::failed;
  st.submit(std::make_unique<put_op>("small", "1", &n, &small));
  st.drain();
  CHECK(small == status::ok);
}

TEST_CASE("space() reports the map's size and a use that grows with writes") {
  temp_dir dir;
  options opts{dir.path};
  opts.map_size = 4 * 1024 * 1024;
  store st{opts};
  auto before = st.space();
  CHECK(before.map_bytes == 4 * 1024 * 1024);
  CHECK(before.used_bytes > 0);
  std::atomic<int> n{0};
  status result = status::failed;
  st.submit(std::make_unique<put_op>("large", std::string(512 * 1024, 'x'), &n,
                                     &result));
  st.drain();
  REQUIRE(result == status::ok);
  auto after = st.space();
  CHECK(after.used_bytes >= before.used_bytes + 512 * 1024);
  CHECK(after.used_bytes <= after.map_bytes);
}

/// An op whose apply throws, as a failed read inside it would.
struct throwing_op : write_op {
  status* result;
  explicit throwing_op(status* r) : result(r) {
  }
  status apply(txn_ref t) override {
    put(t, t.db->meta, "thrower", "written");
    throw std::runtime_error("op failed");
  }
  void done(status st) override {
    *result = st;
  }
};

TEST_CASE("an op that throws fails alone, not its whole batch") {
  temp_dir dir;
  store st{options{dir.path}};
  std::atomic<int> n{0};
  std::vector<status> results(8, status::failed);
  status thrown = status::ok;
  for (int i = 0; i < 8; ++i) {
    if (i == 4)
      st.submit(std::make_unique<throwing_op>(&thrown));
    st.submit(std::make_unique<put_op>("k" + std::to_string(i), "v", &n,
                                       &results[i]));
  }
  CHECK(st.drain() == 9);
  CHECK(thrown == status::failed);
  CHECK(!read(st, "thrower"));
  for (int i = 0; i < 8; ++i) {
    CHECK(results[i] == status::ok);
    CHECK(read(st, "k" + std::to_string(i)));
  }
}

TEST_CASE("counters and note keys round-trip") {
  temp_dir dir;
  store st{options{dir.path}};
  CHECK(note_key_id(note_key("h1", 0x0102030405060708ULL)) == 0x0102030405060708ULL);
  CHECK(note_key("h1", 2) < note_key("h1", 10));
  struct counters_op : write_op {
    status apply(txn_ref t) override {
      host_counters c;
      c.next_id = 8;
      c.latest_id = 7;
      c.unread = 3;
      c.unread_by_category[2] = 3;
      c.latest_by_category[2] = 7;
      put_counters(t, "h1", c);
      return status::ok;
    }
    void done(status) override {
    }
  };
  st.submit(std::make_unique<counters_op>());
  st.drain();
  auto txn = st.begin_read();
  auto c = get_counters(txn.ref(), "h1");
  CHECK(c.next_id == 8);
  CHECK(c.latest_id == 7);
  CHECK(c.unread == 3);
  CHECK(c.unread_by_category[2] == 3);
  CHECK(c.latest_by_category[2] == 7);
  auto none = get_counters(txn.ref(), "h2");
  CHECK(none.next_id == 1);
  CHECK(none.unread == 0);
}

namespace {

/// Writes a schema-1 directory with LMDB itself: a table each for notes,
/// counters, unread marks, audit entries and calendar.
void write_schema1(const std::string& dir) {
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == 0);
  REQUIRE(mdb_env_set_maxdbs(env, 16) == 0);
  REQUIRE(mdb_env_open(env, dir.c_str(), 0, 0644) == 0);
  MDB_txn* txn = nullptr;
  REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
  auto put_in = [&](const char* table, std::string k, std::string v) {
    MDB_dbi dbi;
    REQUIRE(mdb_dbi_open(txn, table, MDB_CREATE, &dbi) == 0);
    MDB_val mk{k.size(), k.data()}, mv{v.size(), v.data()};
    REQUIRE(mdb_put(txn, dbi, &mk, &mv, 0) == 0);
  };
  std::string counters;
  for (uint64_t x : {6, 5, 2, 2, 0, 0, 0, 5, 0, 0, 0})
    for (int i = 0; i < 8; ++i)
      counters.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
  put_in("counters", "h1", counters);
  put_in("notes", note_key("h1", 5), "{\"id\":5}");
  put_in("unread", note_key("h1", 5), std::string(1, '\0'));
  put_in("audit", std::string("h1\0", 3) + std::string(16, 'x'), "{\"a\":1}");
  put_in("calendar", std::string("h1\0r1\0", 6) + "2026-12-01", "2026-12-03bk");
  put_in("meta", "version", "1");
  REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);
}

/// Marks the directory as written by a later schema.
struct newer_schema_op : write_op {
  status apply(txn_ref t) override {
    put(t, t.db->meta, "version", "9");
    return status::ok;
  }
  void done(status) override {
  }
};

} // namespace

TEST_CASE("opening a schema-1 directory moves every per-host record into notes") {
  temp_dir dir;
  write_schema1(dir.path);
  store st{options{dir.path}};
  auto txn = st.begin_read();
  auto t = txn.ref();
  auto c = get_counters(t, "h1");
  CHECK(c.next_id == 6);
  CHECK(c.latest_id == 5);
  CHECK(c.unread == 2);
  CHECK(c.unread_by_category[0] == 2);
  CHECK(c.latest_by_category[0] == 5);
  CHECK(get(t, t.db->notes, note_key("h1", 5)));
  CHECK(get(t, t.db->unread, unread_key("h1", 5)));
  CHECK(get(t, t.db->audit, audit_prefix("h1") + std::string(16, 'x')));
  CHECK(get(t, t.db->calendar, calendar_key("h1", "r1", "2026-12-01"))
        == std::optional<std::string_view>{"2026-12-03bk"});
  CHECK(get(t, t.db->meta, "version") == std::optional<std::string_view>{"3"});
  // The old tables are gone.
  MDB_dbi old;
  CHECK(mdb_dbi_open(t.txn, "unread", 0, &old) == MDB_NOTFOUND);
  CHECK(mdb_dbi_open(t.txn, "counters", 0, &old) == MDB_NOTFOUND);
}

TEST_CASE("a host's records form one key range that note walks stop at") {
  for (auto& k : {unread_key("h1", 1), audit_key("h1", 1, 1),
                  calendar_key("h1", "r", "2026-12-01"), counters_key("h1")}) {
    CHECK(note_key("h1", UINT64_MAX) < k);
    CHECK(k < note_key("h1-", 0));  // '-' is the smallest id character
    CHECK(!has_prefix(k, host_prefix("h1"), 8));
  }
}

TEST_CASE("a directory from a newer schema is refused") {
  temp_dir dir;
  {
    store st{options{dir.path}};
    st.submit(std::make_unique<newer_schema_op>());
    st.drain();
  }
  CHECK_THROWS_WITH(store{options{dir.path}},
                    Catch::Contains("newer than this bellhop"));
}
