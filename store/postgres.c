/* PostgreSQL backend over libpq: server-side prepared statements, text results (bytea in hex),
 * blobs sent as binary parameters. A statement's whole result arrives at the first step. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/backend.h"

/* Type OIDs from pg_type.h (stable across server versions). */
#define PG_OID_BOOL  16
#define PG_OID_BYTEA 17
#define PG_OID_INT8  20
#define PG_OID_INT2  21
#define PG_OID_INT4  23
#define PG_OID_OID   26

typedef struct {
    char name[24];
    int param_count;
    const char **values;
    int *lengths;
    int *formats;
    char (*numbers)[24]; /* text form of int64 parameters */
    PGresult *result;
    int row;
    int rows;
    uint8_t **blobs; /* decoded bytea, one buffer per column */
    size_t *blob_capacity;
    int blob_columns;
} pg_stmt;

static PGconn *conn_pg(const store_conn *conn)
{
    return (PGconn *)conn->handle;
}

static pg_stmt *stmt_state(const store_stmt *stmt)
{
    return (pg_stmt *)stmt->backend;
}

static store_failure classify(const char *sqlstate)
{
    if (sqlstate == NULL || strlen(sqlstate) != 5)
        return STORE_FAILURE_IO; /* no answer from the server */
    if (strcmp(sqlstate, "23505") == 0)
        return STORE_FAILURE_UNIQUE;
    if (strncmp(sqlstate, "23", 2) == 0)
        return STORE_FAILURE_CONSTRAINT;
    /* serialization_failure, deadlock_detected, lock_not_available */
    if (strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "40P01") == 0 ||
        strcmp(sqlstate, "55P03") == 0)
        return STORE_FAILURE_CONFLICT;
    /* connection, resources, operator intervention, system and internal errors */
    if (strncmp(sqlstate, "08", 2) == 0 || strncmp(sqlstate, "53", 2) == 0 ||
        strncmp(sqlstate, "57", 2) == 0 || strncmp(sqlstate, "58", 2) == 0 ||
        strncmp(sqlstate, "XX", 2) == 0)
        return STORE_FAILURE_IO;
    return STORE_FAILURE_SQL;
}

/* libpq messages run over several lines; the first says what happened. */
static int first_line_length(const char *text)
{
    size_t length = strcspn(text, "\n");
    return length > 200 ? 200 : (int)length;
}

/* Takes ownership of result (may be NULL). */
static rsp_status fail_from_result(store_conn *conn, PGresult *result, rsp_error *err,
                                   const char *what)
{
    const char *sqlstate = result != NULL ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL;
    const char *message =
        result != NULL ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = result != NULL ? PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL) : NULL;
    if (message == NULL)
        message = PQerrorMessage(conn_pg(conn));
    rsp_status status =
        store_fail(conn, classify(sqlstate), err, "postgres: %s: %.*s [%s] %s", what,
                   first_line_length(message), message, sqlstate != NULL ? sqlstate : "no sqlstate",
                   detail != NULL ? detail : "");
    PQclear(result);
    return status;
}

static bool result_ok(const PGresult *result)
{
    ExecStatusType status = PQresultStatus(result);
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY;
}

static void quiet_notices(void *arg, const char *message)
{
    /* "relation already exists, skipping" and friends are expected, not news. */
    (void)arg;
    (void)message;
}

static rsp_status configure_session(store_conn *conn, rsp_error *err)
{
    PGconn *pg = conn_pg(conn);
    PQsetNoticeProcessor(pg, quiet_notices, NULL);
    /* Column reads decode bytea from hex and expect UTF-8 text whatever the server default. */
    PGresult *result =
        PQexec(pg, conn->relaxed_always ? "SET bytea_output = 'hex'; SET client_encoding = 'UTF8';"
                                          " SET synchronous_commit = off"
                                        : "SET bytea_output = 'hex'; SET client_encoding = 'UTF8'");
    if (!result_ok(result))
        return fail_from_result(conn, result, err, "session settings");
    PQclear(result);
    return RSP_OK;
}

static rsp_status pg_connect(store_conn *conn, const char *target, const store_options *options,
                             rsp_error *err)
{
    (void)options;
    PGconn *pg = PQconnectdb(target);
    if (pg == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "postgres: out of memory");
    conn->handle = pg;
    rsp_status status = RSP_OK;
    if (PQstatus(pg) != CONNECTION_OK) {
        const char *message = PQerrorMessage(pg);
        status = store_fail(conn, STORE_FAILURE_IO, err, "postgres: cannot connect: %.*s",
                            first_line_length(message), message);
    } else {
        status = configure_session(conn, err);
    }
    if (status != RSP_OK) {
        PQfinish(pg);
        conn->handle = NULL;
    }
    return status;
}

static void pg_disconnect(store_conn *conn)
{
    PQfinish(conn_pg(conn));
    conn->handle = NULL;
}

static bool pg_healthy(store_conn *conn)
{
    return PQstatus(conn_pg(conn)) == CONNECTION_OK;
}

static rsp_status pg_reconnect(store_conn *conn, rsp_error *err)
{
    PGconn *pg = conn_pg(conn);
    PQreset(pg);
    conn->prepared_count = 0;
    conn->in_transaction = false;
    if (PQstatus(pg) != CONNECTION_OK) {
        const char *message = PQerrorMessage(pg);
        return store_fail(conn, STORE_FAILURE_IO, err, "postgres: cannot reconnect: %.*s",
                          first_line_length(message), message);
    }
    return configure_session(conn, err);
}

static void free_blobs(pg_stmt *state)
{
    for (int i = 0; i < state->blob_columns; i++)
        free(state->blobs[i]);
    free(state->blobs);
    free(state->blob_capacity);
    state->blobs = NULL;
    state->blob_capacity = NULL;
    state->blob_columns = 0;
}

static void free_state(pg_stmt *state)
{
    if (state == NULL)
        return;
    PQclear(state->result);
    free_blobs(state);
    free(state->values);
    free(state->lengths);
    free(state->formats);
    free(state->numbers);
    free(state);
}

static rsp_status allocate_params(pg_stmt *state, rsp_error *err)
{
    size_t count = state->param_count > 0 ? (size_t)state->param_count : 1;
    state->values = calloc(count, sizeof *state->values);
    state->lengths = calloc(count, sizeof *state->lengths);
    state->formats = calloc(count, sizeof *state->formats);
    state->numbers = calloc(count, sizeof *state->numbers);
    if (state->values == NULL || state->lengths == NULL || state->formats == NULL ||
        state->numbers == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "postgres: out of memory");
    return RSP_OK;
}

static rsp_status pg_prepare(store_stmt *stmt, rsp_error *err)
{
    store_conn *conn = stmt->conn;
    PGconn *pg = conn_pg(conn);
    pg_stmt *state = calloc(1, sizeof *state);
    if (state == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "postgres: out of memory");
    snprintf(state->name, sizeof state->name, "rspkit_%u", ++conn->prepared_count);
    rsp_status status = RSP_OK;
    /* Parameter types are left to the server, which infers them from the SQL. */
    PGresult *result = PQprepare(pg, state->name, stmt->sql, 0, NULL);
    if (!result_ok(result)) {
        status = fail_from_result(conn, result, err, "prepare");
    } else {
        PQclear(result);
        result = PQdescribePrepared(pg, state->name);
        if (!result_ok(result)) {
            status = fail_from_result(conn, result, err, "describe");
        } else {
            state->param_count = PQnparams(result);
            PQclear(result);
            status = allocate_params(state, err);
        }
    }
    if (status != RSP_OK) {
        free_state(state);
        return status;
    }
    stmt->backend = state;
    return RSP_OK;
}

static void pg_finalize(store_stmt *stmt)
{
    pg_stmt *state = stmt_state(stmt);
    if (state == NULL)
        return;
    PGconn *pg = conn_pg(stmt->conn);
    /* Inside a failed transaction this fails; the name is never reused, so that is harmless. */
    if (pg != NULL && PQstatus(pg) == CONNECTION_OK) {
        char sql[48];
        snprintf(sql, sizeof sql, "DEALLOCATE %s", state->name);
        PQclear(PQexec(pg, sql));
    }
    free_state(state);
    stmt->backend = NULL;
}

static rsp_status pg_bind(store_stmt *stmt, int index, const store_value *value)
{
    pg_stmt *state = stmt_state(stmt);
    if (index < 1 || index > state->param_count)
        return RSP_ERR_INVALID_ARGUMENT;
    int i = index - 1;
    state->lengths[i] = 0;
    state->formats[i] = 0;
    switch (value->type) {
    case STORE_INT64:
        snprintf(state->numbers[i], sizeof state->numbers[i], "%lld", (long long)value->integer);
        state->values[i] = state->numbers[i];
        break;
    case STORE_TEXT:
        state->values[i] = value->data;
        /* Text of known length goes in binary form: text's binary form is its UTF-8 bytes,
         * while the text form would need a NUL terminator. */
        if (value->size != STORE_NUL_TERMINATED) {
            if (value->size > (size_t)0x7FFFFFFF)
                return RSP_ERR_INVALID_ARGUMENT;
            state->lengths[i] = (int)value->size;
            state->formats[i] = 1;
        }
        break;
    case STORE_BLOB:
        /* Binary format: bytea's binary form is the bytes themselves, no escaping. */
        if (value->size > (size_t)0x7FFFFFFF)
            return RSP_ERR_INVALID_ARGUMENT;
        state->values[i] = value->data;
        state->lengths[i] = (int)value->size;
        state->formats[i] = 1;
        break;
    default:
        state->values[i] = NULL;
        break;
    }
    return RSP_OK;
}

static rsp_status pg_step(store_stmt *stmt, bool *has_row, rsp_error *err)
{
    pg_stmt *state = stmt_state(stmt);
    if (!stmt->executed) {
        PGresult *result = PQexecPrepared(conn_pg(stmt->conn), state->name, state->param_count,
                                          state->values, state->lengths, state->formats, 0);
        if (!result_ok(result))
            return fail_from_result(stmt->conn, result, err, "execute");
        state->result = result;
        state->row = -1;
        state->rows = PQresultStatus(result) == PGRES_TUPLES_OK ? PQntuples(result) : 0;
        const char *changed = PQcmdTuples(result);
        stmt->changes = changed[0] != '\0' ? strtoll(changed, NULL, 10) : 0;
        /* A SELECT reports its row count here; only writes count as changes. */
        bool reads = strncmp(PQcmdStatus(result), "SELECT", 6) == 0;
        if (reads)
            stmt->changes = 0;
        if (!reads && PQtransactionStatus(conn_pg(stmt->conn)) == PQTRANS_IDLE)
            store_committed(stmt->conn, err);
    }
    state->row++;
    *has_row = state->row < state->rows;
    return RSP_OK;
}

static void pg_reset(store_stmt *stmt)
{
    pg_stmt *state = stmt_state(stmt);
    PQclear(state->result);
    state->result = NULL;
    state->row = 0;
    state->rows = 0;
    free_blobs(state);
    memset(state->values, 0, (size_t)state->param_count * sizeof *state->values);
}

static int pg_column_count(const store_stmt *stmt)
{
    const pg_stmt *state = stmt_state(stmt);
    return state->result != NULL ? PQnfields(state->result) : 0;
}

static store_type pg_column_type(store_stmt *stmt, int column)
{
    const pg_stmt *state = stmt_state(stmt);
    if (PQgetisnull(state->result, state->row, column))
        return STORE_NULL;
    switch (PQftype(state->result, column)) {
    case PG_OID_BOOL:
    case PG_OID_INT2:
    case PG_OID_INT4:
    case PG_OID_INT8:
    case PG_OID_OID:
        return STORE_INT64;
    case PG_OID_BYTEA:
        return STORE_BLOB;
    default:
        return STORE_TEXT;
    }
}

static int64_t pg_column_int64(store_stmt *stmt, int column)
{
    const pg_stmt *state = stmt_state(stmt);
    if (PQgetisnull(state->result, state->row, column))
        return 0;
    const char *text = PQgetvalue(state->result, state->row, column);
    if (PQftype(state->result, column) == PG_OID_BOOL)
        return text[0] == 't';
    return strtoll(text, NULL, 10);
}

static const char *pg_column_text(store_stmt *stmt, int column)
{
    const pg_stmt *state = stmt_state(stmt);
    if (PQgetisnull(state->result, state->row, column))
        return NULL;
    return PQgetvalue(state->result, state->row, column);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool reserve_blob(pg_stmt *state, int column, size_t size)
{
    if (state->blobs == NULL) {
        int columns = PQnfields(state->result);
        state->blobs = calloc((size_t)columns, sizeof *state->blobs);
        state->blob_capacity = calloc((size_t)columns, sizeof *state->blob_capacity);
        if (state->blobs == NULL || state->blob_capacity == NULL) {
            free_blobs(state);
            return false;
        }
        state->blob_columns = columns;
    }
    if (state->blob_capacity[column] >= size && state->blobs[column] != NULL)
        return true;
    uint8_t *bigger = realloc(state->blobs[column], size > 0 ? size : 1);
    if (bigger == NULL)
        return false;
    state->blobs[column] = bigger;
    state->blob_capacity[column] = size;
    return true;
}

/* bytea arrives as "\x" followed by hex digits (bytea_output = hex, set per session). */
static const uint8_t *pg_column_blob(store_stmt *stmt, int column, size_t *size)
{
    pg_stmt *state = stmt_state(stmt);
    if (PQgetisnull(state->result, state->row, column))
        return NULL;
    const char *text = PQgetvalue(state->result, state->row, column);
    size_t length = (size_t)PQgetlength(state->result, state->row, column);
    if (PQftype(state->result, column) != PG_OID_BYTEA) {
        *size = length;
        return (const uint8_t *)text;
    }
    if (length < 2 || text[0] != '\\' || text[1] != 'x' || length % 2 != 0)
        return NULL;
    size_t bytes = (length - 2) / 2;
    if (!reserve_blob(state, column, bytes))
        return NULL;
    for (size_t i = 0; i < bytes; i++) {
        int high = hex_digit(text[2 + 2 * i]);
        int low = hex_digit(text[3 + 2 * i]);
        if (high < 0 || low < 0)
            return NULL;
        state->blobs[column][i] = (uint8_t)(high << 4 | low);
    }
    *size = bytes;
    return state->blobs[column];
}

static rsp_status pg_exec_script(store_conn *conn, const char *sql, rsp_error *err)
{
    PGresult *result = PQexec(conn_pg(conn), sql);
    if (!result_ok(result))
        return fail_from_result(conn, result, err, "exec");
    /* COMMIT of a transaction that already failed answers "ROLLBACK" without an error. */
    bool rolled_back = strcmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(result), "ROLLBACK") == 0;
    PQclear(result);
    if (rolled_back)
        return store_fail(conn, STORE_FAILURE_SQL, err,
                          "postgres: COMMIT rolled back: an earlier statement failed");
    if (strcmp(sql, "COMMIT") == 0)
        return store_committed(conn, err);
    return RSP_OK;
}

/* A SELECT (a FOR UPDATE one only locks, and outside a transaction only while it runs):
 * libpq does not say whether a statement writes, and the guard only has to catch a caller's
 * mistake, so anything else counts as a write. */
static bool pg_statement_readonly(store_stmt *stmt)
{
    const char *sql = stmt->sql;
    while (*sql == ' ' || *sql == '\n' || *sql == '\t')
        sql++;
    return strncasecmp(sql, "SELECT ", 7) == 0;
}

static bool pg_transaction_open(store_conn *conn)
{
    PGTransactionStatusType status = PQtransactionStatus(conn_pg(conn));
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

const store_backend store_backend_postgres = {
    .dialect = STORE_DIALECT_POSTGRES,
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .healthy = pg_healthy,
    .reconnect = pg_reconnect,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .bind = pg_bind,
    .step = pg_step,
    .reset = pg_reset,
    .column_count = pg_column_count,
    .column_type = pg_column_type,
    .column_int64 = pg_column_int64,
    .column_text = pg_column_text,
    .column_blob = pg_column_blob,
    .exec_script = pg_exec_script,
    /* READ COMMITTED: row locks taken by UPDATE and FOR UPDATE make counters and hand-outs
     * safe without serialization failures; deadlocks are still re-run. */
    .begin_sql = "BEGIN",
    /* The server then answers COMMIT before its log reaches the disk; a later synchronous
     * commit flushes the log up to its own record, so earlier relaxed commits with it. */
    .relaxed_begin_sql = "BEGIN; SET LOCAL synchronous_commit = off",
    .sync_log = NULL,
    .transaction_open = pg_transaction_open,
    .statement_readonly = pg_statement_readonly,
};
