// Bringing an older data directory to the current schema when it is opened,
// and refusing one written by a newer bellhop. The schema version is in the
// meta table under "version".
#pragma once

#include <lmdb.h>

namespace bellhop::storage {

/// The schema this build writes. 1: a table each for notes, counters,
/// unread marks, audit and calendar; 2: counters beside the notes;
/// 3: every per-host record in the notes table (tables.hpp).
constexpr const char* schema_version = "3";

/// In the opening write transaction: throws if the directory's schema is
/// newer than this build's; moves the records of the tables that older
/// schemas kept apart into `notes` (re-keyed) and deletes those tables;
/// writes the current version. All or nothing with the transaction.
void upgrade_schema(MDB_txn* txn, MDB_dbi notes, MDB_dbi meta);

} // namespace bellhop::storage
