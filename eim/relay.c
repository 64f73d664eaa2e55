/* Indirect profile download: the eIM relays the ESipa download functions to the SM-DP+ as
 * ES9+ JSON (SGP.32 v1.2 sections 3.2.3 and 6.3.2.1 to 6.3.2.5; SGP.22 v2.5 section 6.5.2).
 *
 * The session (transactionId -> SM-DP+ address) is a database row, so a download continues
 * whichever TCP connection, or eIM process, the IPA's next request reaches. A session's SM-DP+
 * must be one that an order of this eIM named (a profile download order handed out and not
 * finished): the eIM is not an open proxy. Notifications go to the SM-DP+ they name when an
 * order handed to that device ever named it (or it is configured as trusted), through a
 * durable outbox retried until the SM-DP+ takes them. Signed values are passed through as the
 * exact bytes received, never re-encoded. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/sgp32.h"
#include "crypto/ecdsa.h"
#include "eim/server_private.h"
#include "eim/storage.h"
#include "net/http_client.h"
#include "net/json.h"
#include "net/json_http.h"

#define RELAY_UNDEFINED_ERROR 127

typedef struct {
    uint32_t tag;         /* ESipa request and response tag */
    const char *function; /* ES9+ function name */
    uint32_t error_tag;   /* tag of the error alternative in the ESipa response */
} relay_function;

static const relay_function relay_functions[] = {
    {0xBF39, "initiateAuthentication", 0x81},
    {0xBF3B, "authenticateClient", 0x82},
    {0xBF3A, "getBoundProfilePackage", 0x81},
    {0xBF41, "cancelSession", 0x81},
};

static rsp_status write_error(const relay_function *fn, int64_t code, der_writer *out)
{
    size_t mark = der_begin(out, fn->tag);
    der_put_int64(out, fn->error_tag, code);
    der_end(out, mark);
    return der_writer_status(out);
}

/* The download order an eimTransactionId names, with its device's state. */
typedef struct {
    bool found;
    int64_t order_id;
    int64_t device_id;
    int64_t tenant_id;
    bool blocked;
    char smdp_address[256];
} relay_order;

static rsp_status find_download_order(eim_server *server, const char *column, const char *value,
                                      int64_t device_id, relay_order *out, rsp_error *err)
{
    memset(out, 0, sizeof *out);
    store_conn *conn = NULL;
    rsp_status status = store_borrow(server->st, &conn, err);
    if (status != RSP_OK)
        return status;
    char sql[320];
    if (value != NULL)
        snprintf(sql, sizeof sql,
                 "SELECT o.id, d.id, d.tenant_id, d.blocked, o.smdp_address FROM eim_orders o "
                 "JOIN eim_devices d ON d.id = o.device_id WHERE o.%s = $1 AND o.kind = "
                 "'profileDownloadTrigger'",
                 column);
    else
        snprintf(sql, sizeof sql,
                 "SELECT 0, d.id, d.tenant_id, d.blocked, '' FROM eim_devices d WHERE d.id = $1");
    store_stmt *stmt = NULL;
    status = store_prepare(conn, sql, &stmt, err);
    if (status == RSP_OK) {
        if (value != NULL)
            store_bind_text(stmt, 1, value);
        else
            store_bind_int64(stmt, 1, device_id);
        status = store_step(stmt, &out->found, err);
        if (status == RSP_OK && out->found) {
            out->order_id = store_column_int64(stmt, 0);
            out->device_id = store_column_int64(stmt, 1);
            out->tenant_id = store_column_int64(stmt, 2);
            out->blocked = store_column_int64(stmt, 3) != 0;
            const char *address = store_column_text(stmt, 4);
            snprintf(out->smdp_address, sizeof out->smdp_address, "%s",
                     address != NULL ? address : "");
        }
        store_finish(stmt);
    }
    store_return(conn);
    return status;
}

/* The SM-DP+ of a session and, in one statement, the device it serves (device_id 0 when
 * unknown) with its state (device->found false when that device is not registered). */
static rsp_status session_lookup(eim_server *server, const char *txid, bool open_only,
                                 char *address, size_t size, relay_order *device, bool *found,
                                 rsp_error *err)
{
    memset(device, 0, sizeof *device);
    *found = false;
    store_conn *conn = NULL;
    rsp_status status = store_borrow(server->st, &conn, err);
    if (status != RSP_OK)
        return status;
    store_stmt *stmt = NULL;
#define SESSION_LOOKUP                                                                             \
    "SELECT s.smdp_address, s.device_id, d.id, d.tenant_id, d.blocked FROM eim_relay_sessions s "  \
    "LEFT JOIN eim_devices d ON d.id = s.device_id WHERE s.transaction_id = $1"
    status = store_prepare(
        conn, open_only ? SESSION_LOOKUP " AND s.finished_at IS NULL" : SESSION_LOOKUP, &stmt, err);
#undef SESSION_LOOKUP
    if (status == RSP_OK) {
        store_bind_text(stmt, 1, txid);
        status = store_step(stmt, found, err);
        if (status == RSP_OK && *found) {
            snprintf(address, size, "%s", store_column_text(stmt, 0));
            device->device_id = store_column_is_null(stmt, 1) ? 0 : store_column_int64(stmt, 1);
            device->found = !store_column_is_null(stmt, 2);
            device->tenant_id = device->found ? store_column_int64(stmt, 3) : 0;
            device->blocked = device->found && store_column_int64(stmt, 4) != 0;
        }
        store_finish(stmt);
    }
    store_return(conn);
    return status;
}

/* A refused relay request in the device's history. Durable (autocommit): the refusal is
 * its only trace, and refusals are rare enough that the log sync does not matter. */
static void device_event(eim_server *server, const relay_order *order, const char *action,
                         const char *target, const char *detail)
{
    store_conn *conn = NULL;
    rsp_error err = {0};
    if (!order->found || store_borrow(server->st, &conn, &err) != RSP_OK)
        return;
    eim_storage_device_event(conn, order->tenant_id, NULL, order->device_id, action, target, detail,
                             &err);
    store_return(conn);
}

static rsp_status address_allowed(eim_server *server, const char *address, bool *allowed,
                                  rsp_error *err)
{
    int64_t count = 0;
    store_value param = STORE_VALUE_TEXT(address);
    rsp_status status =
        store_pool_query_int64(server->st,
                               "SELECT COUNT(*) FROM (SELECT 1 FROM eim_orders WHERE "
                               "smdp_address = $1 AND state = 'delivered' LIMIT 1) AS x",
                               &param, 1, &count, err);
    *allowed = count > 0;
    return status;
}

/* What a relay session step writes: the session row at InitiateAuthentication (with the
 * device's relay.started history entry), or its finished marker. */
typedef struct {
    const char *txid;
    const char *address;
    const relay_order *order; /* NULL for the finished marker */
} relay_session_write;

static rsp_status session_write(store_conn *conn, void *user, rsp_error *err)
{
    const relay_session_write *w = user;
    int64_t now = eim_storage_now();
    if (w->order == NULL) {
        store_value params[] = {STORE_VALUE_TEXT(w->txid), STORE_VALUE_INT64(now)};
        return store_exec(conn,
                          "UPDATE eim_relay_sessions SET finished_at = $2 WHERE "
                          "transaction_id = $1",
                          params, 2, NULL, err);
    }
    bool known = w->order->found;
    store_value params[] = {
        STORE_VALUE_TEXT(w->txid),
        STORE_VALUE_TEXT(w->address),
        STORE_VALUE_INT64(now),
        known ? STORE_VALUE_INT64(w->order->device_id) : STORE_VALUE_NULL(),
        known ? STORE_VALUE_INT64(w->order->order_id) : STORE_VALUE_NULL(),
    };
    rsp_status status = store_exec(conn,
                                   "INSERT INTO eim_relay_sessions (transaction_id, smdp_address, "
                                   "created_at, device_id, order_id) VALUES ($1, $2, $3, $4, $5) "
                                   "ON CONFLICT (transaction_id) DO NOTHING",
                                   params, 5, NULL, err);
    if (status == RSP_OK && known)
        status = eim_storage_device_event(conn, w->order->tenant_id, NULL, w->order->device_id,
                                          "relay.started", w->address, NULL, err);
    return status;
}

/* SGP.32 v1.2 section 3.2.3: the relay session of one download. Relaxed commit: a session
 * row or finished marker lost to a power cut only makes the IPA's next ES9+ step answer
 * undefinedError (no session), after which the IPA cancels and the download starts over with
 * a new InitiateAuthentication; nothing acknowledged to anyone depends on it. */
static rsp_status session_save(eim_server *server, const char *txid, const char *address,
                               const relay_order *order, rsp_error *err)
{
    store_conn *conn = NULL;
    rsp_status status = store_borrow(server->st, &conn, err);
    if (status != RSP_OK)
        return status;
    relay_session_write write = {.txid = txid, .address = address, .order = order};
    status = store_transaction_relaxed_on(conn, session_write, &write, err);
    store_return(conn);
    return status;
}

/* Keep-alive towards the SM-DP+ servers: each thread keeps one HTTP client per (SM-DP+
 * address, trust file, timeout), so a fleet's calls reuse their TLS sessions instead of paying
 * a handshake (and a CA file load) per ES9+ call. libcurl handles are not thread safe, hence
 * per thread; the least recently used client goes when the bound is reached, and a thread's
 * clients are freed when it exits. */
#define RELAY_CLIENTS_PER_THREAD 8

typedef struct {
    http_client *client; /* owned */
    char address[256];
    char ca_file[256];
    long timeout_ms;
    uint64_t last_used;
} relay_client_slot;

typedef struct {
    relay_client_slot slots[RELAY_CLIENTS_PER_THREAD];
    uint64_t clock;
} relay_client_cache;

static pthread_key_t relay_cache_key;
static pthread_once_t relay_cache_once = PTHREAD_ONCE_INIT;

static void relay_cache_free(void *user)
{
    relay_client_cache *cache = user;
    for (size_t i = 0; i < RELAY_CLIENTS_PER_THREAD; i++)
        http_client_free(cache->slots[i].client);
    free(cache);
}

static void relay_cache_key_create(void)
{
    (void)pthread_key_create(&relay_cache_key, relay_cache_free);
}

static relay_client_cache *relay_cache_get(void)
{
    pthread_once(&relay_cache_once, relay_cache_key_create);
    relay_client_cache *cache = pthread_getspecific(relay_cache_key);
    if (cache == NULL) {
        cache = calloc(1, sizeof *cache);
        if (cache != NULL && pthread_setspecific(relay_cache_key, cache) != 0) {
            free(cache);
            cache = NULL;
        }
    }
    return cache;
}

/* The calling thread's client for address (created, or evicting the oldest, as needed); NULL
 * without memory. The slot stays owned by the cache. */
static relay_client_slot *relay_client_for(const http_client_config *config, const char *address,
                                           rsp_error *err)
{
    relay_client_cache *cache = relay_cache_get();
    if (cache == NULL) {
        rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "no memory for the relay client cache");
        return NULL;
    }
    const char *ca_file = config->ca_file != NULL ? config->ca_file : "";
    relay_client_slot *victim = &cache->slots[0];
    for (size_t i = 0; i < RELAY_CLIENTS_PER_THREAD; i++) {
        relay_client_slot *slot = &cache->slots[i];
        if (slot->client != NULL && strcmp(slot->address, address) == 0 &&
            strcmp(slot->ca_file, ca_file) == 0 && slot->timeout_ms == config->total_timeout_ms) {
            slot->last_used = ++cache->clock;
            return slot;
        }
        if (victim->client != NULL && (slot->client == NULL || slot->last_used < victim->last_used))
            victim = slot;
    }
    http_client_free(victim->client);
    memset(victim, 0, sizeof *victim);
    if (strlen(address) >= sizeof victim->address || strlen(ca_file) >= sizeof victim->ca_file) {
        rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "SM-DP+ address or CA path too long");
        return NULL;
    }
    victim->client = http_client_new(config, err);
    if (victim->client == NULL)
        return NULL;
    snprintf(victim->address, sizeof victim->address, "%s", address);
    snprintf(victim->ca_file, sizeof victim->ca_file, "%s", ca_file);
    victim->timeout_ms = config->total_timeout_ms;
    victim->last_used = ++cache->clock;
    return victim;
}

/* A connection that failed may be half closed: the next call starts afresh. */
static void relay_client_drop(relay_client_slot *slot)
{
    http_client_free(slot->client);
    memset(slot, 0, sizeof *slot);
}

/* The statusCodeData of an SM-DP+ refusal (SGP.22 v2.5 section 6.5.1.4), copied out of the
 * answer it is borrowed from; refused false when the SM-DP+ gave no answer. */
typedef struct {
    bool refused;
    char subject_code[16];
    char reason_code[16];
} es9_refusal;

static const char *es9_refusal_take(es9_refusal *refusal, const rsp_status_code_data *data)
{
    refusal->refused = true;
    snprintf(refusal->subject_code, sizeof refusal->subject_code, "%s",
             data->subject_code ? data->subject_code : "");
    snprintf(refusal->reason_code, sizeof refusal->reason_code, "%s",
             data->reason_code ? data->reason_code : "");
    return "SM-DP+ refused the request";
}

/* One SGP.22 ES9+ subjectCode/reasonCode pair and the ESipa error it becomes for a function;
 * a NULL reason matches any reason of the subject. */
typedef struct {
    uint32_t function_tag;
    const char *subject_code;
    const char *reason_code;
    int64_t esipa_error;
} es9_error_map;

/* SGP.22 v2.5 sections 5.6.1, 5.6.2, 5.6.3, 5.6.5 (ES9+ error codes) onto the error enums of
 * SGP.32 v1.2 sections 6.3.2.1 to 6.3.2.5 (ESipa responses). */
static const es9_error_map es9_errors[] = {
    {0xBF39, "8.8.1", "3.8", SGP32_INITIATE_AUTHENTICATION_ERROR_INVALID_DP_ADDRESS},
    {0xBF39, "8.8.2", "3.1", SGP32_INITIATE_AUTHENTICATION_ERROR_CI_PK_ID_NOT_SUPPORTED},
    {0xBF39, "8.8.3", "3.1", SGP32_INITIATE_AUTHENTICATION_ERROR_EUICC_VERSION_NOT_SUPPORTED_BY_DP},
    {0xBF39, "8.8.4", "3.7", SGP32_INITIATE_AUTHENTICATION_ERROR_CI_PK_ID_NOT_SUPPORTED},
    {0xBF3B, "8.1", "6.1", SGP32_AUTHENTICATE_CLIENT_ERROR_EUICC_SIGNATURE_INVALID},
    {0xBF3B, "8.1", "4.8", SGP32_AUTHENTICATE_CLIENT_ERROR_INSUFFICIENT_MEMORY},
    {0xBF3B, "8.1.2", "6.1", SGP32_AUTHENTICATE_CLIENT_ERROR_EUM_CERTIFICATE_INVALID},
    {0xBF3B, "8.1.2", "6.3", SGP32_AUTHENTICATE_CLIENT_ERROR_EUM_CERTIFICATE_EXPIRED},
    {0xBF3B, "8.1.3", "6.1", SGP32_AUTHENTICATE_CLIENT_ERROR_EUICC_CERTIFICATE_INVALID},
    {0xBF3B, "8.1.3", "6.3", SGP32_AUTHENTICATE_CLIENT_ERROR_EUICC_CERTIFICATE_EXPIRED},
    {0xBF3B, "8.1.1", NULL, SGP32_AUTHENTICATE_CLIENT_ERROR_EID_MISMATCH},
    {0xBF3B, "8.2.6", NULL, SGP32_AUTHENTICATE_CLIENT_ERROR_MATCHING_ID_REFUSED},
    {0xBF3B, "8.2.5", "4.3", SGP32_AUTHENTICATE_CLIENT_ERROR_NO_ELIGIBLE_PROFILE},
    {0xBF3B, "8.2", "1.2", SGP32_AUTHENTICATE_CLIENT_ERROR_NO_ELIGIBLE_PROFILE},
    {0xBF3B, "8.11.1", "3.9", SGP32_AUTHENTICATE_CLIENT_ERROR_CI_PK_UNKNOWN},
    {0xBF3B, "8.10.1", "3.9", SGP32_AUTHENTICATE_CLIENT_ERROR_INVALID_TRANSACTION_ID},
    {0xBF3A, "8.1", "6.1", SGP32_GET_BOUND_PROFILE_PACKAGE_ERROR_EUICC_SIGNATURE_INVALID},
    {0xBF3A, "8.2.7", "2.2", SGP32_GET_BOUND_PROFILE_PACKAGE_ERROR_CONFIRMATION_CODE_MISSING},
    {0xBF3A, "8.2.7", "3.8", SGP32_GET_BOUND_PROFILE_PACKAGE_ERROR_CONFIRMATION_CODE_REFUSED},
    {0xBF3A, "8.2.7", "6.4",
     SGP32_GET_BOUND_PROFILE_PACKAGE_ERROR_CONFIRMATION_CODE_RETRIES_EXCEEDED},
    {0xBF3A, "8.2", "3.7", SGP32_GET_BOUND_PROFILE_PACKAGE_ERROR_BPP_REBINDING_REFUSED},
    {0xBF3A, "8.8.5", "4.10", SGP32_GET_BOUND_PROFILE_PACKAGE_ERROR_DOWNLOAD_ORDER_EXPIRED},
    {0xBF3A, "8.10.1", "3.9", SGP32_GET_BOUND_PROFILE_PACKAGE_ERROR_INVALID_TRANSACTION_ID},
    {0xBF41, "8.10.1", "3.9", SGP32_CANCEL_SESSION_ERROR_INVALID_TRANSACTION_ID},
    {0xBF41, "8.1", "6.1", SGP32_CANCEL_SESSION_ERROR_EUICC_SIGNATURE_INVALID},
};

/* The ESipa error for the SM-DP+'s answer: undefinedError (which the IPA treats as transient
 * and sends again) only when the SM-DP+ gave no answer or a code without an ESipa
 * equivalent; a specific refusal is final and must not be counted twice by the SM-DP+. */
static int64_t esipa_error_of(const relay_function *fn, const es9_refusal *refusal)
{
    for (size_t i = 0; refusal->refused && i < sizeof es9_errors / sizeof es9_errors[0]; i++) {
        const es9_error_map *e = &es9_errors[i];
        if (e->function_tag == fn->tag && strcmp(e->subject_code, refusal->subject_code) == 0 &&
            (e->reason_code == NULL || strcmp(e->reason_code, refusal->reason_code) == 0))
            return e->esipa_error;
    }
    return RELAY_UNDEFINED_ERROR;
}

/* POSTs one ES9+ call; false when the SM-DP+ could not be reached or answered something that
 * is not a successful ES9+ response (then *reason says why). *response is the answer body
 * (NULL for 204 No Content, which SGP.22 v2.5 section 6.5.1 allows for functions without
 * output data, e.g. handleNotification: then no_content_ok makes it a success). */
static bool es9_call(eim_server *server, const char *address, const char *function,
                     bool no_content_ok, const json_t *request, json_t **response,
                     const char **reason, es9_refusal *refusal)
{
    *response = NULL;
    *reason = NULL;
    memset(refusal, 0, sizeof *refusal);
    metrics_counter_add(&server->relay_calls, 1);
    http_client_config config = {
        .ca_file = server->config.smdp_ca_file,
        .total_timeout_ms =
            server->config.relay_timeout_ms > 0 ? server->config.relay_timeout_ms : 30000,
        .max_response = 16u * 1024u * 1024u,
        .user_agent = "rspkit-eim",
    };
    rsp_error err = {0};
    relay_client_slot *slot = relay_client_for(&config, address, &err);
    char url[512];
    snprintf(url, sizeof url, "https://%s/gsma/rsp2/es9plus/%s", address, function);
    long http_status = 0;
    json_t *body = NULL;
    if (slot == NULL ||
        rsp_json_call(slot->client, url, request, RSP_ADMIN_PROTOCOL_SGP22_V2_5, NULL,
                      config.max_response, &http_status, &body, NULL, &err) != RSP_OK) {
        *reason = "SM-DP+ unreachable";
        if (slot != NULL)
            relay_client_drop(slot);
    } else if (http_status == 204 && body == NULL && no_content_ok) {
        /* success without output data */
    } else if (http_status != 200 || body == NULL) {
        *reason = http_status == 200 || http_status == 204 ? "SM-DP+ answered without a body"
                                                           : "SM-DP+ answered with an HTTP error";
    } else {
        rsp_execution_status execution;
        rsp_status_code_data data;
        if (rsp_json_parse_response_header(body, &execution, &data, &err) != RSP_OK)
            *reason = "SM-DP+ answer has no valid header";
        else if (execution != RSP_EXECUTION_SUCCESS && execution != RSP_EXECUTION_WITH_WARNING)
            *reason = es9_refusal_take(refusal, &data);
    }
    if (*reason == NULL) {
        *response = body;
        return true;
    }
    metrics_counter_add(&server->relay_failures, 1);
    LOG_WARN("eim", "relay call failed", LOG_STR("function", function), LOG_STR("smdp", address),
             LOG_STR("why", *reason), LOG_INT("http", http_status), LOG_STR("detail", err.message));
    json_decref(body);
    return false;
}

/* Forwards one relayed ESipa call to the SM-DP+ as ES9+ fn->function and frees request. When
 * the SM-DP+ answers, *response is its body (the caller owns it); otherwise *response stays NULL
 * and out already holds the ESipa error mapped from the refusal, which the caller returns. */
static rsp_status relay_forward(eim_server *server, const char *address, const relay_function *fn,
                                json_t *request, json_t **response, der_writer *out)
{
    const char *reason = NULL;
    es9_refusal refusal;
    bool answered =
        es9_call(server, address, fn->function, false, request, response, &reason, &refusal);
    json_decref(request);
    return answered ? RSP_OK : write_error(fn, esipa_error_of(fn, &refusal), out);
}

/* Appends the base64 field `name` of response as raw DER (it is a whole TLV). */
static rsp_status put_base64_field(const json_t *response, const char *name, bool required,
                                   der_writer *out, rsp_error *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    bool present = false;
    rsp_status status = rsp_json_get_base64(response, name, required, 16u * 1024u * 1024u, &data,
                                            &len, &present, err);
    if (status == RSP_OK && present) {
        der_tlv tlv;
        status = der_parse_single(der_view_make(data, len), &tlv, err);
        if (status == RSP_OK)
            der_put_raw(out, data, len);
    }
    free(data);
    return status;
}

static rsp_status put_transaction_id(const json_t *response, der_writer *out, char *hex,
                                     size_t hex_size, rsp_error *err)
{
    uint8_t txid[16];
    size_t len = 0;
    rsp_status status = rsp_json_get_hex(response, "transactionId", true, 1, 16, txid, sizeof txid,
                                         &len, NULL, err);
    if (status == RSP_OK) {
        der_put_tlv(out, 0x80, txid, len);
        if (hex != NULL && hex_size >= 2 * len + 1)
            der_hex_encode(txid, len, hex, true);
    }
    return status;
}

/* Child TLV with tag in a constructed TLV; false when absent. */
static bool child(const der_tlv *parent, uint32_t tag, der_tlv *out)
{
    der_reader reader;
    rsp_error ignored = {0};
    if (der_reader_enter(parent, 0, &reader, &ignored) != RSP_OK)
        return false;
    while (!der_reader_at_end(&reader)) {
        if (der_reader_next(&reader, out, &ignored) != RSP_OK)
            return false;
        if (out->tag == tag)
            return true;
    }
    return false;
}

/* SGP.32 v1.2 section 6.3.2.1: InitiateAuthentication relayed as ES9+.InitiateAuthentication */
static rsp_status relay_initiate(eim_server *server, const der_tlv *request, der_writer *out,
                                 rsp_error *err)
{
    const relay_function *fn = &relay_functions[0];
    der_tlv challenge, address_tlv, info1;
    if (!child(request, 0x81, &challenge) || !child(request, 0xBF20, &info1))
        return rsp_error_set(err, RSP_ERR_MISSING_FIELD, 0xBF39, request->offset,
                             "InitiateAuthenticationRequestEsipa needs euiccChallenge and "
                             "euiccInfo1 for the relay");
    if (!child(request, 0x83, &address_tlv) || address_tlv.value.len == 0 ||
        address_tlv.value.len > 255)
        return write_error(fn, 1 /* invalidDpAddress */, out);
    char address[256];
    memcpy(address, address_tlv.value.data, address_tlv.value.len);
    address[address_tlv.value.len] = '\0';
    /* With the eimTransactionId of the trigger the session belongs to that order's device,
     * whose SM-DP+ it must be; without it, any SM-DP+ of a handed-out download order. */
    relay_order order = {0};
    der_tlv eim_txid;
    bool allowed = false;
    rsp_status status;
    if (child(request, 0x82, &eim_txid) && eim_txid.value.len > 0 && eim_txid.value.len <= 16) {
        char hex[33];
        der_hex_encode(eim_txid.value.data, eim_txid.value.len, hex, true);
        status = find_download_order(server, "transaction_id", hex, 0, &order, err);
        allowed = order.found && !order.blocked && strcmp(order.smdp_address, address) == 0;
        if (status == RSP_OK && order.found && !allowed)
            device_event(server, &order, "relay.refused", address,
                         order.blocked ? "{\"why\":\"device is blocked\"}"
                                       : "{\"why\":\"SM-DP+ of another order\"}");
    } else {
        status = address_allowed(server, address, &allowed, err);
    }
    if (status != RSP_OK)
        return status;
    if (!allowed) {
        LOG_WARN("eim", "relay refused", LOG_STR("smdp", address));
        return write_error(fn, order.blocked ? RELAY_UNDEFINED_ERROR : 1 /* invalidDpAddress */,
                           out);
    }
    json_t *json = json_object();
    json_object_set_new(json, "smdpAddress", json_string(address));
    rsp_json_set_base64(json, "euiccChallenge", challenge.value.data, challenge.value.len);
    rsp_json_set_base64(json, "euiccInfo1", info1.whole.data, info1.whole.len);
    json_t *response = NULL;
    status = relay_forward(server, address, fn, json, &response, out);
    if (response == NULL)
        return status;
    char txid[33] = "";
    size_t outer = der_begin(out, fn->tag);
    size_t ok = der_begin(out, 0xA0);
    status = put_transaction_id(response, out, txid, sizeof txid, err);
    static const char *const fields[] = {"serverSigned1", "serverSignature1", "euiccCiPKIdToBeUsed",
                                         "serverCertificate"};
    for (size_t i = 0; i < 4 && status == RSP_OK; i++)
        status = put_base64_field(response, fields[i], true, out, err);
    der_end(out, ok);
    der_end(out, outer);
    json_decref(response);
    if (status == RSP_OK)
        status = session_save(server, txid, address, &order, err);
    return status == RSP_OK ? der_writer_status(out) : status;
}

/* SGP.32 v1.2 sections 6.3.2.2, 6.3.2.3, 6.3.2.5: the calls inside a relay session. */
static rsp_status relay_in_session(eim_server *server, const relay_function *fn,
                                   const der_tlv *request, der_writer *out, rsp_error *err)
{
    der_tlv txid_tlv, payload;
    uint32_t payload_tag = fn->tag == 0xBF3B ? 0xBF38 : fn->tag == 0xBF3A ? 0xBF21 : 0xA1;
    if (!child(request, 0x80, &txid_tlv) || txid_tlv.value.len == 0 || txid_tlv.value.len > 16 ||
        !child(request, payload_tag, &payload))
        return rsp_error_set(err, RSP_ERR_MISSING_FIELD, fn->tag, request->offset,
                             "relay request without transactionId or payload");
    char txid[33];
    der_hex_encode(txid_tlv.value.data, txid_tlv.value.len, txid, true);
    char address[256];
    bool found = false;
    relay_order device;
    rsp_status status =
        session_lookup(server, txid, true, address, sizeof address, &device, &found, err);
    if (status != RSP_OK)
        return status;
    if (!found || device.blocked) {
        if (device.blocked)
            device_event(server, &device, "relay.refused", address,
                         "{\"why\":\"device is blocked\"}");
        return write_error(fn, RELAY_UNDEFINED_ERROR, out);
    }
    json_t *json = json_object();
    json_object_set_new(json, "transactionId", json_string(txid));
    if (fn->tag == 0xBF41) {
        /* [1] CancelSessionResponse in ESipa; ES9+ carries it with its own tag BF41 */
        der_writer wrapped;
        der_writer_init_dynamic(&wrapped, NULL);
        der_put_tlv(&wrapped, 0xBF41, payload.value.data, payload.value.len);
        rsp_json_set_base64(json, "cancelSessionResponse", wrapped.buf, wrapped.len);
        der_writer_free(&wrapped);
    } else {
        rsp_json_set_base64(
            json, fn->tag == 0xBF3B ? "authenticateServerResponse" : "prepareDownloadResponse",
            payload.whole.data, payload.whole.len);
    }
    json_t *response = NULL;
    status = relay_forward(server, address, fn, json, &response, out);
    if (response == NULL)
        return status;
    size_t outer = der_begin(out, fn->tag);
    size_t ok = der_begin(out, 0xA0);
    if (fn->tag == 0xBF3B) {
        status = put_transaction_id(response, out, NULL, 0, err);
        static const char *const fields[] = {"profileMetadata", "smdpSigned2", "smdpSignature2",
                                             "smdpCertificate"};
        for (size_t i = 0; i < 4 && status == RSP_OK; i++)
            status = put_base64_field(response, fields[i], i != 0, out, err);
    } else if (fn->tag == 0xBF3A) {
        status = put_transaction_id(response, out, NULL, 0, err);
        if (status == RSP_OK)
            status = put_base64_field(response, "boundProfilePackage", true, out, err);
    }
    der_end(out, ok);
    der_end(out, outer);
    json_decref(response);
    if (status == RSP_OK && fn->tag != 0xBF3B)
        status = session_save(server, txid, address, NULL, err);
    return status == RSP_OK ? der_writer_status(out) : status;
}

/* Whether the eIM may forward to address for device_id (0: device unknown): a configured
 * trusted SM-DP+, or one that an order handed to that device named. The eIM is no open proxy,
 * but a notification about a profile the eIM had installed (install result after the order
 * finished, enable, disable, delete) is forwarded whatever orders are in flight. */
static rsp_status notification_address_allowed(eim_server *server, int64_t device_id,
                                               const char *address, bool *allowed, rsp_error *err)
{
    *allowed = false;
    for (size_t i = 0; i < server->config.trusted_smdp_count; i++)
        if (strcmp(server->config.trusted_smdp[i], address) == 0)
            *allowed = true;
    if (*allowed || device_id <= 0)
        return RSP_OK;
    int64_t count = 0;
    store_value params[] = {STORE_VALUE_INT64(device_id), STORE_VALUE_TEXT(address)};
    rsp_status status = store_pool_query_int64(
        server->st,
        "SELECT COUNT(*) FROM (SELECT 1 FROM eim_orders WHERE device_id = "
        "$1 AND smdp_address = $2 AND delivered_at IS NOT NULL LIMIT 1) AS x",
        params, 2, &count, err);
    *allowed = count > 0;
    return status;
}

/* The device an eUICC certificate names (its EID), 0 when unknown to this eIM. */
static rsp_status device_of_certificate(eim_server *server, der_view certificate,
                                        int64_t *device_id, rsp_error *err)
{
    *device_id = 0;
    rsp_certificate *cert = NULL;
    char eid[RSP_EID_STRING_SIZE];
    rsp_error ignored = {0};
    if (certificate.len == 0 ||
        rsp_certificate_from_der(certificate.data, certificate.len, &cert, &ignored) != RSP_OK)
        return RSP_OK;
    bool named = rsp_certificate_eid(cert, eid, &ignored) == RSP_OK;
    rsp_certificate_free(cert);
    if (!named)
        return RSP_OK;
    store_value param = STORE_VALUE_TEXT(eid);
    rsp_status status = store_pool_query_int64(
        server->st, "SELECT id FROM eim_devices WHERE eid = $1", &param, 1, device_id, err);
    if (status == RSP_ERR_NOT_FOUND) {
        *err = (rsp_error){0};
        status = RSP_OK;
    }
    return status;
}

/* The device a profile installation result belongs to: its relay session's, with its state
 * (device->device_id 0 when unknown). */
static rsp_status device_of_session(eim_server *server, der_view transaction_id,
                                    relay_order *device, rsp_error *err)
{
    memset(device, 0, sizeof *device);
    if (transaction_id.len == 0 || transaction_id.len > 16)
        return RSP_OK;
    char hex[33], session_smdp[256];
    bool found = false;
    der_hex_encode(transaction_id.data, transaction_id.len, hex, true);
    return session_lookup(server, hex, false, session_smdp, sizeof session_smdp, device, &found,
                          err);
}

#define RELAY_NOTIFICATION_BATCH       16
#define RELAY_NOTIFICATION_LEASE_S     60
#define RELAY_NOTIFICATION_MAX_BACKOFF 600

/* One outbox row being forwarded. */
typedef struct {
    int64_t id;
    int64_t attempts;
    char address[256];
    uint8_t *notification; /* owned */
    size_t notification_len;
} relay_outbox_item;

/* The outcome of one forwarding attempt, as the outbox row records it. */
typedef struct {
    int64_t id;
    bool delivered;
    int64_t attempts;
    int64_t next_attempt_at;
    const char *reason;
} relay_outbox_outcome;

/* SGP.22 v2.5 section 6.5.2.4 (ES9+.HandleNotification): one forwarding attempt; on failure
 * the next one comes with exponential back-off (capped, never given up: a notification is
 * never lost). */
static relay_outbox_outcome outbox_attempt(eim_server *server, const char *address,
                                           der_view notification, int64_t previous_attempts)
{
    json_t *json = json_object();
    rsp_json_set_base64(json, "pendingNotification", notification.data, notification.len);
    json_t *response = NULL;
    const char *reason = NULL;
    es9_refusal refusal;
    bool ok =
        es9_call(server, address, "handleNotification", true, json, &response, &reason, &refusal);
    json_decref(json);
    json_decref(response);
    int64_t attempts = previous_attempts + 1;
    int64_t backoff = attempts >= 10 ? RELAY_NOTIFICATION_MAX_BACKOFF : (int64_t)1 << attempts;
    if (backoff > RELAY_NOTIFICATION_MAX_BACKOFF)
        backoff = RELAY_NOTIFICATION_MAX_BACKOFF;
    return (relay_outbox_outcome){.delivered = ok,
                                  .attempts = attempts,
                                  .next_attempt_at = eim_storage_now() + backoff,
                                  .reason = reason};
}

static rsp_status outbox_record_outcome(store_conn *conn, void *user, rsp_error *err)
{
    const relay_outbox_outcome *o = user;
    store_value params[] = {o->delivered ? STORE_VALUE_INT64(eim_storage_now())
                                         : STORE_VALUE_NULL(),
                            STORE_VALUE_INT64(o->attempts), STORE_VALUE_INT64(o->next_attempt_at),
                            STORE_VALUE_TEXT(o->reason), STORE_VALUE_INT64(o->id)};
    return store_exec(conn,
                      "UPDATE eim_notification_outbox SET delivered_at = $1, attempts = $2, "
                      "next_attempt_at = $3, last_error = $4 WHERE id = $5",
                      params, 5, NULL, err);
}

/* The worker's retry of a claimed row. Relaxed commit: an outcome lost to a power cut leaves
 * the row undelivered, so the worker forwards it again: a repeated ES9+.HandleNotification
 * (SGP.22 v2.5 section 5.6.4) changes nothing at the SM-DP+ and is acknowledged like the first
 * (smdp/es9plus.c answers every well-formed one 204); a lost back-off only brings the retry
 * forward. */
static void outbox_forward(eim_server *server, const relay_outbox_item *item)
{
    relay_outbox_outcome outcome =
        outbox_attempt(server, item->address,
                       der_view_make(item->notification, item->notification_len), item->attempts);
    outcome.id = item->id;
    store_conn *conn = NULL;
    rsp_error err = {0};
    if (store_borrow(server->st, &conn, &err) == RSP_OK) {
        store_transaction_relaxed_on(conn, outbox_record_outcome, &outcome, &err);
        store_return(conn);
    }
    if (err.code != RSP_OK)
        LOG_WARN("eim", "notification outbox update failed", LOG_STR("error", err.message));
}

/* Everything one received notification writes, committed together: what was forwarded (see
 * eim_relay_forwarded) and, for a notification the relay resolved itself, its device's
 * history entry. */
typedef struct {
    const eim_relay_forwarded *forwarded;
    const relay_order *device; /* history entry when found; NULL: the caller writes it */
} relay_notification_write;

/* The outbox row with the outcome of the forwarding attempt (a repeat is a no-op) and the audit
 * record: the eIM's record of one forwarded notification. */
rsp_status eim_relay_notification_record(store_conn *conn, const eim_relay_forwarded *f,
                                         rsp_error *err)
{
    int64_t now = eim_storage_now();
    rsp_status status = RSP_OK;
    if (f->allowed && f->forwarded) {
        store_value params[] = {
            f->device_id > 0 ? STORE_VALUE_INT64(f->device_id) : STORE_VALUE_NULL(),
            STORE_VALUE_TEXT(f->address),
            STORE_VALUE_BLOB(f->notification.data, f->notification.len),
            STORE_VALUE_TEXT(f->digest_hex),
            STORE_VALUE_INT64(f->next_attempt_at),
            STORE_VALUE_INT64(now),
            f->delivered ? STORE_VALUE_INT64(now) : STORE_VALUE_NULL(),
            STORE_VALUE_INT64(f->attempts),
            STORE_VALUE_TEXT(f->reason),
        };
        status = store_exec(conn,
                            "INSERT INTO eim_notification_outbox (device_id, smdp_address, "
                            "notification, digest, next_attempt_at, created_at, delivered_at, "
                            "attempts, last_error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
                            "ON CONFLICT (digest) DO NOTHING",
                            params, 9, NULL, err);
    }
    if (status == RSP_OK)
        status = eim_storage_audit(conn, 0, NULL, "esipa.notification", f->address,
                                   f->allowed ? "forwarded" : "recorded", err);
    return status;
}

static rsp_status notification_write(store_conn *conn, void *user, rsp_error *err)
{
    const relay_notification_write *w = user;
    rsp_status status = RSP_OK;
    if (w->device != NULL && w->device->found)
        status = eim_storage_device_event(conn, w->device->tenant_id, NULL, w->device->device_id,
                                          w->device->blocked ? "notification.refused"
                                                             : "notification.received",
                                          w->forwarded->address, NULL, err);
    if (status == RSP_OK)
        status = eim_relay_notification_record(conn, w->forwarded, err);
    return status;
}

/* Whether the outbox already holds the notification (a repeat from the IPA). */
static rsp_status outbox_holds(store_conn *conn, const char *digest_hex, bool *held, rsp_error *err)
{
    int64_t count = 0;
    store_value param = STORE_VALUE_TEXT(digest_hex);
    rsp_status status =
        store_query_int64(conn, "SELECT COUNT(*) FROM eim_notification_outbox WHERE digest = $1",
                          &param, 1, &count, err);
    *held = count > 0;
    return status;
}

/* SGP.32 v1.2 section 6.3.2.4: forwarded at once (a repeat already in the outbox is not). The
 * caller then records it durably before the IPA is acknowledged (the eUICC deletes the
 * notification then): the outbox row, delivered or to be retried, is the eIM's record and
 * promise, and the history and audit entries are the only trace of a notification that is not
 * forwarded. Forwarding first lets that one commit also hold the outcome; a crash before it
 * leaves the IPA unacknowledged, so it sends the notification again and the SM-DP+ takes a
 * repeat. */
static rsp_status notification_forward(eim_server *server, eim_relay_forwarded *f, rsp_error *err)
{
    uint8_t digest[RSP_SHA256_SIZE];
    const uint8_t *parts[] = {f->notification.data};
    size_t lens[] = {f->notification.len};
    rsp_status status = rsp_sha256(parts, lens, 1, digest);
    if (status != RSP_OK)
        return rsp_error_set(err, status, 0, 0, "cannot hash the notification");
    der_hex_encode(digest, sizeof digest, f->digest_hex, false);
    if (!f->allowed)
        return RSP_OK;
    /* no connection is held during the forward: it may wait for the SM-DP+ for seconds */
    bool repeat = false;
    store_conn *conn = NULL;
    status = store_borrow(server->st, &conn, err);
    if (status == RSP_OK) {
        status = outbox_holds(conn, f->digest_hex, &repeat, err);
        store_return(conn);
    }
    if (status == RSP_OK && !repeat) {
        relay_outbox_outcome outcome = outbox_attempt(server, f->address, f->notification, 0);
        f->forwarded = true;
        f->delivered = outcome.delivered;
        f->attempts = outcome.attempts;
        f->next_attempt_at = outcome.next_attempt_at;
        f->reason = outcome.reason;
    }
    return status;
}

static rsp_status claim_notifications(store_conn *conn, void *user, rsp_error *err)
{
    relay_outbox_item *items = user;
    store_stmt *stmt = NULL;
    rsp_status status = eim_storage_claim_due(
        conn, "eim_notification_outbox", "id, attempts, smdp_address, notification",
        RELAY_NOTIFICATION_BATCH, RELAY_NOTIFICATION_LEASE_S, &stmt, err);
    if (status != RSP_OK)
        return status;
    bool has_row = false;
    size_t n = 0;
    while (n < RELAY_NOTIFICATION_BATCH && (status = store_step(stmt, &has_row, err)) == RSP_OK &&
           has_row) {
        relay_outbox_item *item = &items[n];
        size_t len = 0;
        const uint8_t *data = store_column_blob(stmt, 3, &len);
        item->notification = malloc(len > 0 ? len : 1);
        if (item->notification == NULL)
            continue; /* the lease expires and the row comes again */
        memcpy(item->notification, data, len);
        item->notification_len = len;
        item->id = store_column_int64(stmt, 0);
        item->attempts = store_column_int64(stmt, 1);
        snprintf(item->address, sizeof item->address, "%s", store_column_text(stmt, 2));
        n++;
    }
    store_finish(stmt);
    return status;
}

void eim_relay_notifications_due(eim_server *server)
{
    relay_outbox_item items[RELAY_NOTIFICATION_BATCH];
    memset(items, 0, sizeof items);
    rsp_error err = {0};
    /* Relaxed commit: a lease lost to a power cut only lets the rows be claimed again. */
    if (store_transaction_relaxed(server->st, claim_notifications, items, &err) != RSP_OK)
        LOG_WARN("eim", "notification claim failed", LOG_STR("error", err.message));
    for (size_t i = 0; i < RELAY_NOTIFICATION_BATCH && items[i].notification != NULL; i++) {
        outbox_forward(server, &items[i]);
        free(items[i].notification);
    }
}

/* The seqNumber of any PendingNotification alternative (SGP.32 v1.2 section 2.11.1.3). */
static int64_t pending_notification_seq_number(const sgp32_pending_notification *value)
{
    switch (value->choice) {
    case SGP32_PENDING_NOTIFICATION_PROFILE_INSTALLATION_RESULT:
        return value->u.profile_installation_result.profile_installation_result_data
            .notification_metadata.seq_number;
    case SGP32_PENDING_NOTIFICATION_OTHER_SIGNED_NOTIFICATION:
        return value->u.other_signed_notification.tbs_other_notification.seq_number;
    case SGP32_PENDING_NOTIFICATION_COMPACT_PROFILE_INSTALLATION_RESULT:
        return value->u.compact_profile_installation_result.compact_profile_installation_result_data
            .seq_number;
    default:
        return value->u.compact_other_signed_notification.tbs_other_notification.seq_number;
    }
}

/* SGP.32 v1.2 section 6.3.2.4: a pending notification is forwarded to the address it names
 * (ES9+.HandleNotification) when that SM-DP+ is one the eIM may reach for the device, through
 * the durable outbox (recorded before the IPA is acknowledged, retried until the SM-DP+ takes
 * it); compact forms and notifications for other addresses are only recorded. known_device is
 * the device when the caller knows it (a notification sent with a result, whose caller also
 * writes the device's history), else 0: the device comes from the notification itself, and
 * *device receives it for the history entry. On RSP_OK, f is ready for
 * eim_relay_notification_record. */
static rsp_status notification_prepare(eim_server *server, der_view notification,
                                       int64_t known_device, eim_relay_forwarded *f,
                                       relay_order *device_out, rsp_error *err)
{
    memset(f, 0, sizeof *f);
    memset(device_out, 0, sizeof *device_out);
    f->notification = notification;
    uint8_t *arena_buf = malloc(EIM_ARENA_SIZE);
    sgp32_pending_notification *value = malloc(sizeof *value);
    if (arena_buf == NULL || value == NULL) {
        free(arena_buf);
        free(value);
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "no memory for a notification");
    }
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, EIM_ARENA_SIZE);
    rsp_status status =
        schema_decode(&sgp32_pending_notification_type, notification, value, &arena, err);
    relay_order device = {0};
    der_view address = {0};
    int64_t device_id = known_device;
    bool device_known = false; /* device holds the device's state already */
    if (status == RSP_OK && known_device > 0) {
        if (value->choice == SGP32_PENDING_NOTIFICATION_PROFILE_INSTALLATION_RESULT)
            address = value->u.profile_installation_result.profile_installation_result_data
                          .notification_metadata.notification_address;
        else if (value->choice == SGP32_PENDING_NOTIFICATION_OTHER_SIGNED_NOTIFICATION)
            address =
                value->u.other_signed_notification.tbs_other_notification.notification_address;
    } else if (status == RSP_OK &&
               value->choice == SGP32_PENDING_NOTIFICATION_PROFILE_INSTALLATION_RESULT) {
        const sgp22_profile_installation_result_data *data =
            &value->u.profile_installation_result.profile_installation_result_data;
        address = data->notification_metadata.notification_address;
        status = device_of_session(server, data->transaction_id, &device, err);
        device_id = device.device_id;
        device_known = true;
    } else if (status == RSP_OK &&
               value->choice == SGP32_PENDING_NOTIFICATION_OTHER_SIGNED_NOTIFICATION) {
        const sgp22_other_signed_notification *other = &value->u.other_signed_notification;
        address = other->tbs_other_notification.notification_address;
        status = device_of_certificate(server, other->euicc_certificate, &device_id, err);
    }
    if (address.len > 0 && address.len < sizeof f->address) {
        memcpy(f->address, address.data, address.len);
        f->address[address.len] = '\0';
    }
    /* a blocked device's notification is refused, others go to its history */
    if (status == RSP_OK && device_id > 0 && !device_known)
        status = find_download_order(server, NULL, NULL, device_id, &device, err);
    if (status == RSP_OK && f->address[0] != '\0' && !device.blocked)
        status = notification_address_allowed(server, device_id, f->address, &f->allowed, err);
    f->device_id = device_id;
    if (status == RSP_OK)
        status = notification_forward(server, f, err);
    if (status == RSP_OK)
        f->seq_number = pending_notification_seq_number(value);
    if (known_device == 0)
        *device_out = device;
    free(value);
    free(arena_buf);
    return status;
}

/* A HandleNotification (SGP.32 v1.2 section 6.3.2.4): forwarded, then recorded with the
 * device's history entry in one durable commit. */
static rsp_status relay_notification(eim_server *server, der_view notification, rsp_error *err)
{
    eim_relay_forwarded forwarded;
    relay_order device;
    rsp_status status = notification_prepare(server, notification, 0, &forwarded, &device, err);
    relay_notification_write write = {.forwarded = &forwarded, .device = &device};
    if (status == RSP_OK)
        status = store_transaction(server->st, notification_write, &write, err);
    return status;
}

rsp_status eim_relay_notification_forward(eim_server *server, int64_t device_id,
                                          der_view notification, eim_relay_forwarded *out,
                                          rsp_error *err)
{
    der_tlv tlv;
    relay_order unused;
    rsp_status status = der_parse_single(notification, &tlv, err);
    return status == RSP_OK ? notification_prepare(server, tlv.whole, device_id, out, &unused, err)
                            : status;
}

rsp_status eim_relay_handle(eim_server *server, der_view message, der_writer *out, rsp_error *err)
{
    der_tlv request;
    rsp_status status = der_parse_single(message, &request, err);
    if (status == RSP_OK)
        status = der_validate_tree(&request, 0, err);
    if (status != RSP_OK)
        return status;
    if (request.tag == 0xBF3D) {
        der_tlv wrapper, notification;
        der_reader reader;
        if (!child(&request, 0xA0, &wrapper))
            return rsp_error_set(err, RSP_ERR_MISSING_FIELD, 0xBF3D, request.offset,
                                 "HandleNotificationEsipa without pendingNotification");
        status = der_reader_enter(&wrapper, 0, &reader, err);
        if (status == RSP_OK)
            status = der_reader_next(&reader, &notification, err);
        return status == RSP_OK ? relay_notification(server, notification.whole, err) : status;
    }
    if (request.tag == 0xBF39)
        return relay_initiate(server, &request, out, err);
    for (size_t i = 1; i < sizeof relay_functions / sizeof relay_functions[0]; i++)
        if (relay_functions[i].tag == request.tag)
            return relay_in_session(server, &relay_functions[i], &request, out, err);
    return rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, request.tag, 0, "not a relayed function");
}
