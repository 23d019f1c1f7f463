// Starting bellhop's actor layer: registering its message types and
// spawning the router over a store.
#pragma once

#include <chrono>
#include <string>

#include <caf/fwd.hpp>

#include "bellhop/actors/interfaces.hpp"

namespace bellhop::storage {
class store;
}

namespace bellhop {

struct core_config {
  /// A host actor with no work and no session stops after this long; its
  /// state reloads from LMDB when it is needed again.
  std::chrono::milliseconds host_idle_timeout{60'000};
  /// How long a live session has to ack a notification before the email
  /// fallback counts it as not delivered.
  std::chrono::milliseconds ack_timeout{2000};
  /// How often expired idempotency records (older than 24 h) are deleted;
  /// the first pass runs after the shorter of this and 5 minutes
  /// (sweep_clock.hpp).
  std::chrono::milliseconds idem_sweep_interval{600'000};
  /// Read notifications and audit entries older than this are deleted
  /// (retention_sweeper.hpp); 0 keeps everything.
  std::chrono::milliseconds retention{0};
  /// Where due emails go; a null handle turns email off.
  mailer_actor mailer;
};

/// SMTP settings of the mailer.
struct smtp_config {
  std::string url;        ///< smtp://host:port; empty: email is off
  std::string from = "bellhop@localhost";  ///< the sender's address
  std::string from_name;  ///< a name for the From: header, or empty
  std::string user;
  std::string password;
  bool starttls = false;  ///< require STARTTLS
  std::string page_url = "http://127.0.0.1:8080/";  ///< linked in emails
  /// Emails sent at once, each on a thread of its own; one host's emails
  /// always go one after the other.
  unsigned connections = 4;
};

/// Registers every bellhop message type with CAF. Call before creating the
/// actor system.
void add_message_types(caf::actor_system_config& cfg);

/// Spawns the mailer: `cfg.connections` workers, each on a thread of its
/// own. `st` must outlive it.
mailer_actor spawn_mailer(caf::actor_system& sys, storage::store& st,
                          smtp_config cfg);

/// For the stop: ends the SMTP exchanges under way (their emails stay in
/// the outbox for the next start), so that the mailer's threads end within
/// seconds even when the SMTP server hangs. Thread-safe.
void abort_email_sends();

/// After a restart: wakes every host with emails waiting and hands every
/// email left in the outbox to the mailer.
void resume_email(storage::store& st, router_actor router, mailer_actor mailer);

/// Spawns the router. `st` must outlive the actor system's use of it.
router_actor spawn_router(caf::actor_system& sys, storage::store& st,
                          core_config cfg);

} // namespace bellhop
