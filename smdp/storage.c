/* SM-DP+ durable state: schema migrations for SQLite and PostgreSQL, download sessions,
 * received notifications and the ES2+ callback outbox. Profiles and orders are in
 * inventory.c; both use the tables created here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "crypto/random.h"
#include "smdp/download.h"
#include "smdp/inventory.h"

/* Integers are BIGINT in both dialects (SQLite gives BIGINT integer affinity); only the binary
 * type and the identity columns differ. */
#define PROFILES_TABLE(BINARY)                                                                     \
    "CREATE TABLE smdp_profiles ("                                                                 \
    " iccid TEXT PRIMARY KEY,"                                                                     \
    " operator_id TEXT NOT NULL,"                                                                  \
    " profile_type TEXT NOT NULL DEFAULT '',"                                                      \
    " state TEXT NOT NULL,"                                                                        \
    " package " BINARY " NOT NULL,"                                                                \
    " eid TEXT,"                                                                                   \
    " matching_id TEXT UNIQUE,"                                                                    \
    " cc_hash " BINARY ","                                                                         \
    " cc_attempts BIGINT NOT NULL DEFAULT 0,"                                                      \
    " download_attempts BIGINT NOT NULL DEFAULT 0,"                                                \
    " blocked BIGINT NOT NULL DEFAULT 0,"                                                          \
    " smds_address TEXT,"                                                                          \
    " transaction_id TEXT,"                                                                        \
    " created_at BIGINT NOT NULL,"                                                                 \
    " updated_at BIGINT NOT NULL);"                                                                \
    "CREATE INDEX smdp_profiles_pick ON smdp_profiles (operator_id, profile_type, state);"         \
    "CREATE INDEX smdp_profiles_eid ON smdp_profiles (eid, state);"                                \
    "CREATE TABLE smdp_sessions ("                                                                 \
    " transaction_id TEXT PRIMARY KEY,"                                                            \
    " iccid TEXT NOT NULL DEFAULT '',"                                                             \
    " eid TEXT NOT NULL DEFAULT '',"                                                               \
    " step BIGINT NOT NULL,"                                                                       \
    " data " BINARY " NOT NULL,"                                                                   \
    " expires_at BIGINT NOT NULL);"                                                                \
    "CREATE INDEX smdp_sessions_iccid ON smdp_sessions (iccid);"                                   \
    "CREATE INDEX smdp_sessions_expiry ON smdp_sessions (expires_at)"

#define OUTBOX_COLUMNS                                                                             \
    " operator_id TEXT NOT NULL,"                                                                  \
    " url TEXT NOT NULL,"                                                                          \
    " body TEXT NOT NULL,"                                                                         \
    " attempts BIGINT NOT NULL DEFAULT 0,"                                                         \
    " next_attempt_at BIGINT NOT NULL,"                                                            \
    " delivered_at BIGINT,"                                                                        \
    " failed BIGINT NOT NULL DEFAULT 0,"                                                           \
    " last_error TEXT);"                                                                           \
    "CREATE INDEX smdp_outbox_due ON smdp_outbox (failed, delivered_at, next_attempt_at);"

#define NOTIFICATION_COLUMNS(BINARY)                                                               \
    " eid TEXT NOT NULL,"                                                                          \
    " iccid TEXT,"                                                                                 \
    " sequence_number BIGINT NOT NULL,"                                                            \
    " event BIGINT NOT NULL,"                                                                      \
    " data " BINARY " NOT NULL,"                                                                   \
    " received_at BIGINT NOT NULL,"                                                                \
    " UNIQUE (eid, sequence_number, event))"

#define PACKAGES_TABLE(BINARY)                                                                     \
    "CREATE TABLE smdp_packages (iccid TEXT PRIMARY KEY, package " BINARY " NOT NULL);"            \
    "INSERT INTO smdp_packages (iccid, package) SELECT iccid, package FROM smdp_profiles;"         \
    "ALTER TABLE smdp_profiles DROP COLUMN package"

static const store_migration smdp_migrations[] = {
    {.version = 1,
     .description = "profiles, orders and download sessions",
     .sql_sqlite = PROFILES_TABLE("BLOB"),
     .sql_postgres = PROFILES_TABLE("BYTEA")},
    {.version = 2,
     .description = "ES2+ callback outbox and received notifications",
     .sql_sqlite = "CREATE TABLE smdp_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT," OUTBOX_COLUMNS
                   "CREATE TABLE smdp_notifications (id INTEGER PRIMARY KEY "
                   "AUTOINCREMENT," NOTIFICATION_COLUMNS("BLOB"),
     .sql_postgres =
         "CREATE TABLE smdp_outbox (id BIGSERIAL PRIMARY KEY," OUTBOX_COLUMNS
         "CREATE TABLE smdp_notifications (id BIGSERIAL PRIMARY KEY," NOTIFICATION_COLUMNS(
             "BYTEA")},
    {.version = 3,
     .description = "download order expiry",
     .sql = "ALTER TABLE smdp_profiles ADD COLUMN order_expires_at BIGINT"},
    {.version = 4,
     .description = "the BPP handed out in a session, for a retried getBoundProfilePackage",
     .sql_sqlite = "ALTER TABLE smdp_sessions ADD COLUMN bpp_request_sha256 BLOB;"
                   "ALTER TABLE smdp_sessions ADD COLUMN bpp_response BLOB",
     .sql_postgres = "ALTER TABLE smdp_sessions ADD COLUMN bpp_request_sha256 BYTEA;"
                     "ALTER TABLE smdp_sessions ADD COLUMN bpp_response BYTEA"},
    /* The package never changes after import while a profile row changes three times or
     * more per download: out of that row, an update no longer rewrites the package too. */
    {.version = 5,
     .description = "profile packages in their own table",
     .sql_sqlite = PACKAGES_TABLE("BLOB"),
     .sql_postgres = PACKAGES_TABLE("BYTEA")},
    /* An index with the state in it is rewritten at every state change of a download
     * (Released -> Downloaded -> Installed): the lookups by state only ever look for available
     * profiles (ES2+ pick by type) and released ones (default SM-DP+ by EID), so the state
     * moves to partial-index conditions and later changes touch no index. */
    {.version = 6,
     .description = "profile indexes without the state",
     .sql = "DROP INDEX smdp_profiles_pick;"
            "DROP INDEX smdp_profiles_eid;"
            "CREATE INDEX smdp_profiles_type ON smdp_profiles (operator_id, profile_type);"
            "CREATE INDEX smdp_profiles_available ON smdp_profiles (operator_id, profile_type,"
            " iccid) WHERE state = 'available';"
            "CREATE INDEX smdp_profiles_released_eid ON smdp_profiles (eid, iccid)"
            " WHERE state = 'released'"},
    /* The key of the transaction IDs (smdp_credentials.transaction_key), in the database so
     * that every process serving from it issues and accepts the same IDs. */
    {.version = 7,
     .description = "secrets shared by the SM-DP+ processes",
     .sql_sqlite = "CREATE TABLE smdp_secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
     .sql_postgres = "CREATE TABLE smdp_secrets (name TEXT PRIMARY KEY, value BYTEA NOT NULL)"},
};

rsp_status smdp_storage_migrate_to(store *st, unsigned version, rsp_error *err)
{
    size_t count = 0;
    while (count < sizeof smdp_migrations / sizeof smdp_migrations[0] &&
           smdp_migrations[count].version <= version)
        count++;
    return store_migrate(st, "smdp", smdp_migrations, count, err);
}

rsp_status smdp_storage_migrate(store *st, rsp_error *err)
{
    return store_migrate(st, "smdp", smdp_migrations,
                         sizeof smdp_migrations / sizeof smdp_migrations[0], err);
}

int64_t smdp_inventory_now(const smdp_inventory *inventory)
{
    if (inventory->clock != NULL)
        return inventory->clock(inventory->clock_user);
    return (int64_t)time(NULL);
}

static void copy_text(char *out, size_t size, const char *text)
{
    snprintf(out, size, "%s", text != NULL ? text : "");
}

/* ---- sessions ---- */

void smdp_session_record_free(smdp_session_record *record)
{
    if (record == NULL)
        return;
    free(record->data);
    record->data = NULL;
    record->data_len = 0;
    free(record->bpp_response);
    record->bpp_response = NULL;
    record->bpp_response_len = 0;
}

/* The columns of the answered request's hash and of a BPP kept whole (earlier versions). */
static store_value request_hash_value(const smdp_session_record *record)
{
    return record->has_bpp_request
               ? STORE_VALUE_BLOB(record->bpp_request_sha256, sizeof record->bpp_request_sha256)
               : STORE_VALUE_NULL();
}

static store_value bpp_response_value(const smdp_session_record *record)
{
    return record->bpp_response != NULL
               ? STORE_VALUE_BLOB(record->bpp_response, record->bpp_response_len)
               : STORE_VALUE_NULL();
}

/* Copies a blob column into *out (malloc'd); absent or NULL leaves *out NULL. */
static rsp_status copy_blob(store_stmt *stmt, int column, uint8_t **out, size_t *out_len,
                            rsp_error *err)
{
    size_t len = 0;
    const uint8_t *data = store_column_blob(stmt, column, &len);
    *out = NULL;
    *out_len = 0;
    if (data == NULL)
        return RSP_OK;
    *out = malloc(len > 0 ? len : 1);
    if (*out == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "session blob");
    if (len > 0)
        memcpy(*out, data, len);
    *out_len = len;
    return RSP_OK;
}

/* Inserts record at step; *inserted false (and nothing written) when the transaction ID is
 * taken. ON CONFLICT: PostgreSQL would abort the caller's transaction on a unique violation. */
static rsp_status insert_session(store_conn *conn, const smdp_session_record *record, int64_t step,
                                 bool *inserted, rsp_error *err)
{
    const store_value params[] = {
        STORE_VALUE_TEXT(record->transaction_hex),
        STORE_VALUE_TEXT(record->iccid),
        STORE_VALUE_TEXT(record->eid),
        STORE_VALUE_INT64(step),
        STORE_VALUE_BLOB(record->data, record->data_len),
        STORE_VALUE_INT64(record->expires_at),
    };
    int64_t changes = 0;
    rsp_status st =
        store_exec(conn,
                   "INSERT INTO smdp_sessions (transaction_id, iccid, eid, step, data, expires_at)"
                   " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (transaction_id) DO NOTHING",
                   params, 6, &changes, err);
    *inserted = st == RSP_OK && changes == 1;
    return st;
}

static rsp_status create_in_transaction(store_conn *conn, void *context, rsp_error *err)
{
    const smdp_session_record *record = context;
    bool inserted = false;
    rsp_status st = insert_session(conn, record, record->step, &inserted, err);
    if (st == RSP_OK && !inserted)
        st = rsp_error_set(err, RSP_ERR_STATE, 0, 0, "transaction %s exists",
                           record->transaction_hex);
    return st;
}

/* Relaxed: a session lost to a power cut only makes the eUICC's next call fail as an unknown
 * transaction, and the LPA starts the download over (SGP.22 v2.5 sections 3.1.3, 5.6). */
rsp_status smdp_session_create(smdp_inventory *inventory, const smdp_session_record *record,
                               rsp_error *err)
{
    return store_transaction_relaxed(inventory->store, create_in_transaction, (void *)record, err);
}

static rsp_status load(smdp_inventory *inventory, const char *transaction_hex, bool with_bpp,
                       smdp_session_record *out, rsp_error *err)
{
    memset(out, 0, sizeof *out);
    store_conn *conn = NULL;
    rsp_status st = store_borrow_reader(inventory->store, &conn, err);
    if (st != RSP_OK)
        return st;
    store_stmt *stmt = NULL;
    st = store_prepare(conn,
                       "SELECT iccid, eid, step, data, expires_at, bpp_request_sha256,"
                       " bpp_response FROM smdp_sessions WHERE transaction_id = $1",
                       &stmt, err);
    bool has_row = false;
    if (st == RSP_OK)
        st = store_bind_text(stmt, 1, transaction_hex);
    if (st == RSP_OK)
        st = store_step(stmt, &has_row, err);
    if (st == RSP_OK && !has_row)
        st = rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0, "unknown transaction %s", transaction_hex);
    if (st == RSP_OK) {
        copy_text(out->transaction_hex, sizeof out->transaction_hex, transaction_hex);
        copy_text(out->iccid, sizeof out->iccid, store_column_text(stmt, 0));
        copy_text(out->eid, sizeof out->eid, store_column_text(stmt, 1));
        out->step = store_column_int64(stmt, 2);
        out->expires_at = store_column_int64(stmt, 4);
        st = copy_blob(stmt, 3, &out->data, &out->data_len, err);
        size_t hash_len = 0;
        const uint8_t *hash = store_column_blob(stmt, 5, &hash_len);
        if (st == RSP_OK && hash != NULL && hash_len == sizeof out->bpp_request_sha256) {
            out->has_bpp_request = true;
            memcpy(out->bpp_request_sha256, hash, hash_len);
        }
        /* Not reading the BPP column spares SQLite its overflow pages. */
        if (st == RSP_OK && with_bpp && out->has_bpp_request)
            st = copy_blob(stmt, 6, &out->bpp_response, &out->bpp_response_len, err);
    }
    if (stmt != NULL)
        store_finish(stmt);
    if (st == RSP_OK && out->step < 0) {
        smdp_session_record_free(out);
        st = rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0, "transaction %s is over", transaction_hex);
    }
    store_return(conn);
    if (st == RSP_OK && out->expires_at <= smdp_inventory_now(inventory)) {
        /* An expired session is as good as unknown; drop it so it cannot be continued. */
        const store_value params[] = {STORE_VALUE_TEXT(transaction_hex)};
        rsp_error ignored = {0};
        store_pool_exec(inventory->store, "DELETE FROM smdp_sessions WHERE transaction_id = $1",
                        params, 1, NULL, &ignored);
        smdp_session_record_free(out);
        st = rsp_error_set(err, RSP_ERR_NOT_FOUND, 0, 0, "transaction %s expired", transaction_hex);
    }
    return st;
}

rsp_status smdp_session_load(smdp_inventory *inventory, const char *transaction_hex,
                             smdp_session_record *out, rsp_error *err)
{
    return load(inventory, transaction_hex, true, out, err);
}

rsp_status smdp_session_load_state(smdp_inventory *inventory, const char *transaction_hex,
                                   smdp_session_record *out, rsp_error *err)
{
    return load(inventory, transaction_hex, false, out, err);
}

/* One step forward, if the session is still at expected_step. The order binding (iccid, eid)
 * is written only when rebind says so: an indexed column written costs its index page in the
 * log even when its value is the same. */
static rsp_status step_forward(store_conn *conn, const smdp_session_record *record,
                               int64_t expected_step, bool rebind, bool *advanced, rsp_error *err)
{
    if (record->unstored)
        return insert_session(conn, record, expected_step + 1, advanced, err);
    const store_value params[] = {
        STORE_VALUE_BLOB(record->data, record->data_len),
        STORE_VALUE_INT64(record->expires_at),
        STORE_VALUE_TEXT(record->transaction_hex),
        STORE_VALUE_INT64(expected_step),
        request_hash_value(record),
        bpp_response_value(record),
        STORE_VALUE_TEXT(record->iccid),
        STORE_VALUE_TEXT(record->eid),
    };
    int64_t changes = 0;
    const char *sql = rebind ? "UPDATE smdp_sessions SET data = $1, iccid = $7, eid = $8,"
                               " step = step + 1, expires_at = $2, bpp_request_sha256 = $5,"
                               " bpp_response = $6 WHERE transaction_id = $3 AND step = $4"
                             : "UPDATE smdp_sessions SET data = $1, step = step + 1,"
                               " expires_at = $2, bpp_request_sha256 = $5, bpp_response = $6"
                               " WHERE transaction_id = $3 AND step = $4";
    rsp_status st = store_exec(conn, sql, params, rebind ? 8 : 6, &changes, err);
    *advanced = st == RSP_OK && changes == 1;
    return st;
}

rsp_status smdp_session_advance_on(store_conn *conn, const smdp_session_record *record,
                                   int64_t expected_step, bool *advanced, rsp_error *err)
{
    return step_forward(conn, record, expected_step, true, advanced, err);
}

typedef struct {
    const smdp_session_record *record;
    int64_t expected_step;
    bool advanced;
} advance_context;

static rsp_status advance_in_transaction(store_conn *conn, void *context, rsp_error *err)
{
    advance_context *ctx = context;
    return smdp_session_advance_on(conn, ctx->record, ctx->expected_step, &ctx->advanced, err);
}

static rsp_status advance(smdp_inventory *inventory, const smdp_session_record *record,
                          int64_t expected_step, bool relaxed, rsp_error *err)
{
    advance_context ctx = {.record = record, .expected_step = expected_step};
    rsp_status st =
        relaxed ? store_transaction_relaxed(inventory->store, advance_in_transaction, &ctx, err)
                : store_transaction(inventory->store, advance_in_transaction, &ctx, err);
    if (st == RSP_OK && !ctx.advanced)
        st = rsp_error_set(err, RSP_ERR_STATE, 0, 0, "transaction %s moved on concurrently",
                           record->transaction_hex);
    return st;
}

rsp_status smdp_session_advance(smdp_inventory *inventory, const smdp_session_record *record,
                                int64_t expected_step, rsp_error *err)
{
    return advance(inventory, record, expected_step, false, err);
}

rsp_status smdp_session_advance_relaxed(smdp_inventory *inventory,
                                        const smdp_session_record *record, int64_t expected_step,
                                        rsp_error *err)
{
    return advance(inventory, record, expected_step, true, err);
}

rsp_status smdp_session_continue_on(store_conn *conn, const smdp_session_record *record,
                                    int64_t expected_step, bool *advanced, rsp_error *err)
{
    return step_forward(conn, record, expected_step, false, advanced, err);
}

/* The row stays, at step SMDP_SESSION_ENDED, until it expires: its transaction ID, still
 * within its lifetime, must not start a session again (smdp_session_resume). */
rsp_status smdp_session_end_on(store_conn *conn, const char *transaction_hex, rsp_error *err)
{
    const store_value params[] = {STORE_VALUE_TEXT(transaction_hex),
                                  STORE_VALUE_INT64(SMDP_SESSION_ENDED)};
    return store_exec(conn, "UPDATE smdp_sessions SET step = $2 WHERE transaction_id = $1", params,
                      2, NULL, err);
}

rsp_status smdp_session_exists_on(store_conn *conn, const char *transaction_hex, bool *exists,
                                  rsp_error *err)
{
    const store_value params[] = {STORE_VALUE_TEXT(transaction_hex)};
    int64_t one = 0;
    rsp_status st = store_query_int64(conn, "SELECT 1 FROM smdp_sessions WHERE transaction_id = $1",
                                      params, 1, &one, err);
    *exists = st == RSP_OK;
    return st == RSP_ERR_NOT_FOUND ? RSP_OK : st;
}

rsp_status smdp_sessions_end_for_profile_on(store_conn *conn, const char *iccid, rsp_error *err)
{
    const store_value params[] = {STORE_VALUE_TEXT(iccid), STORE_VALUE_INT64(SMDP_SESSION_ENDED)};
    return store_exec(conn, "UPDATE smdp_sessions SET step = $2 WHERE iccid = $1 AND step >= 0",
                      params, 2, NULL, err);
}

rsp_status smdp_storage_transaction_key(store *st, uint8_t key[32], rsp_error *err)
{
    uint8_t fresh[SMDP_TRANSACTION_KEY_SIZE];
    if (rsp_random_bytes(fresh, sizeof fresh) != RSP_OK)
        return rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "no random bytes for the transaction key");
    const store_value params[] = {STORE_VALUE_TEXT("transaction_key"),
                                  STORE_VALUE_BLOB(fresh, sizeof fresh)};
    /* The first process to start keeps its key; every later one reads it. */
    rsp_status status = store_pool_exec(st,
                                        "INSERT INTO smdp_secrets (name, value) VALUES ($1, $2)"
                                        " ON CONFLICT (name) DO NOTHING",
                                        params, 2, NULL, err);
    OPENSSL_cleanse(fresh, sizeof fresh);
    store_conn *conn = NULL;
    if (status == RSP_OK)
        status = store_borrow(st, &conn, err);
    store_stmt *stmt = NULL;
    if (status == RSP_OK)
        status = store_prepare(conn, "SELECT value FROM smdp_secrets WHERE name = $1", &stmt, err);
    bool row = false;
    if (status == RSP_OK)
        status = store_bind_text(stmt, 1, "transaction_key");
    if (status == RSP_OK)
        status = store_step(stmt, &row, err);
    size_t len = 0;
    const uint8_t *value = row ? store_column_blob(stmt, 0, &len) : NULL;
    if (status == RSP_OK && (value == NULL || len != SMDP_TRANSACTION_KEY_SIZE))
        status = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "smdp_secrets: bad transaction key");
    if (status == RSP_OK)
        memcpy(key, value, SMDP_TRANSACTION_KEY_SIZE);
    if (stmt != NULL)
        store_finish(stmt);
    store_return(conn);
    return status;
}

rsp_status smdp_session_delete(smdp_inventory *inventory, const char *transaction_hex,
                               rsp_error *err)
{
    const store_value params[] = {STORE_VALUE_TEXT(transaction_hex)};
    return store_pool_exec(inventory->store, "DELETE FROM smdp_sessions WHERE transaction_id = $1",
                           params, 1, NULL, err);
}

/* Whether query (one $1 parameter) returns a row: the periodic jobs look before they write, so
 * that an idle server commits (and syncs) nothing. */
static rsp_status any_row(store_conn *conn, const char *query, int64_t parameter, bool *found,
                          rsp_error *err)
{
    store_stmt *stmt = NULL;
    *found = false;
    rsp_status st = store_prepare(conn, query, &stmt, err);
    if (st == RSP_OK)
        st = store_bind_int64(stmt, 1, parameter);
    if (st == RSP_OK)
        st = store_step(stmt, found, err);
    if (stmt != NULL)
        store_finish(stmt);
    return st;
}

rsp_status smdp_session_expire(smdp_inventory *inventory, int64_t *deleted, rsp_error *err)
{
    store_conn *conn = NULL;
    bool expired = false;
    int64_t now = smdp_inventory_now(inventory);
    if (deleted != NULL)
        *deleted = 0;
    rsp_status st = store_borrow(inventory->store, &conn, err);
    if (st != RSP_OK)
        return st;
    st = any_row(conn, "SELECT 1 FROM smdp_sessions WHERE expires_at <= $1 LIMIT 1", now, &expired,
                 err);
    const store_value params[] = {STORE_VALUE_INT64(now)};
    if (st == RSP_OK && expired)
        st = store_exec(conn, "DELETE FROM smdp_sessions WHERE expires_at <= $1", params, 1,
                        deleted, err);
    store_return(conn);
    return st;
}

/* ---- notifications ---- */

/* An LPA retries a notification until it is acknowledged: a repeat is no error and, inside a
 * caller's transaction, must not abort it (PostgreSQL would), hence ON CONFLICT. */
rsp_status smdp_notification_record_on(store_conn *conn, const smdp_notification_entry *entry,
                                       int64_t now, rsp_error *err)
{
    const char *iccid = entry->iccid;
    const store_value params[] = {
        STORE_VALUE_TEXT(entry->eid),
        iccid != NULL && iccid[0] != '\0' ? STORE_VALUE_TEXT(iccid) : STORE_VALUE_NULL(),
        STORE_VALUE_INT64(entry->sequence_number),
        STORE_VALUE_INT64(entry->event),
        STORE_VALUE_BLOB(entry->data, entry->len),
        STORE_VALUE_INT64(now),
    };
    return store_exec(conn,
                      "INSERT INTO smdp_notifications (eid, iccid, sequence_number, event, data,"
                      " received_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                      params, 6, NULL, err);
}

rsp_status smdp_notification_record(smdp_inventory *inventory, const smdp_notification_entry *entry,
                                    rsp_error *err)
{
    store_conn *conn = NULL;
    rsp_status st = store_borrow(inventory->store, &conn, err);
    if (st == RSP_OK)
        st = smdp_notification_record_on(conn, entry, smdp_inventory_now(inventory), err);
    store_return(conn);
    return st;
}

rsp_status smdp_notification_count(smdp_inventory *inventory, const char *eid, int64_t *count,
                                   rsp_error *err)
{
    const store_value params[] = {STORE_VALUE_TEXT(eid != NULL ? eid : "")};
    return store_pool_query_int64(
        inventory->store, "SELECT COUNT(*) FROM smdp_notifications WHERE $1 = '' OR eid = $1",
        params, 1, count, err);
}

/* ---- outbox ---- */

void smdp_outbox_item_free(smdp_outbox_item *item)
{
    if (item == NULL)
        return;
    free(item->body);
    item->body = NULL;
}

typedef struct {
    smdp_inventory *inventory;
    size_t max;
    int64_t lease_seconds;
    smdp_outbox_item *items;
    size_t count;
} claim_context;

static void release_claimed(claim_context *ctx)
{
    for (size_t i = 0; i < ctx->count; i++)
        smdp_outbox_item_free(&ctx->items[i]);
    ctx->count = 0;
}

static rsp_status claim_in_transaction(store_conn *conn, void *context, rsp_error *err)
{
    claim_context *ctx = context;
    release_claimed(ctx);
    int64_t now = smdp_inventory_now(ctx->inventory);
    char sql[512];
    snprintf(sql, sizeof sql,
             "UPDATE smdp_outbox SET next_attempt_at = $1 WHERE id IN (SELECT id FROM smdp_outbox"
             " WHERE failed = 0 AND delivered_at IS NULL AND next_attempt_at <= $2 ORDER BY id"
             " LIMIT $3%s) RETURNING id, url, body, attempts",
             store_conn_dialect(conn) == STORE_DIALECT_POSTGRES ? " FOR UPDATE SKIP LOCKED" : "");
    store_stmt *stmt = NULL;
    rsp_status st = store_prepare(conn, sql, &stmt, err);
    const store_value params[] = {STORE_VALUE_INT64(now + ctx->lease_seconds),
                                  STORE_VALUE_INT64(now), STORE_VALUE_INT64((int64_t)ctx->max)};
    if (st == RSP_OK)
        st = store_bind_values(stmt, params, 3);
    bool has_row = false;
    while (st == RSP_OK && (st = store_step(stmt, &has_row, err)) == RSP_OK && has_row) {
        if (ctx->count == ctx->max)
            continue;
        smdp_outbox_item *item = &ctx->items[ctx->count];
        memset(item, 0, sizeof *item);
        item->id = store_column_int64(stmt, 0);
        copy_text(item->url, sizeof item->url, store_column_text(stmt, 1));
        const char *body = store_column_text(stmt, 2);
        item->body = strdup(body != NULL ? body : "");
        item->attempts = store_column_int64(stmt, 3);
        if (item->body == NULL)
            st = rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "outbox body");
        else
            ctx->count++;
    }
    if (stmt != NULL)
        store_finish(stmt);
    return st;
}

rsp_status smdp_outbox_claim(smdp_inventory *inventory, size_t max, int64_t lease_seconds,
                             smdp_outbox_item *items, size_t *count, rsp_error *err)
{
    claim_context ctx = {
        .inventory = inventory, .max = max, .lease_seconds = lease_seconds, .items = items};
    store_conn *conn = NULL;
    bool due = false;
    *count = 0;
    rsp_status st = store_borrow(inventory->store, &conn, err);
    if (st != RSP_OK)
        return st;
    st = any_row(conn,
                 "SELECT id FROM smdp_outbox WHERE failed = 0 AND delivered_at IS NULL AND"
                 " next_attempt_at <= $1 LIMIT 1",
                 smdp_inventory_now(inventory), &due, err);
    if (st == RSP_OK && due)
        st = store_transaction_on(conn, claim_in_transaction, &ctx, err);
    store_return(conn);
    if (st != RSP_OK)
        release_claimed(&ctx);
    *count = ctx.count;
    return st;
}

rsp_status smdp_outbox_done(smdp_inventory *inventory, int64_t id, bool delivered,
                            const char *error_text, unsigned max_attempts, rsp_error *err)
{
    rsp_status st = RSP_OK;
    int64_t now = smdp_inventory_now(inventory);
    if (delivered) {
        const store_value params[] = {STORE_VALUE_INT64(now), STORE_VALUE_INT64(id)};
        st = store_pool_exec(inventory->store,
                             "UPDATE smdp_outbox SET delivered_at = $1, attempts = attempts + 1,"
                             " last_error = NULL WHERE id = $2",
                             params, 2, NULL, err);
    } else {
        /* Back-off 1, 2, 4, ... seconds, at most 5 minutes, so a receiver that is down for a
         * while is not hammered, and one that comes back is reached soon. */
        const store_value params[] = {
            STORE_VALUE_INT64(now),
            STORE_VALUE_TEXT(error_text != NULL ? error_text : "failed"),
            STORE_VALUE_INT64(max_attempts > 0 ? max_attempts : 10),
            STORE_VALUE_INT64(id),
        };
        st = store_pool_exec(
            inventory->store,
            "UPDATE smdp_outbox SET attempts = attempts + 1, last_error = $2,"
            " next_attempt_at = $1 + CASE WHEN attempts >= 8 THEN 300"
            " ELSE (CAST(1 AS BIGINT) << CAST(attempts AS INTEGER)) END,"
            " failed = CASE WHEN attempts + 1 >= $3 THEN 1 ELSE 0 END WHERE id = $4",
            params, 4, NULL, err);
    }
    return st;
}

rsp_status smdp_outbox_pending(smdp_inventory *inventory, int64_t *count, rsp_error *err)
{
    return store_pool_query_int64(inventory->store,
                                  "SELECT COUNT(*) FROM smdp_outbox WHERE failed = 0 AND"
                                  " delivered_at IS NULL",
                                  NULL, 0, count, err);
}
