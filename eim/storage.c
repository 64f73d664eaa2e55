/* eIM storage: schema and the statements shared by the ESipa, REST and campaign code. */
#include "eim/storage.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/random.h"

/* One schema text for both dialects; only the key and blob types differ. */
#define EIM_SCHEMA_V1(ID, BLOB)                                                                    \
    "CREATE TABLE eim_tenants (id " ID ", name TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL);" \
    "CREATE TABLE eim_api_keys (key_id TEXT PRIMARY KEY, tenant_id BIGINT NOT NULL REFERENCES "    \
    "eim_tenants(id), secret_hash TEXT NOT NULL, created_at BIGINT NOT NULL, revoked INTEGER NOT " \
    "NULL DEFAULT 0);"                                                                             \
    "CREATE TABLE eim_devices (id " ID ", tenant_id BIGINT NOT NULL REFERENCES eim_tenants(id), "  \
    "eid TEXT NOT NULL UNIQUE, euicc_certificate " BLOB ", eum_certificate " BLOB ", "             \
    "counter BIGINT NOT NULL DEFAULT 0, association_token BIGINT, blocked INTEGER NOT NULL "       \
    "DEFAULT 0, sgp32_version TEXT, free_nvm BIGINT, profiles TEXT, eims TEXT, "                   \
    "default_smdp TEXT, last_seen BIGINT, created_at BIGINT NOT NULL);"                            \
    "CREATE INDEX eim_devices_tenant ON eim_devices (tenant_id, id);"                              \
    "CREATE TABLE eim_device_labels (device_id BIGINT NOT NULL REFERENCES eim_devices(id), "       \
    "name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (device_id, name));"                     \
    "CREATE INDEX eim_device_labels_value ON eim_device_labels (name, value, device_id);"          \
    "CREATE TABLE eim_campaigns (id " ID                                                           \
    ", tenant_id BIGINT NOT NULL REFERENCES eim_tenants(id), "                                     \
    "name TEXT NOT NULL, operation TEXT NOT NULL, state TEXT NOT NULL, rate_per_minute BIGINT "    \
    "NOT NULL, max_failure_permille BIGINT NOT NULL, min_results BIGINT NOT NULL, total BIGINT "   \
    "NOT NULL DEFAULT 0, released BIGINT NOT NULL DEFAULT 0, succeeded BIGINT NOT NULL DEFAULT "   \
    "0, failed BIGINT NOT NULL DEFAULT 0, cancelled BIGINT NOT NULL DEFAULT 0, release_credit "    \
    "BIGINT NOT NULL DEFAULT 0, last_release_at BIGINT NOT NULL DEFAULT 0, baseline_succeeded "    \
    "BIGINT NOT NULL DEFAULT 0, baseline_failed BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT " \
    "NULL, updated_at BIGINT NOT NULL);"                                                           \
    "CREATE TABLE eim_orders (id " ID ", tenant_id BIGINT NOT NULL, device_id BIGINT NOT NULL "    \
    "REFERENCES eim_devices(id), campaign_id BIGINT, kind TEXT NOT NULL, operation TEXT NOT "      \
    "NULL, body " BLOB " NOT NULL, state TEXT NOT NULL, counter_value BIGINT, transaction_id "     \
    "TEXT UNIQUE, package " BLOB ", smdp_address TEXT, summary TEXT, reason TEXT, created_at "     \
    "BIGINT NOT NULL, delivered_at BIGINT, finished_at BIGINT);"                                   \
    "CREATE INDEX eim_orders_open ON eim_orders (device_id, id) WHERE state IN "                   \
    "('pending', 'delivered');"                                                                    \
    "CREATE INDEX eim_orders_device ON eim_orders (device_id, id);"                                \
    "CREATE INDEX eim_orders_smdp ON eim_orders (smdp_address) WHERE state = 'delivered';"         \
    "CREATE INDEX eim_orders_campaign ON eim_orders (campaign_id, state, id);"                     \
    "CREATE TABLE eim_results (id " ID ", device_id BIGINT NOT NULL, order_id BIGINT, seq_number " \
    "BIGINT, result " BLOB " NOT NULL, received_at BIGINT NOT NULL);"                              \
    "CREATE UNIQUE INDEX eim_results_seq ON eim_results (device_id, seq_number);"                  \
    "CREATE TABLE eim_history (id " ID ", device_id BIGINT NOT NULL, event TEXT NOT NULL, detail " \
    "TEXT, at BIGINT NOT NULL);"                                                                   \
    "CREATE INDEX eim_history_device ON eim_history (device_id, id);"                              \
    "CREATE TABLE eim_audit (id " ID ", tenant_id BIGINT, key_id TEXT, action TEXT NOT NULL, "     \
    "target TEXT, detail TEXT, at BIGINT NOT NULL);"                                               \
    "CREATE INDEX eim_audit_tenant ON eim_audit (tenant_id, id);"                                  \
    "CREATE TABLE eim_webhooks (id " ID ", tenant_id BIGINT NOT NULL REFERENCES eim_tenants(id), " \
    "url TEXT NOT NULL, secret TEXT NOT NULL, created_at BIGINT NOT NULL);"                        \
    "CREATE TABLE eim_outbox (id " ID ", tenant_id BIGINT NOT NULL, event TEXT NOT NULL, "         \
    "idempotency_key TEXT NOT NULL UNIQUE, payload TEXT NOT NULL, attempts BIGINT NOT NULL "       \
    "DEFAULT 0, next_attempt_at BIGINT NOT NULL, delivered_at BIGINT, last_error TEXT);"           \
    "CREATE INDEX eim_outbox_due ON eim_outbox (next_attempt_at, id) WHERE delivered_at IS NULL;"  \
    "CREATE TABLE eim_relay_sessions (transaction_id TEXT PRIMARY KEY, device_id BIGINT, "         \
    "order_id BIGINT, smdp_address TEXT NOT NULL, created_at BIGINT NOT NULL, finished_at "        \
    "BIGINT)"

#define EIM_SCHEMA_V2(BLOB)                                                                        \
    "ALTER TABLE eim_devices ADD COLUMN euicc_key_curve TEXT;"                                     \
    "ALTER TABLE eim_devices ADD COLUMN euicc_key_point " BLOB ";"                                 \
    "ALTER TABLE eim_audit ADD COLUMN device_id BIGINT;"                                           \
    "CREATE INDEX eim_audit_device ON eim_audit (device_id, id) WHERE device_id IS NOT NULL;"      \
    "DROP TABLE eim_history;"                                                                      \
    "DROP INDEX eim_orders_campaign;"                                                              \
    "CREATE INDEX eim_orders_campaign ON eim_orders (campaign_id, state, id) WHERE campaign_id "   \
    "IS NOT NULL"

#define EIM_SCHEMA_V6(ID, BLOB)                                                                    \
    "CREATE TABLE eim_notification_outbox (id " ID ", device_id BIGINT, smdp_address TEXT NOT "    \
    "NULL, notification " BLOB " NOT NULL, digest TEXT NOT NULL UNIQUE, attempts BIGINT NOT NULL " \
    "DEFAULT 0, next_attempt_at BIGINT NOT NULL, delivered_at BIGINT, last_error TEXT, "           \
    "created_at BIGINT NOT NULL);"                                                                 \
    "CREATE INDEX eim_notification_outbox_due ON eim_notification_outbox (next_attempt_at, id) "   \
    "WHERE delivered_at IS NULL"

static const store_migration eim_migrations[] = {
    {.version = 1,
     .description = "eIM tenants, devices, orders, campaigns, audit, outbox",
     .sql_sqlite = EIM_SCHEMA_V1("INTEGER PRIMARY KEY", "BLOB"),
     .sql_postgres = EIM_SCHEMA_V1("BIGSERIAL PRIMARY KEY", "BYTEA")},
    /* The eUICC public key as its curve and point: building a key from a point costs a tenth
     * of parsing the certificate, on every result. Device history moves into the audit log
     * (one row per event instead of two), and orders outside campaigns leave the campaign
     * index alone: fewer pages written per hand-out and per result. */
    {.version = 2,
     .description = "eUICC key points; device events in the audit log",
     .sql_sqlite = EIM_SCHEMA_V2("BLOB"),
     .sql_postgres = EIM_SCHEMA_V2("BYTEA")},
    /* An order to create when this one succeeds (download, then enable with rollback). */
    {.version = 3,
     .description = "follow-up orders",
     .sql = "ALTER TABLE eim_orders ADD COLUMN follow_up TEXT"},
    /* The CI key identifiers the eUICC verifies with (EUICCInfo2), as last reported. */
    {.version = 4,
     .description = "eUICC CI keys",
     .sql = "ALTER TABLE eim_devices ADD COLUMN ci_keys TEXT"},
    /* Only orders naming an SM-DP+ (downloads) are looked up by address: eUICC Packages and
     * data requests stay out of the index, one page fewer written per hand-out and result. */
    {.version = 5,
     .description = "SM-DP+ index for download orders only",
     .sql = "DROP INDEX eim_orders_smdp;"
            "CREATE INDEX eim_orders_smdp ON eim_orders (smdp_address) WHERE state = 'delivered' "
            "AND smdp_address IS NOT NULL"},
    /* Notifications to forward to an SM-DP+ (HandleNotification), kept until the SM-DP+ took
     * them: the IPA's acknowledgement is the commit of this row, not the SM-DP+'s answer. The
     * digest (SHA-256 of the notification) makes a notification the IPA sends again a no-op. */
    {.version = 6,
     .description = "notification relay outbox",
     .sql_sqlite = EIM_SCHEMA_V6("INTEGER PRIMARY KEY", "BLOB"),
     .sql_postgres = EIM_SCHEMA_V6("BIGSERIAL PRIMARY KEY", "BYTEA")},
    /* A follow-up order names the order that started its chain (download, then enable, then
     * delete): that order stays "following" until the last link finished, so a campaign
     * member succeeds only when the whole chain did. */
    {.version = 7,
     .description = "follow-up chains",
     .sql = "ALTER TABLE eim_orders ADD COLUMN chain_root BIGINT"},
};

rsp_status eim_storage_migrate(store *st, rsp_error *err)
{
    return store_migrate(st, "eim", eim_migrations,
                         sizeof eim_migrations / sizeof eim_migrations[0], err);
}

int64_t eim_storage_now(void)
{
    return (int64_t)time(NULL);
}

const char *eim_storage_for_update(const store_conn *conn)
{
    return store_conn_dialect(conn) == STORE_DIALECT_POSTGRES ? " FOR UPDATE" : "";
}

const char *eim_storage_skip_locked(const store_conn *conn)
{
    return store_conn_dialect(conn) == STORE_DIALECT_POSTGRES ? " FOR UPDATE SKIP LOCKED" : "";
}

rsp_status eim_storage_claim_due(store_conn *conn, const char *table, const char *columns,
                                 int batch, int64_t lease_s, store_stmt **stmt, rsp_error *err)
{
    int64_t now = eim_storage_now();
    char sql[512];
    int n = snprintf(sql, sizeof sql,
                     "UPDATE %s SET next_attempt_at = $1 WHERE id IN (SELECT id FROM %s WHERE "
                     "delivered_at IS NULL AND next_attempt_at <= $2 ORDER BY next_attempt_at, id "
                     "LIMIT %d%s) RETURNING %s",
                     table, table, batch, eim_storage_skip_locked(conn), columns);
    if (n < 0 || (size_t)n >= sizeof sql)
        return rsp_error_set(err, RSP_ERR_BUFFER_TOO_SMALL, 0, 0,
                             "outbox claim statement too long");
    rsp_status status = store_prepare(conn, sql, stmt, err);
    if (status != RSP_OK)
        return status;
    store_bind_int64(*stmt, 1, now + lease_s);
    store_bind_int64(*stmt, 2, now);
    return RSP_OK;
}

rsp_status eim_storage_tenant_create(store_conn *conn, const char *name, int64_t *tenant_id,
                                     rsp_error *err)
{
    store_value params[] = {STORE_VALUE_TEXT(name), STORE_VALUE_INT64(eim_storage_now())};
    return store_query_int64(conn,
                             "INSERT INTO eim_tenants (name, created_at) VALUES ($1, $2) "
                             "RETURNING id",
                             params, 2, tenant_id, err);
}

static void sha256_hex(const char *text, char out[65])
{
    uint8_t digest[32];
    unsigned int len = 0;
    EVP_Digest(text, strlen(text), digest, &len, EVP_sha256(), NULL);
    for (size_t i = 0; i < sizeof digest; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

rsp_status eim_storage_api_key_create(store_conn *conn, int64_t tenant_id,
                                      char key_out[EIM_API_KEY_SIZE], rsp_error *err)
{
    uint8_t random[EIM_API_KEY_ID_SIZE / 2 + 32];
    if (rsp_random_bytes(random, sizeof random) != RSP_OK)
        return rsp_error_set(err, RSP_ERR_CRYPTO, 0, 0, "no random bytes for an API key");
    char key_id[EIM_API_KEY_ID_SIZE + 1];
    char secret[65];
    for (size_t i = 0; i < EIM_API_KEY_ID_SIZE / 2; i++)
        snprintf(key_id + 2 * i, 3, "%02x", random[i]);
    for (size_t i = 0; i < 32; i++)
        snprintf(secret + 2 * i, 3, "%02x", random[EIM_API_KEY_ID_SIZE / 2 + i]);
    char hash[65];
    sha256_hex(secret, hash);
    store_value params[] = {STORE_VALUE_TEXT(key_id), STORE_VALUE_INT64(tenant_id),
                            STORE_VALUE_TEXT(hash), STORE_VALUE_INT64(eim_storage_now())};
    rsp_status status = store_exec(conn,
                                   "INSERT INTO eim_api_keys (key_id, tenant_id, secret_hash, "
                                   "created_at) VALUES ($1, $2, $3, $4)",
                                   params, 4, NULL, err);
    if (status == RSP_OK)
        snprintf(key_out, EIM_API_KEY_SIZE, "%s.%s", key_id, secret);
    return status;
}

rsp_status eim_storage_api_key_check(store_conn *conn, const char *key, int64_t *tenant_id,
                                     char *key_id_out, rsp_error *err)
{
    const char *dot = key != NULL ? strchr(key, '.') : NULL;
    if (dot == NULL || dot - key != EIM_API_KEY_ID_SIZE || strlen(dot + 1) != 64)
        return rsp_error_set(err, RSP_ERR_VERIFY, 0, 0, "malformed API key");
    char key_id[EIM_API_KEY_ID_SIZE + 1];
    memcpy(key_id, key, EIM_API_KEY_ID_SIZE);
    key_id[EIM_API_KEY_ID_SIZE] = '\0';
    store_stmt *stmt = NULL;
    rsp_status status = store_prepare(conn,
                                      "SELECT tenant_id, secret_hash FROM eim_api_keys WHERE "
                                      "key_id = $1 AND revoked = 0",
                                      &stmt, err);
    if (status != RSP_OK)
        return status;
    store_bind_text(stmt, 1, key_id);
    bool has_row = false;
    status = store_step(stmt, &has_row, err);
    if (status == RSP_OK && !has_row)
        status = rsp_error_set(err, RSP_ERR_VERIFY, 0, 0, "unknown API key");
    if (status == RSP_OK) {
        char hash[65];
        sha256_hex(dot + 1, hash);
        const char *stored = store_column_text(stmt, 1);
        if (stored == NULL || strlen(stored) != 64 || CRYPTO_memcmp(stored, hash, 64) != 0) {
            status = rsp_error_set(err, RSP_ERR_VERIFY, 0, 0, "wrong API key");
        } else {
            *tenant_id = store_column_int64(stmt, 0);
            memcpy(key_id_out, key_id, sizeof key_id);
        }
    }
    store_finish(stmt);
    return status;
}

rsp_status eim_storage_audit(store_conn *conn, int64_t tenant_id, const char *key_id,
                             const char *action, const char *target, const char *detail,
                             rsp_error *err)
{
    store_value params[] = {
        tenant_id > 0 ? STORE_VALUE_INT64(tenant_id) : STORE_VALUE_NULL(),
        STORE_VALUE_TEXT(key_id),
        STORE_VALUE_TEXT(action),
        STORE_VALUE_TEXT(target),
        STORE_VALUE_TEXT(detail),
        STORE_VALUE_INT64(eim_storage_now()),
    };
    return store_exec(conn,
                      "INSERT INTO eim_audit (tenant_id, key_id, action, target, detail, at) "
                      "VALUES ($1, $2, $3, $4, $5, $6)",
                      params, 6, NULL, err);
}

rsp_status eim_storage_device_event(store_conn *conn, int64_t tenant_id, const char *key_id,
                                    int64_t device_id, const char *action, const char *target,
                                    const char *detail, rsp_error *err)
{
    store_value params[] = {
        STORE_VALUE_INT64(tenant_id),
        STORE_VALUE_TEXT(key_id),
        STORE_VALUE_INT64(device_id),
        STORE_VALUE_TEXT(action),
        STORE_VALUE_TEXT(target),
        STORE_VALUE_TEXT(detail),
        STORE_VALUE_INT64(eim_storage_now()),
    };
    return store_exec(conn,
                      "INSERT INTO eim_audit (tenant_id, key_id, device_id, action, target, "
                      "detail, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                      params, 7, NULL, err);
}

/* One audit row for a relaxed transaction of its own; device_id 0: not about a device. */
typedef struct {
    int64_t tenant_id;
    const char *key_id;
    int64_t device_id;
    const char *action;
    const char *target;
    const char *detail;
} audit_row;

static rsp_status audit_row_transaction(store_conn *conn, void *ctx, rsp_error *err)
{
    const audit_row *row = ctx;
    if (row->device_id == 0)
        return eim_storage_audit(conn, row->tenant_id, row->key_id, row->action, row->target,
                                 row->detail, err);
    return eim_storage_device_event(conn, row->tenant_id, row->key_id, row->device_id, row->action,
                                    row->target, row->detail, err);
}

rsp_status eim_storage_audit_relaxed(store_conn *conn, int64_t tenant_id, const char *key_id,
                                     const char *action, const char *target, const char *detail,
                                     rsp_error *err)
{
    audit_row row = {tenant_id, key_id, 0, action, target, detail};
    return store_transaction_relaxed_on(conn, audit_row_transaction, &row, err);
}

rsp_status eim_storage_device_event_relaxed(store_conn *conn, int64_t tenant_id, const char *key_id,
                                            int64_t device_id, const char *action,
                                            const char *target, const char *detail, rsp_error *err)
{
    audit_row row = {tenant_id, key_id, device_id, action, target, detail};
    return store_transaction_relaxed_on(conn, audit_row_transaction, &row, err);
}

rsp_status eim_storage_outbox_add(store_conn *conn, int64_t tenant_id, const char *event,
                                  const char *idempotency_key, const char *payload_json,
                                  rsp_error *err)
{
    /* Only tenants with an endpoint get events; the outbox holds nothing nobody will take. */
    store_value params[] = {STORE_VALUE_INT64(tenant_id), STORE_VALUE_TEXT(event),
                            STORE_VALUE_TEXT(idempotency_key), STORE_VALUE_TEXT(payload_json),
                            STORE_VALUE_INT64(eim_storage_now())};
    return store_exec(conn,
                      "INSERT INTO eim_outbox (tenant_id, event, idempotency_key, payload, "
                      "next_attempt_at) SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM "
                      "eim_webhooks WHERE tenant_id = $1) ON CONFLICT (idempotency_key) DO "
                      "NOTHING",
                      params, 5, NULL, err);
}

rsp_status eim_storage_order_create(store_conn *conn, const eim_order_spec *spec, int64_t *order_id,
                                    rsp_error *err)
{
    store_value params[] = {
        STORE_VALUE_INT64(spec->tenant_id),
        STORE_VALUE_INT64(spec->device_id),
        spec->campaign_id > 0 ? STORE_VALUE_INT64(spec->campaign_id) : STORE_VALUE_NULL(),
        STORE_VALUE_TEXT(spec->kind),
        STORE_VALUE_TEXT(spec->operation),
        STORE_VALUE_BLOB(spec->body, spec->body_len),
        STORE_VALUE_TEXT(spec->state),
        STORE_VALUE_TEXT(spec->smdp_address),
        STORE_VALUE_INT64(eim_storage_now()),
        STORE_VALUE_TEXT(spec->follow_up),
        spec->chain_root > 0 ? STORE_VALUE_INT64(spec->chain_root) : STORE_VALUE_NULL(),
    };
    return store_query_int64(conn,
                             "INSERT INTO eim_orders (tenant_id, device_id, campaign_id, kind, "
                             "operation, body, state, smdp_address, created_at, follow_up, "
                             "chain_root) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
                             "RETURNING id",
                             params, 11, order_id, err);
}

/* What the campaign, the chain and the webhook event of a finished order need, read back by
 * the UPDATE that finished it (no second read of the order). */
typedef struct {
    int64_t id;
    int64_t tenant_id;
    int64_t device_id;
    bool has_campaign;
    int64_t campaign_id;
    int64_t chain_root; /* 0: not a follow-up */
    char operation[64];
    char transaction_id[33];
    char state[16];
    char *summary;     /* owned */
    char *follow_up;   /* owned */
    bool has_webhooks; /* the tenant has an endpoint: only then is an event built */
} finished_order;

static void copy_column(store_stmt *stmt, int column, char *out, size_t size)
{
    const char *text = store_column_text(stmt, column);
    snprintf(out, size, "%s", text != NULL ? text : "");
}

static char *dup_column(store_stmt *stmt, int column)
{
    const char *text = store_column_text(stmt, column);
    return text != NULL ? strdup(text) : NULL;
}

static void finished_order_free(finished_order *order)
{
    free(order->summary);
    free(order->follow_up);
    order->summary = NULL;
    order->follow_up = NULL;
}

#define FINISHED_ORDER_COLUMNS                                                                     \
    "RETURNING id, tenant_id, device_id, campaign_id, chain_root, operation, transaction_id, "     \
    "state, summary, follow_up, (SELECT COUNT(*) FROM eim_webhooks WHERE eim_webhooks.tenant_id "  \
    "= eim_orders.tenant_id)"

/* Runs an UPDATE ending in FINISHED_ORDER_COLUMNS; *changed false when no row matched. */
static rsp_status finish_update(store_conn *conn, const char *sql, const store_value *params,
                                size_t count, finished_order *order, bool *changed, rsp_error *err)
{
    *changed = false;
    store_stmt *stmt = NULL;
    rsp_status status = store_prepare(conn, sql, &stmt, err);
    if (status != RSP_OK)
        return status;
    store_bind_values(stmt, params, count);
    bool has_row = false;
    status = store_step(stmt, &has_row, err);
    if (status == RSP_OK && has_row) {
        *changed = true;
        order->id = store_column_int64(stmt, 0);
        order->tenant_id = store_column_int64(stmt, 1);
        order->device_id = store_column_int64(stmt, 2);
        order->has_campaign = !store_column_is_null(stmt, 3);
        order->campaign_id = store_column_int64(stmt, 3);
        order->chain_root = store_column_int64(stmt, 4);
        copy_column(stmt, 5, order->operation, sizeof order->operation);
        copy_column(stmt, 6, order->transaction_id, sizeof order->transaction_id);
        copy_column(stmt, 7, order->state, sizeof order->state);
        order->summary = dup_column(stmt, 8);
        order->follow_up = dup_column(stmt, 9);
        order->has_webhooks = store_column_int64(stmt, 10) > 0;
    }
    store_finish(stmt);
    return status;
}

static rsp_status order_event(store_conn *conn, const finished_order *order, const char *reason,
                              const char *key_suffix, rsp_error *err)
{
    if (!order->has_webhooks)
        return RSP_OK; /* eim_storage_outbox_add would insert nothing */
    /* the EID is read only for an event: a finished order otherwise touches no device page */
    char eid[33] = "";
    store_stmt *stmt = NULL;
    rsp_status status =
        store_prepare(conn, "SELECT eid FROM eim_devices WHERE id = $1", &stmt, err);
    if (status != RSP_OK)
        return status;
    store_bind_int64(stmt, 1, order->device_id);
    bool has_row = false;
    status = store_step(stmt, &has_row, err);
    if (status == RSP_OK && has_row)
        copy_column(stmt, 0, eid, sizeof eid);
    store_finish(stmt);
    if (status != RSP_OK)
        return status;
    char *payload = NULL;
    size_t payload_len = 0;
    FILE *out = open_memstream(&payload, &payload_len);
    if (out == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "no memory for an event");
    /* Values are identifiers and JSON written by this program: no escaping needed except
     * the reason, which is a fixed code name. */
    fprintf(out,
            "{\"event\":\"order.finished\",\"orderId\":%lld,\"eid\":\"%s\",\"operation\":"
            "\"%s\",\"state\":\"%s\",\"campaignId\":%lld,\"transactionId\":\"%s\","
            "\"reason\":%s%s%s,\"summary\":%s}",
            (long long)order->id, eid, order->operation, order->state,
            (long long)order->campaign_id, order->transaction_id, reason != NULL ? "\"" : "",
            reason != NULL ? reason : "null", reason != NULL ? "\"" : "",
            order->summary != NULL ? order->summary : "null");
    fclose(out);
    char key[64];
    snprintf(key, sizeof key, "order-%lld%s", (long long)order->id, key_suffix);
    status = eim_storage_outbox_add(conn, order->tenant_id, "order.finished", key, payload, err);
    free(payload);
    return status;
}

/* A final state reached: campaign figures (a member counts once, when its chain is done) and
 * the webhook event. */
static rsp_status order_settled(store_conn *conn, const finished_order *order, const char *reason,
                                rsp_error *err)
{
    rsp_status status = RSP_OK;
    if (order->has_campaign) {
        bool failed = strcmp(order->state, "succeeded") != 0;
        store_value campaign_params[] = {
            STORE_VALUE_INT64(failed ? 0 : 1), STORE_VALUE_INT64(failed ? 1 : 0),
            STORE_VALUE_INT64(eim_storage_now()), STORE_VALUE_INT64(order->campaign_id)};
        status = store_exec(conn,
                            "UPDATE eim_campaigns SET succeeded = succeeded + $1, failed = failed "
                            "+ $2, updated_at = $3 WHERE id = $4",
                            campaign_params, 4, NULL, err);
    }
    if (status == RSP_OK)
        status = order_event(conn, order, reason, "", err);
    return status;
}

/* The order that started a chain takes the outcome of its last link (succeeded) or of the
 * link that failed (with that link's reason). */
static rsp_status chain_close(store_conn *conn, int64_t root_id, const char *state,
                              const char *reason, rsp_error *err)
{
    store_value params[] = {STORE_VALUE_TEXT(state), STORE_VALUE_TEXT(reason),
                            STORE_VALUE_INT64(eim_storage_now()), STORE_VALUE_INT64(root_id)};
    finished_order root = {0};
    bool changed = false;
    rsp_status status =
        finish_update(conn,
                      "UPDATE eim_orders SET state = $1, reason = $2, finished_at "
                      "= $3 WHERE id = $4 AND state = 'following' " FINISHED_ORDER_COLUMNS,
                      params, 4, &root, &changed, err);
    if (status == RSP_OK && changed)
        status = order_settled(conn, &root, reason, err);
    finished_order_free(&root);
    return status;
}

rsp_status eim_storage_order_finish(store_conn *conn, int64_t order_id, const char *state,
                                    const char *summary_json, const char *reason,
                                    eim_order_finished *out, rsp_error *err)
{
    memset(out, 0, sizeof *out);
    /* A succeeded order with a follow-up that started no chain yet becomes "following": the
     * owner's order is done when its last link is. */
    store_value params[] = {STORE_VALUE_TEXT(state), STORE_VALUE_TEXT(summary_json),
                            STORE_VALUE_TEXT(reason), STORE_VALUE_INT64(eim_storage_now()),
                            STORE_VALUE_INT64(order_id)};
    finished_order order = {0};
    rsp_status status = finish_update(
        conn,
        "UPDATE eim_orders SET state = CASE WHEN $1 = 'succeeded' AND follow_up IS NOT NULL AND "
        "chain_root IS NULL THEN 'following' ELSE $1 END, summary = $2, reason = $3, finished_at "
        "= $4 WHERE id = $5 AND state = 'delivered' " FINISHED_ORDER_COLUMNS,
        params, 5, &order, &out->changed, err);
    if (status != RSP_OK || !out->changed) {
        finished_order_free(&order);
        return status;
    }
    bool succeeded = strcmp(order.state, "failed") != 0;
    bool following = strcmp(order.state, "following") == 0;
    out->chain_root = following ? order.id : order.chain_root;
    if (succeeded && order.follow_up != NULL) {
        out->follow_up = order.follow_up; /* the caller orders the next link */
        order.follow_up = NULL;
    }
    if (!following)
        status = order_settled(conn, &order, reason, err);
    if (status == RSP_OK && !following && order.chain_root > 0 && out->follow_up == NULL)
        status = chain_close(conn, order.chain_root, order.state, reason, err);
    finished_order_free(&order);
    return status;
}

rsp_status eim_storage_chain_fail(store_conn *conn, int64_t chain_root, const char *reason,
                                  rsp_error *err)
{
    return chain_root > 0 ? chain_close(conn, chain_root, "failed", reason, err) : RSP_OK;
}

rsp_status eim_storage_order_rolled_back(store_conn *conn, int64_t order_id,
                                         const char *summary_json, const char *reason,
                                         bool *changed, rsp_error *err)
{
    store_value params[] = {STORE_VALUE_TEXT(summary_json), STORE_VALUE_TEXT(reason),
                            STORE_VALUE_INT64(eim_storage_now()), STORE_VALUE_INT64(order_id)};
    finished_order order = {0};
    rsp_status status = finish_update(conn,
                                      "UPDATE eim_orders SET state = 'failed', summary = $1, "
                                      "reason = $2, finished_at = $3 WHERE id = $4 AND state = "
                                      "'succeeded' " FINISHED_ORDER_COLUMNS,
                                      params, 4, &order, changed, err);
    if (status == RSP_OK && *changed && order.has_campaign) {
        /* counted as succeeded when the enable result came: moved to the failures */
        store_value campaign_params[] = {STORE_VALUE_INT64(eim_storage_now()),
                                         STORE_VALUE_INT64(order.campaign_id)};
        status = store_exec(conn,
                            "UPDATE eim_campaigns SET succeeded = succeeded - 1, failed = failed "
                            "+ 1, updated_at = $1 WHERE id = $2",
                            campaign_params, 2, NULL, err);
    }
    if (status == RSP_OK && *changed)
        status = order_event(conn, &order, reason, "-rollback", err);
    if (status == RSP_OK && *changed && order.chain_root > 0) {
        /* the links ordered after the enable must not run on the profile rolled back to */
        store_value links[] = {STORE_VALUE_INT64(eim_storage_now()),
                               STORE_VALUE_INT64(order.device_id),
                               STORE_VALUE_INT64(order.chain_root)};
        status = store_exec(conn,
                            "UPDATE eim_orders SET state = 'cancelled', finished_at = $1 WHERE "
                            "device_id = $2 AND chain_root = $3 AND state = 'pending'",
                            links, 3, NULL, err);
        if (status == RSP_OK)
            status = chain_close(conn, order.chain_root, "failed", reason, err);
    }
    finished_order_free(&order);
    return status;
}
