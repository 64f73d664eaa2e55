/* ES2+ JSON binding (SGP.22 v2.5 sections 5.3 and 6.5.2.1 - 6.5.2.5): the operator side of
 * the SM-DP+. Operators authenticate with a TLS client certificate or an API key; each sees
 * and changes only its own profiles. The HandleDownloadProgressInfo callbacks are sent from
 * the durable outbox (smdp/inventory.h) with retries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/log.h"
#include "crypto/ecdsa.h"
#include "smdp/server.h"

#define COMPONENT "smdp"

enum {
    ES2_DOWNLOAD_ORDER = 0,
    ES2_CONFIRM_ORDER,
    ES2_CANCEL_ORDER,
    ES2_RELEASE_PROFILE,
    ES2_FUNCTIONS
};

static const char *const function_names[ES2_FUNCTIONS] = {"downloadOrder", "confirmOrder",
                                                          "cancelOrder", "releaseProfile"};

/* The operator behind the request: TLS client certificate first, then the API key. */
static const smdp_operator *authenticate(const smdp_es2plus *es2, const http_request *request)
{
    const smdp_inventory *inventory = es2->inventory;
    uint8_t digest[32];
    if (request->client_cert_status == HTTP_CLIENT_CERT_VERIFIED &&
        request->client_cert_der != NULL) {
        const uint8_t *parts[] = {request->client_cert_der};
        const size_t lens[] = {request->client_cert_len};
        if (rsp_sha256(parts, lens, 1, digest) == RSP_OK)
            for (size_t i = 0; i < inventory->operator_count; i++)
                if (inventory->operators[i].has_certificate &&
                    CRYPTO_memcmp(inventory->operators[i].certificate_sha256, digest, 32) == 0)
                    return &inventory->operators[i];
    }
    const char *key = http_request_header(request, SMDP_API_KEY_HEADER);
    if (key == NULL || key[0] == '\0')
        return NULL;
    const uint8_t *parts[] = {(const uint8_t *)key};
    const size_t lens[] = {strlen(key)};
    if (rsp_sha256(parts, lens, 1, digest) != RSP_OK)
        return NULL;
    /* Compare against every operator so timing does not tell which key prefix is close. */
    const smdp_operator *found = NULL;
    for (size_t i = 0; i < inventory->operator_count; i++)
        if (inventory->operators[i].has_api_key &&
            CRYPTO_memcmp(inventory->operators[i].api_key_sha256, digest, 32) == 0)
            found = &inventory->operators[i];
    return found;
}

typedef struct {
    smdp_es2plus *es2;
    const smdp_operator *op;
    json_t *body;
    rsp_error err;
} es2_call;

/* Optional string field; false (status set) when present with the wrong type. */
static bool optional_string(es2_call *call, const char *key, const char **out, smdp_status *status)
{
    bool present = false;
    *out = NULL;
    if (rsp_json_get_string(call->body, key, false, out, &present, &call->err) != RSP_OK) {
        *status = SMDP_STATUS_INVALID_DATA;
        return false;
    }
    if (!present)
        *out = NULL;
    return true;
}

static int reply_ok(http_reply *reply, json_t *body)
{
    json_object_set_new(body, "header", rsp_json_response_header(RSP_EXECUTION_SUCCESS, NULL));
    int rc = smdp_json_reply(reply, 200, body);
    json_decref(body);
    return rc;
}

static int refuse(es2_call *call, const char *function, http_reply *reply, smdp_status status)
{
    metrics_counter_add(&call->es2->failures, 1);
    LOG_INFO(COMPONENT, "es2+ call refused", LOG_STR("function", function),
             LOG_STR("operator", call->op->id),
             LOG_STR("reason", smdp_status_code(status)->message),
             LOG_STR("detail", status == SMDP_STATUS_INTERNAL ? call->err.message : NULL));
    return smdp_json_reply_status(reply, status);
}

/* SGP.22 v2.5 section 5.3.1 ES2+.DownloadOrder */
static int download_order(es2_call *call, http_reply *reply)
{
    smdp_status status = SMDP_STATUS_OK;
    smdp_download_order order = {.operator_id = call->op->id};
    if (!optional_string(call, "eid", &order.eid, &status) ||
        !optional_string(call, "iccid", &order.iccid, &status) ||
        !optional_string(call, "profileType", &order.profile_type, &status))
        return refuse(call, "downloadOrder", reply, status);
    char iccid[SMDP_ICCID_SIZE];
    status = smdp_order_download(call->es2->inventory, &order, iccid, &call->err);
    if (status != SMDP_STATUS_OK)
        return refuse(call, "downloadOrder", reply, status);
    json_t *body = json_object();
    json_object_set_new(body, "iccid", json_string(iccid));
    LOG_INFO(COMPONENT, "download order", LOG_STR("operator", call->op->id),
             LOG_STR("iccid", iccid), LOG_STR("eid", order.eid));
    return reply_ok(reply, body);
}

/* SGP.22 v2.5 section 5.3.2 ES2+.ConfirmOrder */
static int confirm_order(es2_call *call, http_reply *reply)
{
    smdp_status status = SMDP_STATUS_OK;
    smdp_confirm_order order = {.operator_id = call->op->id};
    bool present = false;
    if (!optional_string(call, "iccid", &order.iccid, &status) ||
        !optional_string(call, "eid", &order.eid, &status) ||
        !optional_string(call, "matchingId", &order.matching_id, &status) ||
        !optional_string(call, "confirmationCode", &order.confirmation_code, &status) ||
        !optional_string(call, "smdsAddress", &order.smds_address, &status))
        return refuse(call, "confirmOrder", reply, status);
    if (rsp_json_get_bool(call->body, "releaseFlag", true, &order.release, &present, &call->err) !=
        RSP_OK)
        return refuse(call, "confirmOrder", reply,
                      call->err.code == RSP_ERR_MISSING_FIELD ? SMDP_STATUS_MANDATORY_MISSING
                                                              : SMDP_STATUS_INVALID_DATA);
    smdp_confirm_result result;
    status = smdp_order_confirm(call->es2->inventory, &order, &result, &call->err);
    if (status != SMDP_STATUS_OK)
        return refuse(call, "confirmOrder", reply, status);
    json_t *body = json_object();
    if (result.eid[0] != '\0')
        json_object_set_new(body, "eid", json_string(result.eid));
    json_object_set_new(body, "matchingId", json_string(result.matching_id));
    json_object_set_new(body, "smdpAddress", json_string(call->es2->inventory->smdp_address));
    LOG_INFO(COMPONENT, "order confirmed", LOG_STR("operator", call->op->id),
             LOG_STR("iccid", order.iccid), LOG_BOOL("released", order.release));
    return reply_ok(reply, body);
}

/* SGP.22 v2.5 section 5.3.3 ES2+.CancelOrder */
static int cancel_order(es2_call *call, http_reply *reply)
{
    smdp_status status = SMDP_STATUS_OK;
    smdp_cancel_order order = {.operator_id = call->op->id};
    const char *final_status = NULL;
    if (!optional_string(call, "iccid", &order.iccid, &status) ||
        !optional_string(call, "eid", &order.eid, &status) ||
        !optional_string(call, "matchingId", &order.matching_id, &status) ||
        !optional_string(call, "finalProfileStatusIndicator", &final_status, &status))
        return refuse(call, "cancelOrder", reply, status);
    if (final_status == NULL)
        return refuse(call, "cancelOrder", reply, SMDP_STATUS_MANDATORY_MISSING);
    if (strcmp(final_status, "Available") != 0 && strcmp(final_status, "Unavailable") != 0)
        return refuse(call, "cancelOrder", reply, SMDP_STATUS_INVALID_DATA);
    order.make_unavailable = strcmp(final_status, "Unavailable") == 0;
    status = smdp_order_cancel(call->es2->inventory, &order, &call->err);
    if (status != SMDP_STATUS_OK)
        return refuse(call, "cancelOrder", reply, status);
    LOG_INFO(COMPONENT, "order cancelled", LOG_STR("operator", call->op->id),
             LOG_STR("iccid", order.iccid), LOG_STR("final", final_status));
    return reply_ok(reply, json_object());
}

/* SGP.22 v2.5 section 5.3.4 ES2+.ReleaseProfile */
static int release_profile(es2_call *call, http_reply *reply)
{
    smdp_status status = SMDP_STATUS_OK;
    const char *iccid = NULL;
    if (!optional_string(call, "iccid", &iccid, &status))
        return refuse(call, "releaseProfile", reply, status);
    status = smdp_order_release(call->es2->inventory, call->op->id, iccid, &call->err);
    if (status != SMDP_STATUS_OK)
        return refuse(call, "releaseProfile", reply, status);
    LOG_INFO(COMPONENT, "profile released", LOG_STR("operator", call->op->id),
             LOG_STR("iccid", iccid));
    return reply_ok(reply, json_object());
}

typedef int (*es2_function)(es2_call *call, http_reply *reply);

static const es2_function functions[ES2_FUNCTIONS] = {download_order, confirm_order, cancel_order,
                                                      release_profile};

static int unauthenticated(http_reply *reply)
{
    const smdp_status_code_entry *entry = smdp_status_code(SMDP_STATUS_REQUESTER_UNKNOWN);
    rsp_status_code_data data = {.subject_code = entry->subject_code,
                                 .reason_code = entry->reason_code,
                                 .message = entry->message};
    json_t *body = json_object();
    if (body == NULL)
        return -1;
    json_object_set_new(body, "header", rsp_json_response_header(RSP_EXECUTION_FAILED, &data));
    int rc = smdp_json_reply(reply, 401, body);
    json_decref(body);
    return rc;
}

static int es2_handler(const http_request *request, http_reply *reply, void *user)
{
    const smdp_route *route = user;
    smdp_es2plus *es2 = route->owner;
    metrics_counter_add(&es2->requests, 1);
    es2_call call = {.es2 = es2};
    call.op = authenticate(es2, request);
    if (call.op == NULL) {
        metrics_counter_add(&es2->unauthenticated, 1);
        LOG_WARN(COMPONENT, "es2+ request without valid operator credentials",
                 LOG_STR("path", request->path));
        return unauthenticated(reply);
    }
    call.body = smdp_json_request(request, reply, es2->max_body);
    if (call.body == NULL) {
        metrics_counter_add(&es2->failures, 1);
        return 0;
    }
    const char *requester = NULL, *call_id = NULL;
    int rc;
    if (rsp_json_parse_request_header(call.body, &requester, &call_id, &call.err) != RSP_OK)
        rc = refuse(&call, function_names[route->index], reply, SMDP_STATUS_MANDATORY_MISSING);
    else
        rc = functions[route->index](&call, reply);
    if (rc != 0)
        metrics_counter_add(&es2->failures, 1);
    json_decref(call.body);
    return rc;
}

rsp_status smdp_es2plus_register(http_server *http, smdp_es2plus *es2, rsp_error *err)
{
    if (es2->max_body == 0)
        es2->max_body = 64 * 1024;
    rsp_status st = RSP_OK;
    for (unsigned i = 0; i < ES2_FUNCTIONS && st == RSP_OK; i++) {
        es2->routes[i].owner = es2;
        es2->routes[i].index = i;
        char path[96];
        snprintf(path, sizeof path, "/gsma/rsp2/es2plus/%s", function_names[i]);
        st = http_server_route(http, NULL, path, false, es2_handler, &es2->routes[i], err);
    }
    return st;
}

void smdp_es2plus_collect_metrics(metrics_text *out, void *user)
{
    smdp_es2plus *es2 = user;
    metrics_text_family(out, "rspkit_smdp_es2_requests_total", "ES2+ requests", "counter");
    metrics_text_sample_u64(out, "rspkit_smdp_es2_requests_total", NULL,
                            metrics_counter_get(&es2->requests));
    metrics_text_family(out, "rspkit_smdp_es2_failures_total",
                        "ES2+ requests answered with an error", "counter");
    metrics_text_sample_u64(out, "rspkit_smdp_es2_failures_total", NULL,
                            metrics_counter_get(&es2->failures));
    metrics_text_family(out, "rspkit_smdp_es2_unauthenticated_total",
                        "ES2+ requests without valid operator credentials", "counter");
    metrics_text_sample_u64(out, "rspkit_smdp_es2_unauthenticated_total", NULL,
                            metrics_counter_get(&es2->unauthenticated));
}

/* ---- callbacks ---- */

#define CALLBACK_BATCH 16

/* SGP.22 v2.5 section 5.3.5 ES2+.HandleDownloadProgressInfo, sent by the SM-DP+ */
rsp_status smdp_callbacks_deliver(smdp_inventory *inventory, http_client *client,
                                  unsigned max_attempts, size_t *delivered, rsp_error *err)
{
    smdp_outbox_item items[CALLBACK_BATCH];
    size_t count = 0;
    size_t done = 0;
    /* The lease outlives the slowest send (client timeouts), so no two senders overlap. */
    rsp_status st = smdp_outbox_claim(inventory, CALLBACK_BATCH, 60, items, &count, err);
    static const char *const headers[] = {
        RSP_ADMIN_PROTOCOL_HEADER ": " RSP_ADMIN_PROTOCOL_SGP22_V2_5, NULL};
    for (size_t i = 0; i < count; i++) {
        http_response response = {0};
        rsp_error send_err = {0};
        rsp_status sent =
            http_client_post(client, items[i].url, RSP_JSON_CONTENT_TYPE, items[i].body,
                             strlen(items[i].body), headers, &response, &send_err);
        bool ok = sent == RSP_OK && response.status >= 200 && response.status < 300;
        char reason[160];
        snprintf(reason, sizeof reason, "%s (HTTP %ld)",
                 sent == RSP_OK ? "answered" : send_err.message, response.status);
        http_response_free(&response);
        rsp_error done_err = {0};
        if (smdp_outbox_done(inventory, items[i].id, ok, reason, max_attempts, &done_err) != RSP_OK)
            LOG_WARN(COMPONENT, "outbox update failed", LOG_STR("detail", done_err.message));
        if (ok)
            done++;
        else
            LOG_INFO(COMPONENT, "callback not delivered", LOG_STR("url", items[i].url),
                     LOG_INT("attempt", items[i].attempts + 1), LOG_STR("detail", reason));
        smdp_outbox_item_free(&items[i]);
    }
    if (delivered != NULL)
        *delivered = done;
    return st;
}
