/* Indirect profile download: the eIM relays the ESipa download functions to the SM-DP+ as
 * ES9+ JSON (SGP.32 v1.2 sections 3.2.3 and 6.3.2.1 to 6.3.2.5; SGP.22 v2.5 section 6.5.2).
 *
 * The session (transactionId -> SM-DP+ address) is a database row, so a download continues
 * whichever TCP connection, or eIM process, the IPA's next request reaches. The SM-DP+ must be
 * one that an order of this eIM named (a profile download order handed out and not finished):
 * the eIM is not an open proxy. Signed values are passed through as the exact bytes
 * received, never re-encoded. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/sgp32.h"
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

/* The SM-DP+ of an open session and the device it serves (0 when unknown). */
static rsp_status session_address(eim_server *server, const char *txid, bool open_only,
                                  char *address, size_t size, int64_t *device_id, bool *found,
                                  rsp_error *err)
{
    store_conn *conn = NULL;
    rsp_status status = store_borrow(server->st, &conn, err);
    if (status != RSP_OK)
        return status;
    store_stmt *stmt = NULL;
    status = store_prepare(conn,
                           open_only ? "SELECT smdp_address, device_id FROM eim_relay_sessions "
                                       "WHERE transaction_id = $1 AND finished_at IS NULL"
                                     : "SELECT smdp_address, device_id FROM eim_relay_sessions "
                                       "WHERE transaction_id = $1",
                           &stmt, err);
    if (status == RSP_OK) {
        store_bind_text(stmt, 1, txid);
        status = store_step(stmt, found, err);
        if (status == RSP_OK && *found) {
            snprintf(address, size, "%s", store_column_text(stmt, 0));
            *device_id = store_column_int64(stmt, 1);
        }
        store_finish(stmt);
    }
    store_return(conn);
    return status;
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
    store_conn *conn = NULL;
    rsp_status status = store_borrow(server->st, &conn, err);
    if (status != RSP_OK)
        return status;
    int64_t count = 0;
    store_value param = STORE_VALUE_TEXT(address);
    status = store_query_int64(conn,
                               "SELECT COUNT(*) FROM (SELECT 1 FROM eim_orders WHERE "
                               "smdp_address = $1 AND state = 'delivered' LIMIT 1) AS x",
                               &param, 1, &count, err);
    store_return(conn);
    *allowed = count > 0;
    return status;
}

static rsp_status session_save(eim_server *server, const char *txid, const char *address,
                               const relay_order *order, bool finished, rsp_error *err)
{
    store_conn *conn = NULL;
    rsp_status status = store_borrow(server->st, &conn, err);
    if (status != RSP_OK)
        return status;
    store_value params[] = {
        STORE_VALUE_TEXT(txid),
        STORE_VALUE_TEXT(address),
        STORE_VALUE_INT64(eim_storage_now()),
        order != NULL && order->found ? STORE_VALUE_INT64(order->device_id) : STORE_VALUE_NULL(),
        order != NULL && order->found ? STORE_VALUE_INT64(order->order_id) : STORE_VALUE_NULL(),
    };
    if (finished)
        status = store_exec(conn,
                            "UPDATE eim_relay_sessions SET finished_at = $2 WHERE "
                            "transaction_id = $1",
                            (store_value[]){params[0], params[2]}, 2, NULL, err);
    else
        status = store_exec(conn,
                            "INSERT INTO eim_relay_sessions (transaction_id, smdp_address, "
                            "created_at, device_id, order_id) VALUES ($1, $2, $3, $4, $5) ON "
                            "CONFLICT (transaction_id) DO NOTHING",
                            params, 5, NULL, err);
    store_return(conn);
    return status;
}

/* POSTs one ES9+ call; *response is NULL when the SM-DP+ could not be reached or answered
 * something that is not a successful ES9+ response (then *reason says why). */
static void es9_call(eim_server *server, const char *address, const char *function,
                     const json_t *request, json_t **response, const char **reason)
{
    *response = NULL;
    *reason = NULL;
    metrics_counter_add(&server->relay_calls, 1);
    http_client_config config = {
        .ca_file = server->config.smdp_ca_file,
        .total_timeout_ms =
            server->config.relay_timeout_ms > 0 ? server->config.relay_timeout_ms : 30000,
        .max_response = 16u * 1024u * 1024u,
        .user_agent = "rspkit-eim",
    };
    rsp_error err = {0};
    http_client *client = http_client_new(&config, &err);
    char url[512];
    snprintf(url, sizeof url, "https://%s/gsma/rsp2/es9plus/%s", address, function);
    long http_status = 0;
    json_t *body = NULL;
    if (client == NULL ||
        rsp_json_call(client, url, request, RSP_ADMIN_PROTOCOL_SGP22_V2_5, NULL,
                      config.max_response, &http_status, &body, NULL, &err) != RSP_OK) {
        *reason = "SM-DP+ unreachable";
    } else if (http_status != 200 || body == NULL) {
        *reason = "SM-DP+ answered without a body";
    } else {
        rsp_execution_status execution;
        rsp_status_code_data data;
        if (rsp_json_parse_response_header(body, &execution, &data, &err) != RSP_OK)
            *reason = "SM-DP+ answer has no valid header";
        else if (execution != RSP_EXECUTION_SUCCESS && execution != RSP_EXECUTION_WITH_WARNING)
            *reason = "SM-DP+ refused the request";
    }
    if (*reason == NULL) {
        *response = body;
    } else {
        metrics_counter_add(&server->relay_failures, 1);
        LOG_WARN("eim", "relay call failed", LOG_STR("function", function),
                 LOG_STR("smdp", address), LOG_STR("why", *reason), LOG_STR("detail", err.message));
        json_decref(body);
    }
    http_client_free(client);
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
    const char *reason = NULL;
    es9_call(server, address, fn->function, json, &response, &reason);
    json_decref(json);
    if (response == NULL)
        return write_error(fn, RELAY_UNDEFINED_ERROR, out);
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
        status = session_save(server, txid, address, &order, false, err);
    if (status == RSP_OK)
        device_event(server, &order, "relay.started", address, NULL);
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
    int64_t device_id = 0;
    rsp_status status =
        session_address(server, txid, true, address, sizeof address, &device_id, &found, err);
    relay_order device = {0};
    if (status == RSP_OK && found && device_id > 0)
        status = find_download_order(server, NULL, NULL, device_id, &device, err);
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
    const char *reason = NULL;
    es9_call(server, address, fn->function, json, &response, &reason);
    json_decref(json);
    if (response == NULL)
        return write_error(fn, RELAY_UNDEFINED_ERROR, out);
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
        status = session_save(server, txid, address, NULL, true, err);
    return status == RSP_OK ? der_writer_status(out) : status;
}

/* SGP.32 v1.2 section 6.3.2.4: a pending notification is forwarded to the address it names
 * (ES9+.HandleNotification) and recorded; compact forms are only recorded. */
static rsp_status relay_notification(eim_server *server, const der_tlv *request, rsp_error *err)
{
    der_tlv wrapper, notification;
    if (!child(request, 0xA0, &wrapper))
        return rsp_error_set(err, RSP_ERR_MISSING_FIELD, 0xBF3D, request->offset,
                             "HandleNotificationEsipa without pendingNotification");
    der_reader reader;
    rsp_status status = der_reader_enter(&wrapper, 0, &reader, err);
    if (status == RSP_OK)
        status = der_reader_next(&reader, &notification, err);
    if (status != RSP_OK)
        return status;
    uint8_t *arena_buf = malloc(EIM_ARENA_SIZE);
    sgp32_pending_notification *value = malloc(sizeof *value);
    if (arena_buf == NULL || value == NULL) {
        free(arena_buf);
        free(value);
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "no memory for a notification");
    }
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, EIM_ARENA_SIZE);
    status =
        schema_decode(&sgp32_pending_notification_type, notification.whole, value, &arena, err);
    der_view address = {0};
    if (status == RSP_OK && value->choice == SGP32_PENDING_NOTIFICATION_PROFILE_INSTALLATION_RESULT)
        address = value->u.profile_installation_result.profile_installation_result_data
                      .notification_metadata.notification_address;
    else if (status == RSP_OK &&
             value->choice == SGP32_PENDING_NOTIFICATION_OTHER_SIGNED_NOTIFICATION)
        address = value->u.other_signed_notification.tbs_other_notification.notification_address;
    char text[256] = "";
    if (address.len > 0 && address.len < sizeof text) {
        memcpy(text, address.data, address.len);
        text[address.len] = '\0';
    }
    /* A profile installation result names the relay session (its transactionId), hence the
     * device: a blocked device's notification is refused, others go to its history. */
    relay_order device = {0};
    if (status == RSP_OK &&
        value->choice == SGP32_PENDING_NOTIFICATION_PROFILE_INSTALLATION_RESULT) {
        der_view id =
            value->u.profile_installation_result.profile_installation_result_data.transaction_id;
        char hex[33], session_smdp[256];
        bool found = false;
        int64_t device_id = 0;
        if (id.len > 0 && id.len <= 16) {
            der_hex_encode(id.data, id.len, hex, true);
            status = session_address(server, hex, false, session_smdp, sizeof session_smdp,
                                     &device_id, &found, err);
        }
        if (status == RSP_OK && found && device_id > 0)
            status = find_download_order(server, NULL, NULL, device_id, &device, err);
    }
    bool allowed = false;
    if (status == RSP_OK && text[0] != '\0' && !device.blocked)
        status = address_allowed(server, text, &allowed, err);
    if (status == RSP_OK && device.found)
        device_event(server, &device,
                     device.blocked ? "notification.refused" : "notification.received", text, NULL);
    if (status == RSP_OK && allowed) {
        json_t *json = json_object();
        rsp_json_set_base64(json, "pendingNotification", notification.whole.data,
                            notification.whole.len);
        json_t *response = NULL;
        const char *reason = NULL;
        es9_call(server, text, "handleNotification", json, &response, &reason);
        json_decref(json);
        json_decref(response);
    }
    if (status == RSP_OK) {
        store_conn *conn = NULL;
        if (store_borrow(server->st, &conn, err) == RSP_OK) {
            eim_storage_audit(conn, 0, NULL, "esipa.notification", text,
                              allowed ? "forwarded" : "recorded", err);
            store_return(conn);
        }
    }
    free(value);
    free(arena_buf);
    return status;
}

rsp_status eim_relay_handle(eim_server *server, der_view message, der_writer *out, rsp_error *err)
{
    der_tlv request;
    rsp_status status = der_parse_single(message, &request, err);
    if (status == RSP_OK)
        status = der_validate_tree(&request, 0, err);
    if (status != RSP_OK)
        return status;
    if (request.tag == 0xBF3D)
        return relay_notification(server, &request, err);
    if (request.tag == 0xBF39)
        return relay_initiate(server, &request, out, err);
    for (size_t i = 1; i < sizeof relay_functions / sizeof relay_functions[0]; i++)
        if (relay_functions[i].tag == request.tag)
            return relay_in_session(server, &relay_functions[i], &request, out, err);
    return rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, request.tag, 0, "not a relayed function");
}
