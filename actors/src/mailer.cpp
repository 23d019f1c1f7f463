// The mailer: takes outbox entries, sends them, and records the outcome.
// Its workers are spawned detached (a thread each) because an SMTP exchange
// blocks; a front actor hands each email to the worker of its host, so
// `smtp_config::connections` emails go out at once while one host's emails
// stay in order (and a worker's duplicate check sees every job of an
// entry). A failed send is recorded (`email_failed`: its 1st, 2nd, 4th, ...
// failure) and retried with backoff: the first retry within 1 s, then
// doubling, at most 30 s apart.
// The entry stays in the outbox until the server accepted it, so a restart
// resumes it (resume_email). The email is written at each attempt, of the
// entry's notifications still unread then: one read meanwhile is left out.
#include <algorithm>
#include <chrono>
#include <cstdint>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include <unordered_set>
#include <vector>

#include "audit.hpp"
#include "bellhop/actors/core.hpp"
#include "bellhop/actors/preferences.hpp"
#include "bellhop/storage/tables.hpp"
#include "bellhop/telemetry/log.hpp"
#include "bellhop/telemetry/metrics.hpp"
#include "email_content.hpp"
#include "mail_backoff.hpp"
#include "smtp_client.hpp"
#include "write_ops.hpp"

namespace bellhop {

namespace {

struct mailer_state {
  static inline const char* name = "bellhop.mailer";
  storage::store* store = nullptr;
  smtp_config cfg;
  /// Outbox keys this mailer is sending or retrying, and keys it finished
  /// lately (their outbox entry may not be deleted yet): a first job for
  /// one of them is a duplicate (the router hands a failed host's entries
  /// over again). A key is never reused for another entry.
  std::unordered_set<std::string> active;
  std::unordered_set<std::string> finished;
  /// Jobs that came before the page's address (serve.cpp learns it once it
  /// listens): every email links to the page, so they wait for it.
  std::vector<email_job> before_url;
  bool url_known = false;
};

using mailer_self = mailer_actor::stateful_pointer<mailer_state>;

constexpr std::size_t max_finished = 65536;

/// The entry `key` is no longer this mailer's to send.
void forget(mailer_state& st, const std::string& key) {
  if (st.active.erase(key) > 0)
    telemetry::metrics().emails_pending.add(-1);
}

/// Takes a sent (or no longer wanted) entry out of the outbox, with an
/// `emailed` audit entry for each of `sent.ids`. A write that fails comes
/// back as `email_sent` a second later, until it lands.
void finish(mailer_self self, email_sent sent) {
  auto& st = self->state;
  auto key = storage::note_key(sent.host_id, sent.first_id);
  forget(st, key);
  // Entries finished long ago are gone from the outbox: a late duplicate
  // of one finds nothing to send.
  if (st.finished.size() >= max_finished)
    st.finished.clear();
  st.finished.insert(key);
  auto op = std::make_unique<outbox_done_op>();
  op->sent = std::move(sent);
  op->retry_to = caf::actor_cast<mailer_actor>(self);
  self->state.store->submit(std::move(op));
}

void on_job(mailer_self self, email_job& job) {
  auto& st = self->state;
  // The server is stopping: the entry stays in the outbox for the next
  // start, with no attempt (and no `email_failed`) recorded.
  if (email_sends_stopped())
    return;
  auto key = storage::note_key(job.host_id, job.first_id);
  if (job.attempt == 0) {
    if (st.finished.count(key) > 0 || !st.active.insert(key).second)
      return;  // handed over again
    telemetry::metrics().emails_pending.add(1);
  }
  std::string to;
  std::vector<email_item> items;
  try {
    auto txn = st.store->begin_read();
    auto t = txn.ref();
    auto rec = storage::get(t, t.db->outbox, key);
    auto doc = rec ? nlohmann::json::parse(*rec, nullptr, false)
                   : nlohmann::json{};
    if (!doc.is_object()) {  // already sent (or not an entry)
      forget(st, key);
      return;
    }
    std::vector<uint64_t> ids;
    for (auto& id : doc.value("ids", nlohmann::json::array()))
      if (id.is_number_unsigned())
        ids.push_back(id.get<uint64_t>());
    items = unread_items(t, job.host_id, ids);
    // The host's preferences now, not when the email fell due: a changed
    // address gets it, and a category whose email was turned off, or a
    // host with no address any more, gets none.
    auto prefs_doc = storage::get(t, t.db->prefs, job.host_id);
    auto prefs = prefs_doc ? preferences::from_json(*prefs_doc) : preferences{};
    to = prefs.email.value_or("");
    items.erase(std::remove_if(items.begin(), items.end(),
                               [&](const email_item& i) {
                                 return to.empty()
                                        || (i.cat && !prefs.of(*i.cat).email);
                               }),
                items.end());
  } catch (const std::exception& e) {
    // A failed read must not end the mailer (and every email with it):
    // this entry is tried again like a failed send.
    telemetry::log(telemetry::level::warn, "email: reading the outbox failed",
                   {{"error", std::string_view{e.what()}}});
    auto retry = job;
    retry.attempt += 1;
    self->delayed_send(self, mail_backoff(job.attempt), std::move(retry));
    return;
  }
  if (items.empty()) {  // read (or no longer wanted) before it went out
    finish(self, email_sent{job.host_id, job.first_id, {}});
    return;
  }
  auto m = email_of(job.host_id, to, items);
  std::string error;
  auto started = std::chrono::steady_clock::now();
  if (smtp_send(st.cfg, m, error)) {
    telemetry::metrics().delivery(telemetry::channel::email,
                                  telemetry::result::sent);
    email_sent sent{job.host_id, job.first_id, {}};
    for (auto& i : items)
      sent.ids.push_back(i.id);
    finish(self, std::move(sent));
    return;
  }
  if (email_sends_stopped())
    return;  // cut off by the stop, not refused: as above
  telemetry::metrics().delivery(telemetry::channel::email,
                                telemetry::result::failed);
  // Retries go on every 30 s for as long as the server refuses (a wrong
  // address, an outage): each is counted, but only the 1st, 2nd, 4th, 8th,
  // ... failure of an email is logged and audited, so that a refusal that
  // lasts does not fill the log or the store (a day of it: 12 entries).
  // `n` is this attempt's number, from 1, as the log gives it.
  if (auto n = job.attempt + 1; (n & (n - 1)) == 0) {
    telemetry::log(telemetry::level::warn, "email failed",
                   {{"host", std::string_view{job.host_id}},
                    {"id", static_cast<int64_t>(job.first_id)},
                    {"attempt", int64_t{n}},
                    {"error", std::string_view{error}}});
    auto op = std::make_unique<audit_op>();
    op->host_id = job.host_id;
    for (auto& i : items)
      op->entries.push_back(audit_entry{job.host_id, i.id, "email_failed",
                                        "bellhop", "email", ""});
    st.store->submit(std::move(op));
  }
  auto retry = job;
  retry.attempt += 1;
  // The backoff counts from the attempt's start: a slow attempt (a server
  // that hangs until the timeout) does not push the next one further off.
  auto took = std::chrono::steady_clock::now() - started;
  auto wait = std::max<std::chrono::steady_clock::duration>(
    mail_backoff(job.attempt) - took, std::chrono::steady_clock::duration{0});
  self->delayed_send(self, wait, std::move(retry));
}

mailer_actor::behavior_type mailer_worker(mailer_self self,
                                          storage::store* st,
                                          smtp_config cfg) {
  self->state.store = st;
  self->state.cfg = std::move(cfg);
  return {
    [=](email_job& job) {
      if (!self->state.url_known)
        self->state.before_url.push_back(std::move(job));
      else
        on_job(self, job);
    },
    [=](email_sent& sent) { finish(self, std::move(sent)); },
    [=](mailer_page_url& u) {
      auto& st = self->state;
      st.cfg.page_url = std::move(u.url);
      st.url_known = true;
      auto early = std::move(st.before_url);
      st.before_url.clear();
      for (auto& job : early)
        on_job(self, job);
    },
  };
}

/// The worker of a host: FNV-1a of its id, so that a host keeps its worker
/// across restarts and builds.
std::size_t worker_of(const std::string& host_id, std::size_t workers) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : host_id)
    h = (h ^ c) * 1099511628211ull;
  return static_cast<std::size_t>(h % workers);
}

/// The front: spawns the workers linked to itself (an exit sent to it ends
/// them all) and hands each job to its host's worker. It never blocks.
mailer_actor::behavior_type mailer_front(mailer_actor::pointer self,
                                         storage::store* st,
                                         smtp_config cfg) {
  std::vector<mailer_actor> workers;
  auto n = std::max(1u, cfg.connections);
  for (unsigned i = 0; i < n; ++i)
    workers.push_back(
      self->spawn<caf::detached + caf::linked>(mailer_worker, st, cfg));
  return {
    [=](email_job& job) {
      auto& w = workers[worker_of(job.host_id, workers.size())];
      self->send(w, std::move(job));
    },
    [=](email_sent& sent) {
      // Only a worker sends these (to itself); passed on all the same.
      auto& w = workers[worker_of(sent.host_id, workers.size())];
      self->send(w, std::move(sent));
    },
    [=](mailer_page_url& u) {
      for (auto& w : workers)
        self->send(w, u);
    },
  };
}

} // namespace

mailer_actor spawn_mailer(caf::actor_system& sys, storage::store& st,
                          smtp_config cfg) {
  return sys.spawn(mailer_front, &st, std::move(cfg));
}

void resume_email(storage::store& st, router_actor router,
                  mailer_actor mailer) {
  auto txn = st.begin_read();
  auto t = txn.ref();
  auto host_of = [](std::string_view key) {
    return std::string{key.substr(0, key.find('\0'))};
  };
  std::string last_host;
  storage::cursor waits{t, t.db->waits};
  for (bool ok = waits.first(); ok; ok = waits.next()) {
    auto h = host_of(waits.key());
    if (h != last_host)
      caf::anon_send(router, wake_msg{h});
    last_host = h;
  }
  if (!mailer)
    return;
  storage::cursor out{t, t.db->outbox};
  for (bool ok = out.first(); ok; ok = out.next())
    caf::anon_send(mailer, email_job{host_of(out.key()),
                                     storage::note_key_id(out.key()), 0});
}

bool resume_host_email(storage::store& st, const std::string& host_id,
                       const mailer_actor& mailer) {
  auto txn = st.begin_read();
  auto t = txn.ref();
  auto prefix = storage::host_prefix(host_id);
  if (mailer) {
    storage::cursor out{t, t.db->outbox};
    for (bool ok = out.seek(prefix);
         ok && storage::has_prefix(out.key(), prefix, 8); ok = out.next())
      caf::anon_send(mailer,
                     email_job{host_id, storage::note_key_id(out.key()), 0});
  }
  storage::cursor waits{t, t.db->waits};
  return waits.seek(prefix) && storage::has_prefix(waits.key(), prefix, 8);
}

} // namespace bellhop
