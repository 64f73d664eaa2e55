/* Backend-independent half of the store: URL dispatch, the connection pool, the per-connection
 * statement cache, transactions with re-runs on conflict, and schema migrations. */
#include "store/store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/backend.h"

/* Dynamic SQL must not grow a connection's cache without bound; the servers' fixed statements
 * stay far below this. */
#define STORE_CACHE_LIMIT       128
#define STORE_DEFAULT_POOL      4
#define STORE_DEFAULT_BORROW_MS 10000
#define STORE_DEFAULT_BUSY_MS   5000
#define STORE_DEFAULT_ATTEMPTS  20

struct store {
    const store_backend *backend;
    char *target; /* file path or libpq conninfo */
    store_options options;
    pthread_mutex_t lock;
    pthread_cond_t available;
    store_conn *conns;
    size_t conn_count;
    size_t *free_slots; /* stack of indexes into conns */
    size_t free_count;
    /* Writers of a serialize_writers backend queue here and write through writer_spare's
     * handle (see writer_enter). */
    pthread_mutex_t writer_lock;
    store_conn writer_spare;
    /* Group commit (see store_committed). */
    pthread_mutex_t sync_lock;
    pthread_cond_t synced;
    uint64_t commit_sequence; /* durable commits numbered so far */
    uint64_t synced_sequence; /* every commit numbered up to here is durable */
    bool syncing;             /* a leader is syncing the log right now */
    bool sync_failed;         /* sticky: see store.h */
    char sync_failure[sizeof((rsp_error *)0)->message];
    atomic_uint_fast64_t commits;
    atomic_uint_fast64_t durable_commits;
    atomic_uint_fast64_t wal_syncs;
};

rsp_status store_failure_status(store_failure kind)
{
    switch (kind) {
    case STORE_FAILURE_NONE:
        return RSP_OK;
    case STORE_FAILURE_UNIQUE:
    case STORE_FAILURE_CONFLICT:
        return RSP_ERR_STATE;
    case STORE_FAILURE_CONSTRAINT:
        return RSP_ERR_BAD_VALUE;
    case STORE_FAILURE_SQL:
        return RSP_ERR_INVALID_ARGUMENT;
    case STORE_FAILURE_IO:
        break;
    }
    return RSP_ERR_IO;
}

rsp_status store_fail(store_conn *conn, store_failure kind, rsp_error *err, const char *fmt, ...)
{
    if (conn != NULL)
        conn->failure = kind;
    char message[sizeof err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return rsp_error_set(err, store_failure_status(kind), 0, 0, "%s", message);
}

static bool has_prefix(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* A libpq key/value conninfo starts with "keyword=". */
static bool looks_like_conninfo(const char *url)
{
    size_t i = 0;
    while (url[i] == ' ')
        i++;
    size_t start = i;
    while ((url[i] >= 'a' && url[i] <= 'z') || url[i] == '_')
        i++;
    while (url[i] == ' ')
        i++;
    return i > start && url[i] == '=';
}

static rsp_status parse_url(const char *url, const store_backend **backend, const char **target,
                            rsp_error *err)
{
    if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://") ||
        looks_like_conninfo(url)) {
        *backend = &store_backend_postgres;
        *target = url;
    } else {
        *backend = &store_backend_sqlite;
        *target = url;
        if (has_prefix(url, "sqlite:")) {
            *target = url + strlen("sqlite:");
            if (has_prefix(*target, "//"))
                *target += 2;
        }
    }
    if (**target == '\0')
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "store: empty database URL");
    return RSP_OK;
}

static rsp_status wait_durable(store_conn *conn, uint64_t mine, rsp_error *err);

static void conn_drop_cache(store_conn *conn)
{
    store_stmt *stmt = conn->cache;
    while (stmt != NULL) {
        store_stmt *next = stmt->next;
        conn->owner->backend->finalize(stmt);
        free(stmt->sql);
        free(stmt);
        stmt = next;
    }
    conn->cache = NULL;
}

static void store_free(store *st)
{
    for (size_t i = 0; i < st->conn_count; i++) {
        store_conn *conn = &st->conns[i];
        if (conn->handle == NULL)
            continue;
        /* Disconnect first: the statements then go without a server round trip each (SQLite
         * closes the file once the last one is finalised). */
        st->backend->disconnect(conn);
        conn_drop_cache(conn);
    }
    if (st->writer_spare.handle != NULL) {
        st->backend->disconnect(&st->writer_spare);
        conn_drop_cache(&st->writer_spare);
    }
    pthread_cond_destroy(&st->synced);
    pthread_mutex_destroy(&st->writer_lock);
    pthread_mutex_destroy(&st->sync_lock);
    pthread_cond_destroy(&st->available);
    pthread_mutex_destroy(&st->lock);
    free(st->conns);
    free(st->free_slots);
    free(st->target);
    free(st);
}

static rsp_status init_sync(store *st, rsp_error *err)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "store: condattr");
    /* Borrow deadlines must not jump with the wall clock. */
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&st->available, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "store: cond");
    if (pthread_mutex_init(&st->lock, NULL) != 0) {
        pthread_cond_destroy(&st->available);
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "store: mutex");
    }
    if (pthread_mutex_init(&st->sync_lock, NULL) != 0) {
        pthread_mutex_destroy(&st->lock);
        pthread_cond_destroy(&st->available);
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "store: mutex");
    }
    if (pthread_cond_init(&st->synced, NULL) != 0) {
        pthread_mutex_destroy(&st->sync_lock);
        pthread_mutex_destroy(&st->lock);
        pthread_cond_destroy(&st->available);
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "store: cond");
    }
    if (pthread_mutex_init(&st->writer_lock, NULL) != 0) {
        pthread_cond_destroy(&st->synced);
        pthread_mutex_destroy(&st->sync_lock);
        pthread_mutex_destroy(&st->lock);
        pthread_cond_destroy(&st->available);
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "store: mutex");
    }
    return RSP_OK;
}

rsp_status store_open(const char *url, const store_options *options, store **out, rsp_error *err)
{
    if (url == NULL || out == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "store_open: NULL argument");
    *out = NULL;
    const store_backend *backend;
    const char *target;
    rsp_status status = parse_url(url, &backend, &target, err);
    if (status != RSP_OK)
        return status;

    store *st = calloc(1, sizeof *st);
    if (st == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "store_open: out of memory");
    st->backend = backend;
    st->options =
        options != NULL ? *options : (store_options){.borrow_timeout_ms = STORE_DEFAULT_BORROW_MS};
    if (st->options.pool_size == 0)
        st->options.pool_size = STORE_DEFAULT_POOL;
    if (st->options.busy_timeout_ms == 0)
        st->options.busy_timeout_ms = STORE_DEFAULT_BUSY_MS;
    if (st->options.max_attempts == 0)
        st->options.max_attempts = STORE_DEFAULT_ATTEMPTS;
    status = init_sync(st, err);
    if (status != RSP_OK) {
        free(st);
        return status;
    }
    st->target = strdup(target);
    st->conns = calloc(st->options.pool_size, sizeof *st->conns);
    st->free_slots = calloc(st->options.pool_size, sizeof *st->free_slots);
    if (st->target == NULL || st->conns == NULL || st->free_slots == NULL) {
        store_free(st);
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "store_open: out of memory");
    }
    /* Opening every connection now reports a bad URL at start-up, not at the first request. */
    for (size_t i = 0; i < st->options.pool_size; i++) {
        store_conn *conn = &st->conns[i];
        conn->owner = st;
        conn->relaxed_always = st->options.relaxed_durability;
        conn->relaxed = conn->relaxed_always;
        status = backend->connect(conn, st->target, &st->options, err);
        if (status != RSP_OK) {
            store_free(st);
            return status;
        }
        st->conn_count++;
        st->free_slots[st->free_count++] = i;
    }
    if (backend->serialize_writers) {
        st->writer_spare.owner = st;
        status = backend->connect(&st->writer_spare, st->target, &st->options, err);
        if (status != RSP_OK) {
            store_free(st);
            return status;
        }
    }
    *out = st;
    return RSP_OK;
}

void store_close(store *st)
{
    if (st != NULL)
        store_free(st);
}

store_dialect_kind store_dialect(const store *st)
{
    return st->backend->dialect;
}

const char *store_sql_skip_locked(const store *st)
{
    return st->backend->dialect == STORE_DIALECT_POSTGRES ? " FOR UPDATE SKIP LOCKED" : "";
}

unsigned store_pool_size(const store *st)
{
    return (unsigned)st->conn_count;
}

store_dialect_kind store_conn_dialect(const store_conn *conn)
{
    return conn->owner->backend->dialect;
}

store_failure store_last_failure(const store_conn *conn)
{
    return conn->failure;
}

static struct timespec deadline_after_ms(unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

rsp_status store_borrow(store *st, store_conn **out, rsp_error *err)
{
    if (st == NULL || out == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "store_borrow: NULL argument");
    struct timespec deadline = deadline_after_ms(st->options.borrow_timeout_ms);
    pthread_mutex_lock(&st->lock);
    int rc = 0;
    while (st->free_count == 0 && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&st->available, &st->lock, &deadline);
    store_conn *conn = NULL;
    if (st->free_count > 0)
        conn = &st->conns[st->free_slots[--st->free_count]];
    pthread_mutex_unlock(&st->lock);
    if (conn == NULL)
        return rsp_error_set(err, RSP_ERR_STATE, 0, 0,
                             "store: connection pool exhausted (%zu in use for %u ms)",
                             st->conn_count, st->options.borrow_timeout_ms);
    conn->borrowed = true;
    conn->failure = STORE_FAILURE_NONE;
    rsp_status status = RSP_OK;
    if (!st->backend->healthy(conn)) {
        /* The server forgot the prepared statements along with the session. */
        conn_drop_cache(conn);
        status = st->backend->reconnect(conn, err);
    }
    if (status != RSP_OK) {
        store_return(conn);
        return status;
    }
    *out = conn;
    return RSP_OK;
}

void store_return(store_conn *conn)
{
    if (conn == NULL || !conn->borrowed)
        return;
    store *st = conn->owner;
    for (store_stmt *stmt = conn->cache; stmt != NULL; stmt = stmt->next)
        if (stmt->in_use)
            store_finish(stmt);
    store_rollback(conn);
    conn->borrowed = false;
    conn->reader = false;
    pthread_mutex_lock(&st->lock);
    st->free_slots[st->free_count++] = (size_t)(conn - st->conns);
    pthread_cond_signal(&st->available);
    pthread_mutex_unlock(&st->lock);
}

/* FNV-1a: the cache compares hashes before whole SQL texts. */
static uint64_t sql_hash(const char *sql)
{
    uint64_t hash = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)sql; *p != '\0'; p++)
        hash = (hash ^ *p) * 1099511628211ULL;
    return hash;
}

static void free_stmt(store_stmt *stmt)
{
    stmt->conn->owner->backend->finalize(stmt);
    free(stmt->sql);
    free(stmt);
}

/* Drops the least recently used idle statement once the cache is over its limit. */
static void trim_cache(store_conn *conn)
{
    size_t count = 0;
    store_stmt **victim = NULL;
    for (store_stmt **link = &conn->cache; *link != NULL; link = &(*link)->next) {
        count++;
        if (!(*link)->in_use)
            victim = link;
    }
    if (count > STORE_CACHE_LIMIT && victim != NULL) {
        store_stmt *stmt = *victim;
        *victim = stmt->next;
        free_stmt(stmt);
    }
}

static store_stmt *cache_lookup(store_conn *conn, const char *sql, uint64_t hash)
{
    for (store_stmt **link = &conn->cache; *link != NULL; link = &(*link)->next) {
        store_stmt *stmt = *link;
        if (stmt->in_use || stmt->sql_hash != hash || strcmp(stmt->sql, sql) != 0)
            continue;
        /* Most recently used first, so trimming drops the coldest. */
        *link = stmt->next;
        stmt->next = conn->cache;
        conn->cache = stmt;
        return stmt;
    }
    return NULL;
}

rsp_status store_prepare(store_conn *conn, const char *sql, store_stmt **out, rsp_error *err)
{
    if (conn == NULL || sql == NULL || out == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "store_prepare: NULL argument");
    conn->failure = STORE_FAILURE_NONE;
    uint64_t hash = sql_hash(sql);
    store_stmt *stmt = cache_lookup(conn, sql, hash);
    if (stmt == NULL) {
        stmt = calloc(1, sizeof *stmt);
        if (stmt == NULL || (stmt->sql = strdup(sql)) == NULL) {
            free(stmt);
            return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "store_prepare: out of memory");
        }
        stmt->conn = conn;
        stmt->sql_hash = hash;
        rsp_status status = conn->owner->backend->prepare(stmt, err);
        if (status != RSP_OK) {
            free(stmt->sql);
            free(stmt);
            return status;
        }
        stmt->next = conn->cache;
        conn->cache = stmt;
        trim_cache(conn);
    }
    stmt->in_use = true;
    stmt->executed = false;
    stmt->done = false;
    stmt->changes = 0;
    stmt->bind_status = RSP_OK;
    stmt->bind_message[0] = '\0';
    *out = stmt;
    return RSP_OK;
}

static rsp_status bind_value(store_stmt *stmt, int index, const store_value *value)
{
    if (stmt == NULL)
        return RSP_ERR_INVALID_ARGUMENT;
    if (stmt->executed) {
        if (stmt->bind_status == RSP_OK) {
            stmt->bind_status = RSP_ERR_STATE;
            snprintf(stmt->bind_message, sizeof stmt->bind_message,
                     "bind of $%d after the statement ran", index);
        }
        return RSP_ERR_STATE;
    }
    rsp_status status = stmt->conn->owner->backend->bind(stmt, index, value);
    if (status != RSP_OK && stmt->bind_status == RSP_OK) {
        stmt->bind_status = status;
        snprintf(stmt->bind_message, sizeof stmt->bind_message, "cannot bind $%d", index);
    }
    return status;
}

/* A NULL text is SQL NULL; a NULL blob pointer with any size is an empty blob, which is
 * still a value and not NULL. */
static rsp_status store_bind_values_at(store_stmt *stmt, int index, const store_value *value)
{
    static const uint8_t empty[1] = {0};
    store_value v = *value;
    if (v.type == STORE_TEXT && v.data == NULL)
        v.type = STORE_NULL;
    if (v.type == STORE_BLOB && v.data == NULL) {
        v.data = empty;
        v.size = 0;
    }
    return bind_value(stmt, index, &v);
}

rsp_status store_bind_int64(store_stmt *stmt, int index, int64_t value)
{
    store_value v = STORE_VALUE_INT64(value);
    return bind_value(stmt, index, &v);
}

rsp_status store_bind_text(store_stmt *stmt, int index, const char *value)
{
    store_value v = STORE_VALUE_TEXT(value);
    return store_bind_values_at(stmt, index, &v);
}

rsp_status store_bind_text_n(store_stmt *stmt, int index, const char *value, size_t size)
{
    store_value v = STORE_VALUE_TEXT_N(value, size);
    return store_bind_values_at(stmt, index, &v);
}

rsp_status store_bind_blob(store_stmt *stmt, int index, const void *data, size_t size)
{
    store_value v = STORE_VALUE_BLOB(data, size);
    return store_bind_values_at(stmt, index, &v);
}

rsp_status store_bind_null(store_stmt *stmt, int index)
{
    store_value v = STORE_VALUE_NULL();
    return bind_value(stmt, index, &v);
}

rsp_status store_bind_values(store_stmt *stmt, const store_value *params, size_t count)
{
    rsp_status first = RSP_OK;
    for (size_t i = 0; i < count; i++) {
        rsp_status status = store_bind_values_at(stmt, (int)i + 1, &params[i]);
        if (first == RSP_OK)
            first = status;
    }
    return first;
}

rsp_status store_step(store_stmt *stmt, bool *has_row, rsp_error *err)
{
    if (stmt == NULL || has_row == NULL || !stmt->in_use)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "store_step: no statement");
    *has_row = false;
    store_conn *conn = stmt->conn;
    conn->failure = STORE_FAILURE_NONE;
    if (stmt->bind_status != RSP_OK)
        return store_fail(conn, STORE_FAILURE_SQL, err, "store: %s in: %.60s", stmt->bind_message,
                          stmt->sql);
    if (stmt->done)
        return RSP_OK;
    if (conn->reader && !stmt->executed && !conn->owner->backend->statement_readonly(stmt))
        return store_fail(conn, STORE_FAILURE_SQL, err,
                          "store: a write on a reader connection: %.60s", stmt->sql);
    rsp_status status = conn->owner->backend->step(stmt, has_row, err);
    stmt->executed = true;
    if (status == RSP_OK && !*has_row)
        stmt->done = true;
    return status;
}

int store_column_count(const store_stmt *stmt)
{
    return stmt->conn->owner->backend->column_count(stmt);
}

static bool column_valid(const store_stmt *stmt, int column)
{
    return stmt != NULL && stmt->executed && !stmt->done && column >= 0 &&
           column < store_column_count(stmt);
}

store_type store_column_type(store_stmt *stmt, int column)
{
    if (!column_valid(stmt, column))
        return STORE_NULL;
    return stmt->conn->owner->backend->column_type(stmt, column);
}

bool store_column_is_null(store_stmt *stmt, int column)
{
    return store_column_type(stmt, column) == STORE_NULL;
}

int64_t store_column_int64(store_stmt *stmt, int column)
{
    if (!column_valid(stmt, column))
        return 0;
    return stmt->conn->owner->backend->column_int64(stmt, column);
}

const char *store_column_text(store_stmt *stmt, int column)
{
    if (!column_valid(stmt, column))
        return NULL;
    return stmt->conn->owner->backend->column_text(stmt, column);
}

const uint8_t *store_column_blob(store_stmt *stmt, int column, size_t *size)
{
    *size = 0;
    if (!column_valid(stmt, column))
        return NULL;
    return stmt->conn->owner->backend->column_blob(stmt, column, size);
}

int64_t store_changes(const store_stmt *stmt)
{
    return stmt->changes;
}

void store_finish(store_stmt *stmt)
{
    if (stmt == NULL || !stmt->in_use)
        return;
    stmt->conn->owner->backend->reset(stmt);
    stmt->in_use = false;
}

static rsp_status run_to_end(store_stmt *stmt, rsp_error *err)
{
    bool has_row = true;
    rsp_status status = RSP_OK;
    while (status == RSP_OK && has_row)
        status = store_step(stmt, &has_row, err);
    return status;
}

rsp_status store_exec(store_conn *conn, const char *sql, const store_value *params, size_t count,
                      int64_t *changes, rsp_error *err)
{
    store_stmt *stmt;
    rsp_status status = store_prepare(conn, sql, &stmt, err);
    if (status != RSP_OK)
        return status;
    store_bind_values(stmt, params, count);
    status = run_to_end(stmt, err);
    if (status == RSP_OK && changes != NULL)
        *changes = stmt->changes;
    store_finish(stmt);
    return status;
}

rsp_status store_query_int64(store_conn *conn, const char *sql, const store_value *params,
                             size_t count, int64_t *value, rsp_error *err)
{
    store_stmt *stmt;
    rsp_status status = store_prepare(conn, sql, &stmt, err);
    if (status != RSP_OK)
        return status;
    store_bind_values(stmt, params, count);
    bool has_row = false;
    status = store_step(stmt, &has_row, err);
    if (status == RSP_OK && has_row) {
        int64_t first = store_column_int64(stmt, 0);
        /* Drain, so a RETURNING statement has completed before the caller moves on. */
        status = run_to_end(stmt, err);
        if (status == RSP_OK)
            *value = first;
    } else if (status == RSP_OK) {
        status = RSP_ERR_NOT_FOUND;
    }
    store_finish(stmt);
    return status;
}

rsp_status store_pool_exec(store *st, const char *sql, const store_value *params, size_t count,
                           int64_t *changes, rsp_error *err)
{
    store_conn *conn = NULL;
    rsp_status status = store_borrow(st, &conn, err);
    if (status != RSP_OK)
        return status;
    status = store_exec(conn, sql, params, count, changes, err);
    store_return(conn);
    return status;
}

rsp_status store_pool_query_int64(store *st, const char *sql, const store_value *params,
                                  size_t count, int64_t *value, rsp_error *err)
{
    store_conn *conn = NULL;
    rsp_status status = store_borrow(st, &conn, err);
    if (status != RSP_OK)
        return status;
    status = store_query_int64(conn, sql, params, count, value, err);
    store_return(conn);
    return status;
}

rsp_status store_exec_script(store_conn *conn, const char *sql, rsp_error *err)
{
    if (conn == NULL || sql == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "store_exec_script: NULL");
    conn->failure = STORE_FAILURE_NONE;
    return conn->owner->backend->exec_script(conn, sql, err);
}

/* What makes a connection a database session (the handle and the statements prepared on
 * it) moves between two store_conn. */
static void swap_session(store_conn *a, store_conn *b)
{
    void *handle = a->handle;
    a->handle = b->handle;
    b->handle = handle;
    store_stmt *cache = a->cache;
    a->cache = b->cache;
    b->cache = cache;
    unsigned prepared = a->prepared_count;
    a->prepared_count = b->prepared_count;
    b->prepared_count = prepared;
    for (store_stmt *stmt = a->cache; stmt != NULL; stmt = stmt->next)
        stmt->conn = a;
    for (store_stmt *stmt = b->cache; stmt != NULL; stmt = stmt->next)
        stmt->conn = b;
}

static bool statement_open(const store_conn *conn)
{
    for (const store_stmt *stmt = conn->cache; stmt != NULL; stmt = stmt->next)
        if (stmt->in_use)
            return true;
    return false;
}

/* Holding writer_lock: the writing handle moves into conn unless a statement of conn is open. */
static void writer_take(store_conn *conn)
{
    store *st = conn->owner;
    conn->holds_writer = true;
    if (st->writer_spare.handle != NULL && !statement_open(conn)) {
        swap_session(conn, &st->writer_spare);
        st->backend->adopt(conn);
        conn->holds_spare = true;
    }
}

/* SQLite has a writer that finds the write lock taken sleep and try again (busy_wait in
 * sqlite.c): with many threads of one process writing, they sleep through moments the lock is
 * free and wake to find it taken again. A mutex queues them and hands the lock straight on.
 * Holding it, the writer also borrows one handle kept for writing (writer_spare): SQLite drops
 * a connection's whole page cache when another connection has written since it last looked, so
 * with writes spread over the pool every transaction re-read its pages from the file; the
 * writing handle only ever sees its own writes and keeps them. (A caller with a statement
 * still open keeps its own handle, so that statement stays inside its transaction.) The lock
 * is left once COMMIT has returned; the wait for the log sync comes after it (store_commit),
 * so the next writer's commit can share that sync. Other processes still meet SQLite's own
 * lock. The wait is bounded like SQLite's. */
static rsp_status writer_enter(store_conn *conn, rsp_error *err)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    store *st = conn->owner;
    unsigned ms = st->options.busy_timeout_ms;
    deadline.tv_sec += (time_t)(ms / 1000u);
    deadline.tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    if (pthread_mutex_timedlock(&st->writer_lock, &deadline) != 0)
        return store_fail(conn, STORE_FAILURE_CONFLICT, err,
                          "store: another writer of this process held the database for %u ms", ms);
    writer_take(conn);
    return RSP_OK;
}

static void writer_leave(store_conn *conn)
{
    if (!conn->holds_writer)
        return;
    if (conn->holds_spare) {
        for (store_stmt *stmt = conn->cache; stmt != NULL; stmt = stmt->next)
            if (stmt->in_use)
                store_finish(stmt);
        swap_session(conn, &conn->owner->writer_spare);
        conn->holds_spare = false;
    }
    conn->holds_writer = false;
    pthread_mutex_unlock(&conn->owner->writer_lock);
}

rsp_status store_borrow_reader(store *st, store_conn **out, rsp_error *err)
{
    rsp_status status = store_borrow(st, out, err);
    if (status != RSP_OK)
        return status;
    (*out)->reader = true;
    if (st->backend->serialize_writers && pthread_mutex_trylock(&st->writer_lock) == 0)
        writer_take(*out);
    return RSP_OK;
}

rsp_status store_begin(store_conn *conn, rsp_error *err)
{
    if (conn->in_transaction)
        return store_fail(conn, STORE_FAILURE_SQL, err, "store: transaction already open");
    if (conn->reader)
        return store_fail(conn, STORE_FAILURE_SQL, err,
                          "store: a reader connection cannot begin a transaction");
    const store_backend *backend = conn->owner->backend;
    const char *sql = conn->relaxed && !conn->relaxed_always && backend->relaxed_begin_sql != NULL
                          ? backend->relaxed_begin_sql
                          : backend->begin_sql;
    rsp_status status = backend->serialize_writers ? writer_enter(conn, err) : RSP_OK;
    if (status == RSP_OK)
        status = store_exec_script(conn, sql, err);
    if (status == RSP_OK)
        conn->in_transaction = true;
    else
        writer_leave(conn);
    return status;
}

rsp_status store_commit(store_conn *conn, rsp_error *err)
{
    if (!conn->in_transaction)
        return store_fail(conn, STORE_FAILURE_SQL, err, "store: commit without a transaction");
    /* SQLite refuses to COMMIT while a write statement is still stepping; a statement stepped
     * again after the commit must not silently re-run either. */
    for (store_stmt *stmt = conn->cache; stmt != NULL; stmt = stmt->next)
        if (stmt->in_use && !stmt->done) {
            conn->owner->backend->reset(stmt);
            stmt->done = true;
        }
    rsp_status status = store_exec_script(conn, "COMMIT", err);
    if (status == RSP_OK && conn->owner->backend->transaction_open(conn))
        status = store_fail(conn, STORE_FAILURE_SQL, err, "store: transaction still open");
    if (!conn->owner->backend->transaction_open(conn))
        writer_leave(conn);
    uint64_t unsynced = conn->unsynced_commit;
    conn->unsynced_commit = 0;
    if (unsynced != 0) {
        rsp_status synced = wait_durable(conn, unsynced, err);
        if (status == RSP_OK)
            status = synced;
    }
    if (status != RSP_OK) {
        store_failure kind = conn->failure;
        store_rollback(conn);
        conn->failure = kind;
        return status;
    }
    conn->in_transaction = false;
    return RSP_OK;
}

void store_rollback(store_conn *conn)
{
    if (conn == NULL)
        return;
    if (conn->owner->backend->transaction_open(conn)) {
        rsp_error ignored = {0};
        conn->owner->backend->exec_script(conn, "ROLLBACK", &ignored);
    }
    writer_leave(conn);
    conn->in_transaction = false;
}

bool store_in_transaction(const store_conn *conn)
{
    return conn->in_transaction;
}

/* Randomised and growing, so two losers of the same race do not collide again. */
static void backoff(unsigned attempt, unsigned *seed)
{
    unsigned cap_ms = attempt < 6 ? 1u << attempt : 64u;
    unsigned wait_us = 200u + (unsigned)rand_r(seed) % (cap_ms * 1000u);
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)wait_us * 1000L};
    nanosleep(&ts, NULL);
}

rsp_status store_transaction_on(store_conn *conn, store_transaction_fn fn, void *ctx,
                                rsp_error *err)
{
    if (conn == NULL || fn == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "store_transaction: NULL");
    unsigned seed = (unsigned)(uintptr_t)conn ^ (unsigned)time(NULL);
    for (unsigned attempt = 1;; attempt++) {
        rsp_error local = {0};
        rsp_status status = store_begin(conn, &local);
        if (status == RSP_OK) {
            status = fn(conn, ctx, &local);
            if (status == RSP_OK) {
                status = store_commit(conn, &local);
            } else {
                store_failure kind = conn->failure;
                store_rollback(conn);
                conn->failure = kind;
            }
        }
        if (status == RSP_OK)
            return RSP_OK;
        if (conn->failure != STORE_FAILURE_CONFLICT ||
            attempt >= conn->owner->options.max_attempts) {
            if (err != NULL && err->code == RSP_OK && local.code != RSP_OK)
                *err = local;
            return status;
        }
        backoff(attempt, &seed);
    }
}

/* A transaction on a connection borrowed for it alone. */
static rsp_status transaction_borrowed(store *st, bool relaxed, store_transaction_fn fn, void *ctx,
                                       rsp_error *err)
{
    store_conn *conn;
    rsp_status status = store_borrow(st, &conn, err);
    if (status != RSP_OK)
        return status;
    status = relaxed ? store_transaction_relaxed_on(conn, fn, ctx, err)
                     : store_transaction_on(conn, fn, ctx, err);
    store_return(conn);
    return status;
}

rsp_status store_transaction(store *st, store_transaction_fn fn, void *ctx, rsp_error *err)
{
    return transaction_borrowed(st, false, fn, ctx, err);
}

rsp_status store_transaction_relaxed_on(store_conn *conn, store_transaction_fn fn, void *ctx,
                                        rsp_error *err)
{
    if (conn == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "store_transaction: NULL");
    bool was_relaxed = conn->relaxed;
    conn->relaxed = true;
    rsp_status status = store_transaction_on(conn, fn, ctx, err);
    conn->relaxed = was_relaxed;
    return status;
}

rsp_status store_transaction_relaxed(store *st, store_transaction_fn fn, void *ctx, rsp_error *err)
{
    return transaction_borrowed(st, true, fn, ctx, err);
}

/* ---- group commit ---- */

/* Runs on the leader: syncs the log once for every commit numbered up to target. */
static void lead_sync(store *st, store_conn *conn)
{
    uint64_t target = st->commit_sequence;
    st->syncing = true;
    pthread_mutex_unlock(&st->sync_lock);
    rsp_error sync_error = {0};
    rsp_status status = st->backend->sync_log(conn, &sync_error);
    atomic_fetch_add_explicit(&st->wal_syncs, 1, memory_order_relaxed);
    pthread_mutex_lock(&st->sync_lock);
    st->syncing = false;
    if (status == RSP_OK) {
        if (target > st->synced_sequence)
            st->synced_sequence = target;
    } else {
        st->sync_failed = true;
        snprintf(st->sync_failure, sizeof st->sync_failure, "%s", sync_error.message);
    }
    pthread_cond_broadcast(&st->synced);
}

/* The durability barrier. Why one shared sync is exactly as durable as synchronous=FULL (one
 * sync per commit): in WAL mode a commit appends its frames to the log, under the write lock,
 * after every frame of every earlier commit, and a commit is recovered after a power cut
 * exactly when its frames and all frames before them are on disk (recovery replays the log
 * up to the last valid commit frame). A commit is numbered only after its COMMIT returned, so
 * its frames are in the file; a sync of the log started later puts on disk every frame
 * written before it, hence every commit numbered before the leader took its target, and with
 * them all earlier commits of any connection or process. The log header is still synced by
 * SQLite itself when the log restarts, as in FULL mode. */
rsp_status store_committed(store_conn *conn, rsp_error *err)
{
    store *st = conn->owner;
    atomic_fetch_add_explicit(&st->commits, 1, memory_order_relaxed);
    if (conn->relaxed)
        return RSP_OK;
    atomic_fetch_add_explicit(&st->durable_commits, 1, memory_order_relaxed);
    if (st->backend->sync_log == NULL)
        return RSP_OK;
    pthread_mutex_lock(&st->sync_lock);
    uint64_t mine = ++st->commit_sequence;
    pthread_mutex_unlock(&st->sync_lock);
    if (conn->holds_writer) {
        conn->unsynced_commit = mine; /* store_commit waits, once the writer lock is left */
        return RSP_OK;
    }
    return wait_durable(conn, mine, err);
}

/* Returns once every commit numbered up to mine is durable (see store_committed). */
static rsp_status wait_durable(store_conn *conn, uint64_t mine, rsp_error *err)
{
    store *st = conn->owner;
    pthread_mutex_lock(&st->sync_lock);
    while (st->synced_sequence < mine && !st->sync_failed) {
        if (st->syncing)
            pthread_cond_wait(&st->synced, &st->sync_lock);
        else
            lead_sync(st, conn);
    }
    bool durable = st->synced_sequence >= mine;
    char failure[sizeof st->sync_failure];
    memcpy(failure, st->sync_failure, sizeof failure);
    pthread_mutex_unlock(&st->sync_lock);
    if (durable)
        return RSP_OK;
    return store_fail(conn, STORE_FAILURE_IO, err, "store: commit not durable: %s", failure);
}

void store_stats(store *st, store_statistics *out)
{
    out->commits = atomic_load_explicit(&st->commits, memory_order_relaxed);
    out->durable_commits = atomic_load_explicit(&st->durable_commits, memory_order_relaxed);
    out->wal_syncs = atomic_load_explicit(&st->wal_syncs, memory_order_relaxed);
}

/* ---- migrations ---- */

static const char migrations_table_sql[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                           " component TEXT NOT NULL,"
                                           " version BIGINT NOT NULL,"
                                           " description TEXT NOT NULL,"
                                           " applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,"
                                           " PRIMARY KEY (component, version))";

/* Any constant works as long as every rspkit process uses the same one. */
#define STORE_MIGRATION_LOCK_KEY 0x72737070 /* "rspp" */

typedef struct {
    const char *component;
    const store_migration *migration;
} migration_step;

static rsp_status migrations_table_exists(store_conn *conn, bool *exists, rsp_error *err)
{
    const char *sql = store_conn_dialect(conn) == STORE_DIALECT_POSTGRES
                          ? "SELECT count(*) FROM pg_catalog.pg_tables"
                            " WHERE tablename = 'schema_migrations'"
                            " AND schemaname = current_schema()"
                          : "SELECT count(*) FROM sqlite_master"
                            " WHERE type = 'table' AND name = 'schema_migrations'";
    int64_t count = 0;
    rsp_status status = store_query_int64(conn, sql, NULL, 0, &count, err);
    *exists = count > 0;
    return status;
}

static rsp_status migration_recorded(store_conn *conn, const char *component, int64_t version,
                                     bool *recorded, rsp_error *err)
{
    const store_value key[] = {STORE_VALUE_TEXT(component), STORE_VALUE_INT64(version)};
    int64_t count = 0;
    rsp_status status = store_query_int64(
        conn, "SELECT count(*) FROM schema_migrations WHERE component = $1 AND version = $2", key,
        2, &count, err);
    *recorded = count > 0;
    return status;
}

static const char *migration_sql(const store_conn *conn, const store_migration *migration)
{
    const char *specific = store_conn_dialect(conn) == STORE_DIALECT_POSTGRES
                               ? migration->sql_postgres
                               : migration->sql_sqlite;
    return specific != NULL ? specific : migration->sql;
}

static rsp_status apply_migration(store_conn *conn, void *ctx, rsp_error *err)
{
    const migration_step *step = ctx;
    rsp_status status = RSP_OK;
    /* SQLite's BEGIN IMMEDIATE already serialises writers; PostgreSQL needs a lock that also
     * covers the concurrent CREATE TABLE IF NOT EXISTS (which can otherwise fail as a
     * duplicate) and the check-then-apply below. */
    if (store_conn_dialect(conn) == STORE_DIALECT_POSTGRES)
        status =
            store_exec(conn, "SELECT pg_advisory_xact_lock($1)",
                       (store_value[]){STORE_VALUE_INT64(STORE_MIGRATION_LOCK_KEY)}, 1, NULL, err);
    if (status == RSP_OK)
        status = store_exec_script(conn, migrations_table_sql, err);
    bool recorded = false;
    if (status == RSP_OK)
        status =
            migration_recorded(conn, step->component, step->migration->version, &recorded, err);
    if (status != RSP_OK || recorded)
        return status;
    status = store_exec_script(conn, migration_sql(conn, step->migration), err);
    const char *description =
        step->migration->description != NULL ? step->migration->description : "";
    const store_value record[] = {STORE_VALUE_TEXT(step->component),
                                  STORE_VALUE_INT64(step->migration->version),
                                  STORE_VALUE_TEXT(description)};
    if (status == RSP_OK)
        status = store_exec(conn,
                            "INSERT INTO schema_migrations (component, version, description)"
                            " VALUES ($1, $2, $3)",
                            record, 3, NULL, err);
    return status;
}

static rsp_status check_migrations(const char *component, const store_migration *migrations,
                                   size_t count, rsp_error *err)
{
    if (component == NULL || (migrations == NULL && count > 0))
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "store_migrate: NULL argument");
    for (size_t i = 0; i < count; i++) {
        if (migrations[i].version <= (i > 0 ? migrations[i - 1].version : 0))
            return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                                 "store_migrate: %s version %lld not above the previous one",
                                 component, (long long)migrations[i].version);
        if (migrations[i].sql == NULL &&
            (migrations[i].sql_sqlite == NULL || migrations[i].sql_postgres == NULL))
            return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                                 "store_migrate: %s version %lld lacks SQL for a dialect",
                                 component, (long long)migrations[i].version);
    }
    return RSP_OK;
}

rsp_status store_migrate(store *st, const char *component, const store_migration *migrations,
                         size_t count, rsp_error *err)
{
    rsp_status status = check_migrations(component, migrations, count, err);
    if (status != RSP_OK)
        return status;
    store_conn *conn;
    status = store_borrow(st, &conn, err);
    if (status != RSP_OK)
        return status;
    bool table_exists = false;
    status = migrations_table_exists(conn, &table_exists, err);
    for (size_t i = 0; i < count && status == RSP_OK; i++) {
        /* Checked without a lock first so a started-up database costs no write lock; the
         * transaction checks again under the lock. */
        bool recorded = false;
        if (table_exists)
            status = migration_recorded(conn, component, migrations[i].version, &recorded, err);
        if (status != RSP_OK || recorded)
            continue;
        migration_step step = {.component = component, .migration = &migrations[i]};
        status = store_transaction_on(conn, apply_migration, &step, err);
        table_exists = true;
    }
    store_return(conn);
    return status;
}

rsp_status store_schema_version(store_conn *conn, const char *component, int64_t *version,
                                rsp_error *err)
{
    *version = 0;
    bool exists = false;
    rsp_status status = migrations_table_exists(conn, &exists, err);
    if (status != RSP_OK || !exists)
        return status;
    const store_value key[] = {STORE_VALUE_TEXT(component)};
    return store_query_int64(
        conn, "SELECT coalesce(max(version), 0) FROM schema_migrations WHERE component = $1", key,
        1, version, err);
}
