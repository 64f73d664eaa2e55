/* SQLite backend: one file in WAL mode (readers never block the writer), foreign keys enforced.
 * Connections run synchronous=NORMAL (a commit appends to the log without syncing it); a
 * durable commit then waits in store_committed() for a sync of the log shared with the
 * commits of other threads, which makes it survive power loss as synchronous=FULL would. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/backend.h"

/* Frames in the log after which a commit copies them back into the database (SQLite's own
 * default): a longer log makes reads slower, a shorter one checkpoints more often. */
#define STORE_CHECKPOINT_FRAMES 1000
/* How long that checkpoint waits for the transactions under way (it holds up new writers). */
#define STORE_CHECKPOINT_WAIT_MS 200
/* Page size of a database this store creates (an existing one keeps its own). A commit writes
 * every page it touched to the log, whole, and the servers' transactions touch a few rows and
 * index entries each: with 2 KiB pages a download costs the SM-DP+ 8% less CPU than with
 * SQLite's default 4 KiB (bench smdp, median of 8 alternating runs), the fleet migration 4%
 * less; 1 KiB pages gain nothing more, and bulk inserts (a million-order campaign) are 16%
 * slower already at 2 KiB. */
#define STORE_SQLITE_PAGE_SIZE "2048"

typedef struct {
    sqlite3 *db;
    unsigned busy_timeout_ms;
    unsigned wait_limit_ms;     /* busy_timeout_ms, shorter during a checkpoint */
    int restart_at_frames;      /* log length at which this connection checkpoints next */
    struct timespec busy_since; /* start of the current wait for a lock */
    /* Why the last commit could not be made durable, reported by the failing statement. */
    bool commit_failed;
    char commit_failure[sizeof((rsp_error *)0)->message];
    /* BEGIN IMMEDIATE, COMMIT and ROLLBACK, prepared once (see control_statement) */
    sqlite3_stmt *control[3];
} sqlite_conn;

static const char *const control_sql[3] = {"BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"};

static sqlite3 *conn_db(const store_conn *conn)
{
    return ((const sqlite_conn *)conn->handle)->db;
}

static sqlite3_stmt *stmt_handle(const store_stmt *stmt)
{
    return (sqlite3_stmt *)stmt->backend;
}

static store_failure classify(int extended_code)
{
    switch (extended_code) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return STORE_FAILURE_UNIQUE;
    default:
        break;
    }
    switch (extended_code & 0xFF) {
    case SQLITE_CONSTRAINT:
        return STORE_FAILURE_CONSTRAINT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return STORE_FAILURE_CONFLICT;
    case SQLITE_ERROR:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
    case SQLITE_MISUSE:
    case SQLITE_TOOBIG:
        return STORE_FAILURE_SQL;
    default:
        return STORE_FAILURE_IO;
    }
}

static rsp_status fail_from_db(store_conn *conn, rsp_error *err, const char *what)
{
    sqlite_conn *handle = conn->handle;
    if (handle->commit_failed) {
        /* The commit itself is done; what failed is making it durable. */
        handle->commit_failed = false;
        return store_fail(conn, STORE_FAILURE_IO, err, "sqlite: %s: %s", what,
                          handle->commit_failure);
    }
    sqlite3 *db = conn_db(conn);
    int code = sqlite3_extended_errcode(db);
    int system_errno = sqlite3_system_errno(db);
    if ((code & 0xFF) == SQLITE_IOERR || (code & 0xFF) == SQLITE_CANTOPEN)
        return store_fail(conn, classify(code), err, "sqlite: %s: %s (%d, %s)", what,
                          sqlite3_errmsg(db), code, strerror(system_errno));
    return store_fail(conn, classify(code), err, "sqlite: %s: %s (%d)", what, sqlite3_errmsg(db),
                      code);
}

static double elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) * 1e3 +
           (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

/* SQLite's own busy handler sleeps up to 100 ms between tries, which leaves the lock idle most
 * of the time when threads of one process take turns; short sleeps keep the writer busy. */
static int busy_wait(void *context, int count)
{
    sqlite_conn *handle = context;
    if (count == 0)
        clock_gettime(CLOCK_MONOTONIC, &handle->busy_since);
    else if (elapsed_ms(&handle->busy_since) >= handle->wait_limit_ms)
        return 0;
    long wait_us = count < 4 ? 50L << count : 1000L;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = wait_us * 1000L};
    nanosleep(&ts, NULL);
    return 1;
}

static rsp_status enable_wal(store_conn *conn, const char *target, rsp_error *err)
{
    sqlite_conn *handle = conn->handle;
    sqlite3_stmt *pragma = NULL;
    int rc = sqlite3_prepare_v2(handle->db, "PRAGMA journal_mode=WAL", -1, &pragma, NULL);
    /* Switching to WAL needs an exclusive lock and SQLite does not call the busy handler for
     * it, so processes opening a new database together wait here. */
    struct timespec since;
    clock_gettime(CLOCK_MONOTONIC, &since);
    for (int attempt = 0; rc == SQLITE_OK || rc == SQLITE_BUSY; attempt++) {
        rc = sqlite3_step(pragma);
        if (rc != SQLITE_BUSY || elapsed_ms(&since) >= handle->busy_timeout_ms)
            break;
        sqlite3_reset(pragma);
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (attempt < 10 ? 100L : 2000L) * 1000L};
        nanosleep(&ts, NULL);
    }
    bool wal = rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(pragma, 0), "wal") == 0;
    sqlite3_finalize(pragma);
    if (rc != SQLITE_ROW)
        return fail_from_db(conn, err, "journal_mode");
    if (!wal && strcmp(target, ":memory:") != 0)
        return store_fail(conn, STORE_FAILURE_IO, err, "sqlite: %s cannot use WAL mode", target);
    return RSP_OK;
}

/* Copies the log into the database and has the next writer start the log over. SQLite's own
 * automatic checkpoint (PASSIVE) never waits: with several connections committing, one of
 * them always holds a snapshot or appends frames, the log is never reset and grows without
 * bound (200 MB after 24,000 commits from 8 threads in bench store), and every commit then
 * appends to new file blocks, which the file system allocates and zero-fills (a third of the
 * CPU of a relaxed commit) and fdatasync must also record. RESTART waits briefly for the
 * writer and the readers under way instead; when the wait runs out, it has still done what
 * PASSIVE would have, and the next try waits for another STORE_CHECKPOINT_FRAMES frames (a
 * long reader must not hold up every commit). */
static void checkpoint(sqlite_conn *handle, const char *name, int frames)
{
    if (frames < handle->restart_at_frames - STORE_CHECKPOINT_FRAMES)
        handle->restart_at_frames = STORE_CHECKPOINT_FRAMES; /* the log started over */
    if (frames < handle->restart_at_frames)
        return;
    handle->wait_limit_ms = handle->busy_timeout_ms < STORE_CHECKPOINT_WAIT_MS
                                ? handle->busy_timeout_ms
                                : STORE_CHECKPOINT_WAIT_MS;
    int rc = sqlite3_wal_checkpoint_v2(handle->db, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
    handle->wait_limit_ms = handle->busy_timeout_ms;
    handle->restart_at_frames =
        rc == SQLITE_OK ? STORE_CHECKPOINT_FRAMES : frames + STORE_CHECKPOINT_FRAMES;
}

/* Called by SQLite after each commit of this connection, once the write lock is released (so
 * other threads commit while this one waits for the sync). Registering it replaces SQLite's
 * automatic checkpoints, which are therefore run here. An error makes the statement that
 * committed fail, although its changes stay committed. */
static int committed(void *context, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    store_conn *conn = context;
    sqlite_conn *handle = conn->handle;
    rsp_error err = {0};
    rsp_status status = store_committed(conn, &err);
    checkpoint(handle, name, frames);
    if (status == RSP_OK)
        return SQLITE_OK;
    handle->commit_failed = true;
    snprintf(handle->commit_failure, sizeof handle->commit_failure, "%s", err.message);
    return SQLITE_IOERR_FSYNC;
}

/* SQLite's own handle of the log: the file may have been re-created since the connection
 * opened, and syncing through another descriptor would be a second source of truth. */
static rsp_status sqlite_sync_log(store_conn *conn, rsp_error *err)
{
    sqlite3_file *log = NULL;
    int rc = sqlite3_file_control(conn_db(conn), "main", SQLITE_FCNTL_JOURNAL_POINTER, &log);
    if (rc == SQLITE_OK && (log == NULL || log->pMethods == NULL)) {
        /* A connection whose transactions all ran on the writing handle (store.c) may not
         * have opened the log yet: any read opens it. */
        sqlite3_exec(conn_db(conn), "PRAGMA schema_version", NULL, NULL, NULL);
        rc = sqlite3_file_control(conn_db(conn), "main", SQLITE_FCNTL_JOURNAL_POINTER, &log);
    }
    if (rc != SQLITE_OK || log == NULL || log->pMethods == NULL)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "sqlite: no write-ahead log to sync (%d)", rc);
    errno = 0;
    rc = log->pMethods->xSync(log, SQLITE_SYNC_NORMAL);
    if (rc != SQLITE_OK)
        return rsp_error_set(err, RSP_ERR_IO, 0, 0, "sqlite: sync of the write-ahead log (%d, %s)",
                             rc, strerror(errno));
    return RSP_OK;
}

static rsp_status sqlite_connect(store_conn *conn, const char *target, const store_options *options,
                                 rsp_error *err)
{
    sqlite_conn *handle = calloc(1, sizeof *handle);
    if (handle == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "sqlite: out of memory");
    handle->busy_timeout_ms = options->busy_timeout_ms;
    handle->wait_limit_ms = options->busy_timeout_ms;
    handle->restart_at_frames = STORE_CHECKPOINT_FRAMES;
    conn->handle = handle;
    /* Each connection is used by one thread at a time, so SQLite's own mutexes are dead
     * weight. */
    int rc =
        sqlite3_open_v2(target, &handle->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    rsp_status status = RSP_OK;
    if (rc != SQLITE_OK) {
        status = store_fail(conn, STORE_FAILURE_IO, err, "sqlite: cannot open %s: %s", target,
                            handle->db != NULL ? sqlite3_errmsg(handle->db) : "out of memory");
    } else {
        sqlite3_extended_result_codes(handle->db, 1);
        sqlite3_busy_handler(handle->db, busy_wait, handle);
        /* before the switch to WAL, which writes the first page of a new database */
        sqlite3_exec(handle->db, "PRAGMA page_size=" STORE_SQLITE_PAGE_SIZE, NULL, NULL, NULL);
        status = enable_wal(conn, target, err);
    }
    if (status == RSP_OK &&
        sqlite3_exec(handle->db, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", NULL, NULL,
                     NULL) != SQLITE_OK)
        status = fail_from_db(conn, err, "pragmas");
    if (status == RSP_OK)
        sqlite3_wal_hook(handle->db, committed, conn);
    if (status != RSP_OK) {
        sqlite3_close_v2(handle->db);
        free(handle);
        conn->handle = NULL;
    }
    return status;
}

static void sqlite_disconnect(store_conn *conn)
{
    sqlite_conn *handle = conn->handle;
    if (handle == NULL)
        return;
    for (size_t i = 0; i < sizeof handle->control / sizeof handle->control[0]; i++)
        sqlite3_finalize(handle->control[i]);
    sqlite3_close_v2(handle->db);
    free(handle);
    conn->handle = NULL;
}

static void sqlite_adopt(store_conn *conn)
{
    sqlite3_wal_hook(conn_db(conn), committed, conn);
}

static bool sqlite_healthy(store_conn *conn)
{
    (void)conn;
    return true;
}

static rsp_status sqlite_reconnect(store_conn *conn, rsp_error *err)
{
    (void)err;
    (void)conn;
    return RSP_OK;
}

/* $n becomes ?n: SQLite would take "$1" as a parameter NAMED "$1" and number parameters by
 * first appearance, so "$2 ... $1" would swap. Literals, quoted names and comments are kept. */
static void translate_parameters(char *sql)
{
    char quote = 0;
    for (char *p = sql; *p != '\0'; p++) {
        if (quote != 0) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '\'' || *p == '"' || *p == '`') {
            quote = *p;
        } else if (*p == '[') {
            quote = ']';
        } else if (p[0] == '-' && p[1] == '-') {
            while (p[1] != '\0' && p[1] != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            p += 2;
            while (*p != '\0' && !(p[0] == '*' && p[1] == '/'))
                p++;
            if (*p == '\0')
                break;
            p++;
        } else if (p[0] == '$' && p[1] >= '0' && p[1] <= '9') {
            *p = '?';
        }
    }
}

static bool only_blank(const char *text)
{
    for (; *text != '\0'; text++)
        if (*text != ' ' && *text != '\t' && *text != '\n' && *text != '\r' && *text != ';')
            return false;
    return true;
}

static rsp_status sqlite_prepare(store_stmt *stmt, rsp_error *err)
{
    char *sql = strdup(stmt->sql);
    if (sql == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "sqlite: out of memory");
    translate_parameters(sql);
    sqlite3_stmt *handle = NULL;
    const char *tail = NULL;
    int rc =
        sqlite3_prepare_v3(conn_db(stmt->conn), sql, -1, SQLITE_PREPARE_PERSISTENT, &handle, &tail);
    rsp_status status = RSP_OK;
    if (rc != SQLITE_OK)
        status = fail_from_db(stmt->conn, err, "prepare");
    else if (handle == NULL || !only_blank(tail))
        status = store_fail(stmt->conn, STORE_FAILURE_SQL, err,
                            "sqlite: not exactly one statement: %.60s", stmt->sql);
    free(sql);
    if (status != RSP_OK) {
        sqlite3_finalize(handle);
        return status;
    }
    stmt->backend = handle;
    return RSP_OK;
}

static void sqlite_finalize(store_stmt *stmt)
{
    sqlite3_finalize(stmt_handle(stmt));
    stmt->backend = NULL;
}

static rsp_status sqlite_bind(store_stmt *stmt, int index, const store_value *value)
{
    sqlite3_stmt *handle = stmt_handle(stmt);
    int rc;
    /* SQLITE_STATIC: the caller keeps the buffer alive until the statement has run. */
    switch (value->type) {
    case STORE_INT64:
        rc = sqlite3_bind_int64(handle, index, value->integer);
        break;
    case STORE_TEXT:
        rc = sqlite3_bind_text64(handle, index, value->data,
                                 value->size == STORE_NUL_TERMINATED
                                     ? (sqlite3_uint64)strlen(value->data)
                                     : (sqlite3_uint64)value->size,
                                 SQLITE_STATIC, SQLITE_UTF8);
        break;
    case STORE_BLOB:
        rc = sqlite3_bind_blob64(handle, index, value->data, value->size, SQLITE_STATIC);
        break;
    default:
        rc = sqlite3_bind_null(handle, index);
        break;
    }
    return rc == SQLITE_OK ? RSP_OK : RSP_ERR_INVALID_ARGUMENT;
}

static rsp_status sqlite_step(store_stmt *stmt, bool *has_row, rsp_error *err)
{
    sqlite3_stmt *handle = stmt_handle(stmt);
    int rc = sqlite3_step(handle);
    if (rc == SQLITE_ROW) {
        *has_row = true;
        return RSP_OK;
    }
    if (rc == SQLITE_DONE) {
        *has_row = false;
        stmt->changes = sqlite3_stmt_readonly(handle) ? 0 : sqlite3_changes64(conn_db(stmt->conn));
        return RSP_OK;
    }
    return fail_from_db(stmt->conn, err, "step");
}

static void sqlite_reset(store_stmt *stmt)
{
    sqlite3_stmt *handle = stmt_handle(stmt);
    sqlite3 *db = conn_db(stmt->conn);
    /* A write statement (with RETURNING) left before its end outside a transaction commits
     * here, and SQLite calls the commit hook only from a step. */
    bool commits_now = stmt->executed && !stmt->done && !sqlite3_stmt_readonly(handle) &&
                       sqlite3_get_autocommit(db);
    int rc = sqlite3_reset(handle);
    sqlite3_clear_bindings(handle);
    if (commits_now && rc == SQLITE_OK) {
        /* Nothing to report the error to: it stays sticky in the store (see store.h). */
        rsp_error ignored = {0};
        store_committed(stmt->conn, &ignored);
    }
}

static int sqlite_column_count(const store_stmt *stmt)
{
    return sqlite3_column_count(stmt_handle(stmt));
}

static store_type sqlite_column_type(store_stmt *stmt, int column)
{
    switch (sqlite3_column_type(stmt_handle(stmt), column)) {
    case SQLITE_INTEGER:
    case SQLITE_FLOAT:
        return STORE_INT64;
    case SQLITE_TEXT:
        return STORE_TEXT;
    case SQLITE_BLOB:
        return STORE_BLOB;
    default:
        return STORE_NULL;
    }
}

static int64_t sqlite_column_int64(store_stmt *stmt, int column)
{
    return sqlite3_column_int64(stmt_handle(stmt), column);
}

static const char *sqlite_column_text(store_stmt *stmt, int column)
{
    return (const char *)sqlite3_column_text(stmt_handle(stmt), column);
}

static const uint8_t *sqlite_column_blob(store_stmt *stmt, int column, size_t *size)
{
    static const uint8_t empty[1] = {0};
    sqlite3_stmt *handle = stmt_handle(stmt);
    const uint8_t *data = sqlite3_column_blob(handle, column);
    *size = (size_t)sqlite3_column_bytes(handle, column);
    /* SQLite hands out NULL for an empty blob too; keep empty and NULL apart. */
    if (data == NULL && sqlite3_column_type(handle, column) != SQLITE_NULL)
        data = empty;
    return data;
}

/* The statement kept for sql when it is one of the transaction controls, which every
 * transaction runs twice: sqlite3_exec would parse it again each time. NULL otherwise. */
static sqlite3_stmt *control_statement(sqlite_conn *handle, const char *sql)
{
    for (size_t i = 0; i < sizeof control_sql / sizeof control_sql[0]; i++) {
        if (strcmp(sql, control_sql[i]) != 0)
            continue;
        if (handle->control[i] == NULL &&
            sqlite3_prepare_v2(handle->db, sql, -1, &handle->control[i], NULL) != SQLITE_OK)
            return NULL;
        return handle->control[i];
    }
    return NULL;
}

static rsp_status sqlite_exec_script(store_conn *conn, const char *sql, rsp_error *err)
{
    sqlite3_stmt *control = control_statement(conn->handle, sql);
    int rc = control != NULL ? sqlite3_step(control)
                             : sqlite3_exec(conn_db(conn), sql, NULL, NULL, NULL);
    rsp_status status = RSP_OK;
    if (rc != SQLITE_OK && rc != SQLITE_DONE)
        status = fail_from_db(conn, err, "exec");
    if (control != NULL)
        sqlite3_reset(control);
    return status;
}

static bool sqlite_statement_readonly(store_stmt *stmt)
{
    return sqlite3_stmt_readonly(stmt_handle(stmt)) != 0;
}

static bool sqlite_transaction_open(store_conn *conn)
{
    return sqlite3_get_autocommit(conn_db(conn)) == 0;
}

const store_backend store_backend_sqlite = {
    .dialect = STORE_DIALECT_SQLITE,
    .connect = sqlite_connect,
    .disconnect = sqlite_disconnect,
    .healthy = sqlite_healthy,
    .reconnect = sqlite_reconnect,
    .prepare = sqlite_prepare,
    .finalize = sqlite_finalize,
    .bind = sqlite_bind,
    .step = sqlite_step,
    .reset = sqlite_reset,
    .column_count = sqlite_column_count,
    .column_type = sqlite_column_type,
    .column_int64 = sqlite_column_int64,
    .column_text = sqlite_column_text,
    .column_blob = sqlite_column_blob,
    .exec_script = sqlite_exec_script,
    /* Takes the write lock at BEGIN: a deferred transaction that reads and then writes can
     * fail with SQLITE_BUSY_SNAPSHOT half-way, which the busy handler cannot wait out. */
    .begin_sql = "BEGIN IMMEDIATE",
    .serialize_writers = true,
    .adopt = sqlite_adopt,
    .statement_readonly = sqlite_statement_readonly,
    /* Whether to wait for the sync is decided after the commit (store_committed). */
    .relaxed_begin_sql = NULL,
    .sync_log = sqlite_sync_log,
    .transaction_open = sqlite_transaction_open,
};
