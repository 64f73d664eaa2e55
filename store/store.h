/* Durable state for the servers: one interface over SQLite (default, one file in WAL mode) and
 * PostgreSQL (libpq, for several stateless processes sharing one database).
 *
 * SQL is written once with positional parameters $1..$n for both backends. Concurrency is left
 * to the database: counters and hand-outs are single statements (UPDATE ... RETURNING), and
 * transactions that lose a race are re-run by store_transaction().
 *
 * Threads: a store is shared by all threads; each thread borrows a connection, uses it alone,
 * and returns it. Statements belong to the connection they were prepared on. */
#ifndef RSPKIT_STORE_STORE_H
#define RSPKIT_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct store store;
typedef struct store_conn store_conn;
typedef struct store_stmt store_stmt;

typedef enum {
    STORE_DIALECT_SQLITE,
    STORE_DIALECT_POSTGRES,
} store_dialect_kind;

/* Why the last call on a connection failed: callers refuse duplicates with
 * STORE_FAILURE_UNIQUE; STORE_FAILURE_CONFLICT makes store_transaction() re-run. */
typedef enum {
    STORE_FAILURE_NONE,
    STORE_FAILURE_UNIQUE,     /* unique or primary key violation (rsp_status RSP_ERR_STATE) */
    STORE_FAILURE_CONSTRAINT, /* foreign key, check, not null (RSP_ERR_BAD_VALUE) */
    STORE_FAILURE_CONFLICT,   /* busy, lock timeout, deadlock, serialization (RSP_ERR_STATE) */
    STORE_FAILURE_SQL,        /* the SQL itself is wrong (RSP_ERR_INVALID_ARGUMENT) */
    STORE_FAILURE_IO,         /* connection lost, disk full, corrupt file (RSP_ERR_IO) */
} store_failure;

typedef enum {
    STORE_NULL,
    STORE_INT64,
    STORE_TEXT,
    STORE_BLOB,
} store_type;

typedef struct {
    unsigned pool_size;         /* connections opened at store_open; 0 means 4 */
    unsigned borrow_timeout_ms; /* how long store_borrow waits for a free connection */
    unsigned busy_timeout_ms;   /* SQLite: how long to wait for the write lock; 0 means 5000 */
    unsigned max_attempts;      /* store_transaction re-runs on conflict; 0 means 20 */
    /* Every commit is relaxed (see store_transaction_relaxed): for deployments that accept
     * losing the last commits to a power cut. */
    bool relaxed_durability;
} store_options;

/* Opens a pool. url: "sqlite:PATH", "sqlite://PATH", a bare path, or "postgresql://..." /
 * "postgres://..." / any libpq conninfo ("host=... dbname=..."). options may be NULL (defaults;
 * the borrow timeout then is 10 s). ":memory:" gives every pooled connection a database of its
 * own: use it with pool_size 1. */
rsp_status store_open(const char *url, const store_options *options, store **out, rsp_error *err);
/* All connections must have been returned. */
void store_close(store *st);
store_dialect_kind store_dialect(const store *st);
/* " FOR UPDATE SKIP LOCKED" on PostgreSQL, "" on SQLite (whose writers are serialised, so a
 * single UPDATE ... WHERE id = (SELECT ... LIMIT 1) RETURNING already claims exactly once). */
const char *store_sql_skip_locked(const store *st);
unsigned store_pool_size(const store *st);

/* Waits up to borrow_timeout_ms for a free connection; RSP_ERR_STATE when the pool stays
 * exhausted. A connection whose server went away is reconnected here. */
rsp_status store_borrow(store *st, store_conn **out, rsp_error *err);
/* The same, for a few short reads and nothing else (no write, no transaction, no other borrow
 * until it is returned): on SQLite it reads through the writing handle when no writer holds it,
 * whose page cache is warm, where a pool connection re-reads every page it touches after any
 * write. A write on it fails (STORE_FAILURE_SQL); store_begin refuses it. */
rsp_status store_borrow_reader(store *st, store_conn **out, rsp_error *err);
/* Finishes open statements and rolls back an open transaction before pooling it again. */
void store_return(store_conn *conn);
store_dialect_kind store_conn_dialect(const store_conn *conn);
/* Kind of the last failure on this connection; STORE_FAILURE_NONE after a success. */
store_failure store_last_failure(const store_conn *conn);

/* Prepared statements, cached per connection by SQL text. The statement is reserved until
 * store_finish(). Bind indexes and column indexes start at 1 and 0 respectively (like SQLite).
 * Text and blob binds are not copied: the caller's buffer must stay valid until the first
 * store_step(). A bind error is remembered and reported by the next store_step(). */
rsp_status store_prepare(store_conn *conn, const char *sql, store_stmt **out, rsp_error *err);
rsp_status store_bind_int64(store_stmt *stmt, int index, int64_t value);
rsp_status store_bind_text(store_stmt *stmt, int index, const char *value);
/* UTF-8 text of known length, not NUL-terminated (a der_view, say). */
rsp_status store_bind_text_n(store_stmt *stmt, int index, const char *value, size_t size);
rsp_status store_bind_blob(store_stmt *stmt, int index, const void *data, size_t size);
rsp_status store_bind_null(store_stmt *stmt, int index);
/* Executes on the first call; *has_row tells whether a result row is available. */
rsp_status store_step(store_stmt *stmt, bool *has_row, rsp_error *err);
int store_column_count(const store_stmt *stmt);
store_type store_column_type(store_stmt *stmt, int column);
bool store_column_is_null(store_stmt *stmt, int column);
int64_t store_column_int64(store_stmt *stmt, int column);
/* NUL-terminated; NULL for SQL NULL. Valid until the next step or finish. */
const char *store_column_text(store_stmt *stmt, int column);
/* Valid until the next step or finish; *size is 0 for NULL or empty. */
const uint8_t *store_column_blob(store_stmt *stmt, int column, size_t *size);
/* Rows changed by the statement, once it has run to completion. */
int64_t store_changes(const store_stmt *stmt);
/* Resets the statement, clears its binds, and gives it back to the connection's cache. */
void store_finish(store_stmt *stmt);

/* One-shot helpers: parameters as an array of values. */
/* Marks text whose length is found by its NUL terminator. */
#define STORE_NUL_TERMINATED SIZE_MAX

typedef struct {
    store_type type;
    int64_t integer;
    const void *data; /* text (UTF-8) or blob bytes; NULL text binds SQL NULL */
    size_t size;      /* bytes; for text STORE_NUL_TERMINATED or the length */
} store_value;

#define STORE_VALUE_NULL()   ((store_value){.type = STORE_NULL})
#define STORE_VALUE_INT64(v) ((store_value){.type = STORE_INT64, .integer = (v)})
#define STORE_VALUE_TEXT(s)                                                                        \
    ((store_value){.type = STORE_TEXT, .data = (s), .size = STORE_NUL_TERMINATED})
#define STORE_VALUE_TEXT_N(s, n) ((store_value){.type = STORE_TEXT, .data = (s), .size = (n)})
#define STORE_VALUE_BLOB(p, n)   ((store_value){.type = STORE_BLOB, .data = (p), .size = (n)})

rsp_status store_bind_values(store_stmt *stmt, const store_value *params, size_t count);
/* Runs a statement to completion; *changes (may be NULL) receives the rows changed. */
rsp_status store_exec(store_conn *conn, const char *sql, const store_value *params, size_t count,
                      int64_t *changes, rsp_error *err);
/* First column of the first row, e.g. "UPDATE c SET v = v + 1 WHERE k = $1 RETURNING v".
 * RSP_ERR_NOT_FOUND when there is no row (then *value is untouched). */
rsp_status store_query_int64(store_conn *conn, const char *sql, const store_value *params,
                             size_t count, int64_t *value, rsp_error *err);
/* store_exec / store_query_int64 on a connection borrowed for that one statement (returned
 * before the call returns). */
rsp_status store_pool_exec(store *st, const char *sql, const store_value *params, size_t count,
                           int64_t *changes, rsp_error *err);
rsp_status store_pool_query_int64(store *st, const char *sql, const store_value *params,
                                  size_t count, int64_t *value, rsp_error *err);
/* Several ';'-separated statements without parameters (DDL, migrations). */
rsp_status store_exec_script(store_conn *conn, const char *sql, rsp_error *err);

/* Transactions. On SQLite BEGIN IMMEDIATE takes the write lock up front, so a transaction never
 * fails half-way for lack of it. On PostgreSQL an error aborts the transaction: roll back. */
rsp_status store_begin(store_conn *conn, rsp_error *err);
rsp_status store_commit(store_conn *conn, rsp_error *err);
/* Safe to call when no transaction is open. */
void store_rollback(store_conn *conn);
bool store_in_transaction(const store_conn *conn);

/* Borrows a connection and runs fn inside a transaction; commits when fn returns RSP_OK, rolls
 * back otherwise. When fn or the commit fails with STORE_FAILURE_CONFLICT, rolls back, waits
 * briefly and runs fn again, at most max_attempts times in all: fn must have no side effects
 * outside the database other than on ctx it re-initialises. */
typedef rsp_status (*store_transaction_fn)(store_conn *conn, void *ctx, rsp_error *err);
rsp_status store_transaction(store *st, store_transaction_fn fn, void *ctx, rsp_error *err);
/* Same on a connection already borrowed (which must not be in a transaction). */
rsp_status store_transaction_on(store_conn *conn, store_transaction_fn fn, void *ctx,
                                rsp_error *err);

/* Like store_transaction, but the commit may be lost by a power cut (never by a process
 * crash): for state a client recreates by retrying (e.g. a download session step). A later
 * durable commit on the same database makes every earlier relaxed commit durable too. */
rsp_status store_transaction_relaxed(store *st, store_transaction_fn fn, void *ctx, rsp_error *err);
rsp_status store_transaction_relaxed_on(store_conn *conn, store_transaction_fn fn, void *ctx,
                                        rsp_error *err);

/* Durability: every other commit (store_transaction, store_commit, a write statement run
 * outside a transaction) returns only once it survives a power cut. On SQLite, commits of
 * concurrent threads share one sync of the write-ahead log (group commit). When such a sync
 * fails, the commits waiting for it fail with RSP_ERR_IO, and so does every later durable
 * commit of this store: after a failed fsync the kernel may have dropped the unsynced pages,
 * so no later sync can vouch for them (reopen the store, which recovers from the file). */
typedef struct {
    uint64_t commits;         /* committed transactions, relaxed ones included */
    uint64_t durable_commits; /* of those, the ones that waited until durable */
    uint64_t wal_syncs;       /* SQLite: syncs of the log shared by the durable commits */
} store_statistics;

/* Counters since store_open, read without stopping the store. */
void store_stats(store *st, store_statistics *out);

/* Schema migrations: versions strictly increasing per component. sql applies to both
 * dialects unless the dialect's own variant is set. */
typedef struct {
    int64_t version;
    const char *description;
    const char *sql;
    const char *sql_sqlite;
    const char *sql_postgres;
} store_migration;

/* Applies the migrations of component not yet recorded in schema_migrations, each in its own
 * transaction together with its record. Several processes may call it at the same time: the
 * write lock (SQLite) or an advisory lock (PostgreSQL) lets exactly one apply each script.
 * Versions recorded but unknown to the caller (a newer build migrated) are left alone. */
rsp_status store_migrate(store *st, const char *component, const store_migration *migrations,
                         size_t count, rsp_error *err);
/* Highest applied version of component, 0 when none. */
rsp_status store_schema_version(store_conn *conn, const char *component, int64_t *version,
                                rsp_error *err);

#endif
