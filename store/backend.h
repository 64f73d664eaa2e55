/* Internal to store/: what store.c (pool, cache, transactions, migrations) expects from a
 * database backend (sqlite.c, postgres.c). Not for use outside store/. */
#ifndef RSPKIT_STORE_BACKEND_H
#define RSPKIT_STORE_BACKEND_H

#include <pthread.h>

#include "store/store.h"

struct store_stmt {
    store_conn *conn;
    char *sql; /* as given, with $n parameters: the cache key */
    uint64_t sql_hash;
    bool in_use;
    bool executed;
    bool done; /* ran to completion: changes is final */
    int64_t changes;
    rsp_status bind_status; /* first bind error, reported by the next step */
    char bind_message[80];
    void *backend; /* sqlite3_stmt or the PostgreSQL statement state */
    store_stmt *next;
};

struct store_conn {
    store *owner;
    void *handle; /* sqlite3 or PGconn */
    store_stmt *cache;
    unsigned prepared_count; /* names PostgreSQL statements */
    store_failure failure;
    bool in_transaction;
    bool borrowed;
    bool relaxed;        /* the commit under way may skip the durability wait */
    bool relaxed_always; /* store_options.relaxed_durability */
    bool holds_writer;   /* inside the owner's writer_lock (serialize_writers) */
    bool holds_spare;    /* handle and cache are the owner's writer_spare (see writer_enter) */
    bool reader;         /* borrowed with store_borrow_reader: reads only */
    /* a durable commit numbered while holding the writer lock: store_commit waits for it */
    uint64_t unsynced_commit;
};

typedef struct {
    store_dialect_kind dialect;
    rsp_status (*connect)(store_conn *conn, const char *target, const store_options *options,
                          rsp_error *err);
    void (*disconnect)(store_conn *conn);
    bool (*healthy)(store_conn *conn);
    /* Re-opens a connection the server dropped (its statement cache is already gone). */
    rsp_status (*reconnect)(store_conn *conn, rsp_error *err);
    rsp_status (*prepare)(store_stmt *stmt, rsp_error *err);
    void (*finalize)(store_stmt *stmt);
    rsp_status (*bind)(store_stmt *stmt, int index, const store_value *value);
    rsp_status (*step)(store_stmt *stmt, bool *has_row, rsp_error *err);
    void (*reset)(store_stmt *stmt);
    int (*column_count)(const store_stmt *stmt);
    store_type (*column_type)(store_stmt *stmt, int column);
    int64_t (*column_int64)(store_stmt *stmt, int column);
    const char *(*column_text)(store_stmt *stmt, int column);
    const uint8_t *(*column_blob)(store_stmt *stmt, int column, size_t *size);
    rsp_status (*exec_script)(store_conn *conn, const char *sql, rsp_error *err);
    const char *begin_sql;
    /* begin_sql takes the database's single write lock, which the backend makes waiters poll
     * for: store.c then queues this process's writers on a mutex instead (see writer_enter). */
    bool serialize_writers;
    /* Starts a transaction whose commit may skip the durability wait (when the backend can
     * say so per transaction). */
    const char *relaxed_begin_sql;
    /* Makes every commit that returned on any connection of this process durable; NULL when
     * the server already did so before answering the commit. */
    rsp_status (*sync_log)(store_conn *conn, rsp_error *err);
    /* true when the connection is still inside a transaction (after an error, say) */
    bool (*transaction_open)(store_conn *conn);
    /* conn now holds a handle another store_conn opened (serialize_writers): callbacks the
     * handle makes must name conn. */
    void (*adopt)(store_conn *conn);
    /* true when the prepared statement writes nothing (store_borrow_reader's guard) */
    bool (*statement_readonly)(store_stmt *stmt);
} store_backend;

extern const store_backend store_backend_sqlite;
extern const store_backend store_backend_postgres;

/* Records kind on conn and the error (message prefixed by the backend name). */
rsp_status store_fail(store_conn *conn, store_failure kind, rsp_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
rsp_status store_failure_status(store_failure kind);
/* A backend calls this once after each commit on conn (explicit or of a write statement run
 * outside a transaction): counts it and, unless conn->relaxed, returns once it is durable
 * (RSP_ERR_IO when the sync failed). */
rsp_status store_committed(store_conn *conn, rsp_error *err);

#endif
