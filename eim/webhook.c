/* Webhooks: events written to the eim_outbox table in the same transaction as the change they
 * report, delivered by the worker with retries and exponential back-off.
 *
 * Delivery is at least once: a crash between the POST and the "delivered" mark sends the
 * event again, with the same X-Rspkit-Idempotency-Key, which consumers use to drop repeats.
 * Each POST is signed: X-Rspkit-Signature: sha256=<hex HMAC-SHA256(secret, timestamp "."
 * body)> with X-Rspkit-Timestamp, so a consumer can check origin and freshness. Several
 * processes share the outbox safely: a batch is claimed by pushing its next attempt time
 * forward (a lease) under FOR UPDATE SKIP LOCKED before any POST is made. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "eim/server_private.h"
#include "eim/storage.h"
#include "net/http_client.h"

#define WEBHOOK_BATCH        32
#define WEBHOOK_LEASE_S      60
#define WEBHOOK_MAX_ATTEMPTS 20
#define WEBHOOK_MAX_BACKOFF  3600

typedef struct {
    int64_t id;
    int64_t tenant_id;
    int64_t attempts;
    char event[48];
    char key[96];
    char *payload; /* owned */
} outbox_item;

static rsp_status claim_transaction(store_conn *conn, void *user, rsp_error *err)
{
    outbox_item *items = user;
    for (size_t i = 0; i < WEBHOOK_BATCH; i++) {
        free(items[i].payload);
        memset(&items[i], 0, sizeof items[i]);
    }
    store_stmt *stmt = NULL;
    rsp_status status = eim_storage_claim_due(
        conn, "eim_outbox", "id, tenant_id, attempts, event, idempotency_key, payload",
        WEBHOOK_BATCH, WEBHOOK_LEASE_S, &stmt, err);
    if (status != RSP_OK)
        return status;
    bool has_row = false;
    size_t n = 0;
    while (n < WEBHOOK_BATCH && (status = store_step(stmt, &has_row, err)) == RSP_OK && has_row) {
        outbox_item *item = &items[n++];
        item->id = store_column_int64(stmt, 0);
        item->tenant_id = store_column_int64(stmt, 1);
        item->attempts = store_column_int64(stmt, 2);
        snprintf(item->event, sizeof item->event, "%s", store_column_text(stmt, 3));
        snprintf(item->key, sizeof item->key, "%s", store_column_text(stmt, 4));
        item->payload = strdup(store_column_text(stmt, 5));
    }
    store_finish(stmt);
    return status;
}

static void sign(const char *secret, const char *timestamp, const char *payload, char out[65])
{
    size_t len = strlen(timestamp) + 1 + strlen(payload);
    char *message = malloc(len + 1);
    uint8_t mac[32];
    unsigned int mac_len = 0;
    out[0] = '\0';
    if (message == NULL)
        return;
    snprintf(message, len + 1, "%s.%s", timestamp, payload);
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const uint8_t *)message, len, mac,
             &mac_len) != NULL)
        for (unsigned i = 0; i < mac_len; i++)
            snprintf(out + 2 * i, 3, "%02x", mac[i]);
    free(message);
}

/* POSTs one event to every endpoint of its tenant; true when all answered 2xx. */
static bool deliver(store_conn *conn, const outbox_item *item, char *error, size_t error_size)
{
    store_stmt *stmt = NULL;
    rsp_error err = {0};
    if (store_prepare(conn, "SELECT url, secret FROM eim_webhooks WHERE tenant_id = $1", &stmt,
                      &err) != RSP_OK) {
        snprintf(error, error_size, "%s", err.message);
        return false;
    }
    store_bind_int64(stmt, 1, item->tenant_id);
    http_client_config config = {
        .connect_timeout_ms = 3000, .total_timeout_ms = 10000, .user_agent = "rspkit-eim-webhook"};
    http_client *client = http_client_new(&config, &err);
    bool ok = client != NULL, has_row = false;
    char timestamp[24];
    snprintf(timestamp, sizeof timestamp, "%lld", (long long)eim_storage_now());
    while (ok && store_step(stmt, &has_row, &err) == RSP_OK && has_row) {
        char signature[65], h_sig[96], h_key[128], h_event[80], h_time[48];
        sign(store_column_text(stmt, 1), timestamp, item->payload, signature);
        snprintf(h_sig, sizeof h_sig, "X-Rspkit-Signature: sha256=%s", signature);
        snprintf(h_key, sizeof h_key, "X-Rspkit-Idempotency-Key: %s", item->key);
        snprintf(h_event, sizeof h_event, "X-Rspkit-Event: %s", item->event);
        snprintf(h_time, sizeof h_time, "X-Rspkit-Timestamp: %s", timestamp);
        const char *headers[] = {h_sig, h_key, h_event, h_time, NULL};
        http_response response = {0};
        rsp_status st =
            http_client_post(client, store_column_text(stmt, 0), "application/json", item->payload,
                             strlen(item->payload), headers, &response, &err);
        ok = st == RSP_OK && response.status >= 200 && response.status < 300;
        if (!ok)
            snprintf(error, error_size, "%s: %s (HTTP %ld)", store_column_text(stmt, 0),
                     st == RSP_OK ? "refused" : err.message, response.status);
        http_response_free(&response);
    }
    store_finish(stmt);
    http_client_free(client);
    return ok;
}

typedef struct {
    const store_value *params; /* delivered_at, attempts, next_attempt_at, last_error, id */
} delivery_outcome;

static rsp_status record_outcome(store_conn *conn, void *ctx, rsp_error *err)
{
    const delivery_outcome *outcome = ctx;
    return store_exec(conn,
                      "UPDATE eim_outbox SET delivered_at = $1, attempts = $2, next_attempt_at = "
                      "$3, last_error = $4 WHERE id = $5",
                      outcome->params, 5, NULL, err);
}

void eim_webhook_deliver_due(eim_server *server)
{
    outbox_item items[WEBHOOK_BATCH] = {0};
    rsp_error err = {0};
    /* Relaxed, like the delivery outcome below: delivery is at least once (the receiver
     * deduplicates by idempotency key), so a lease or an outcome lost in a power cut only
     * brings a delivery again; the event itself was queued durably with its change. */
    if (store_transaction_relaxed(server->st, claim_transaction, items, &err) != RSP_OK) {
        LOG_WARN("eim", "webhook claim failed", LOG_STR("error", err.message));
    }
    store_conn *conn = NULL;
    if (items[0].payload != NULL && store_borrow(server->st, &conn, &err) == RSP_OK) {
        for (size_t i = 0; i < WEBHOOK_BATCH && items[i].payload != NULL; i++) {
            char error[256] = "";
            bool ok = deliver(conn, &items[i], error, sizeof error);
            int64_t attempts = items[i].attempts + 1;
            int64_t backoff = attempts >= 12 ? WEBHOOK_MAX_BACKOFF : (int64_t)1 << attempts;
            if (backoff > WEBHOOK_MAX_BACKOFF)
                backoff = WEBHOOK_MAX_BACKOFF;
            /* after the last attempt the event stays, undelivered, with its error: visible,
             * never retried again */
            int64_t next =
                attempts >= WEBHOOK_MAX_ATTEMPTS ? INT64_MAX / 2 : eim_storage_now() + backoff;
            store_value params[] = {ok ? STORE_VALUE_INT64(eim_storage_now()) : STORE_VALUE_NULL(),
                                    STORE_VALUE_INT64(attempts), STORE_VALUE_INT64(next),
                                    STORE_VALUE_TEXT(ok ? NULL : error),
                                    STORE_VALUE_INT64(items[i].id)};
            delivery_outcome outcome = {params};
            store_transaction_relaxed_on(conn, record_outcome, &outcome, &err);
            metrics_counter_add(ok ? &server->webhooks_delivered : &server->webhooks_failed, 1);
            if (!ok)
                LOG_WARN("eim", "webhook delivery failed", LOG_STR("key", items[i].key),
                         LOG_INT("attempts", attempts), LOG_STR("error", error));
        }
        store_return(conn);
    }
    for (size_t i = 0; i < WEBHOOK_BATCH; i++)
        free(items[i].payload);
}
