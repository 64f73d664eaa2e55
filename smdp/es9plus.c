/* ES9+ JSON binding (SGP.22 v2.5 section 6.5.2.6 - 6.5.2.10): each function's JSON fields are
 * turned into the ASN.1 request of the download core (smdp/download.h), the session is loaded
 * from and stored to the database around the call, and the ASN.1 answer is split back into
 * the JSON fields (base64 of whole TLVs, transactionId in hex).
 *
 * Errors: HTTP-level problems (method, content type, JSON syntax, body size) get HTTP status
 * codes; everything else is HTTP 200 with functionExecutionStatus "Failed" and the SGP.22
 * subjectCode / reasonCode, and changes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"
#include "core/saip.h"
#include "core/sgp22.h"
#include "crypto/ecdsa.h"
#include "smdp/server.h"

#define COMPONENT "smdp"

enum {
    FN_INITIATE = 0,
    FN_AUTHENTICATE,
    FN_GET_BPP,
    FN_NOTIFICATION,
    FN_CANCEL,
};

static const char *const function_names[SMDP_ES9_FUNCTIONS] = {
    "initiateAuthentication", "authenticateClient", "getBoundProfilePackage",
    "handleNotification",     "cancelSession",
};

/* ---- JSON binding helpers (SGP.22 v2.5 section 6.5.1) ---- */

static int reply_text(http_reply *reply, int status, const char *text)
{
    http_reply_borrowed(reply, status, "text/plain; charset=utf-8", text, strlen(text));
    return 0;
}

static bool json_content_type(const char *value)
{
    static const char media[] = "application/json";
    if (value == NULL || strncasecmp(value, media, sizeof media - 1) != 0)
        return false;
    char next = value[sizeof media - 1];
    return next == '\0' || next == ';' || next == ' ';
}

json_t *smdp_json_request(const http_request *request, http_reply *reply, size_t max_body)
{
    rsp_error err = {0};
    if (strcmp(request->method, "POST") != 0) {
        reply_text(reply, 405, "POST only\n");
        return NULL;
    }
    if (!json_content_type(http_request_header(request, "Content-Type"))) {
        reply_text(reply, 415, "Content-Type must be application/json\n");
        return NULL;
    }
    const char *protocol = http_request_header(request, RSP_ADMIN_PROTOCOL_HEADER);
    if (protocol == NULL || strncmp(protocol, "gsma/rsp/v", 10) != 0) {
        reply_text(reply, 400, "X-Admin-Protocol: gsma/rsp/v<x.y.z> is required\n");
        return NULL;
    }
    json_t *body =
        rsp_json_parse_object((const char *)request->body, request->body_len, max_body, &err);
    if (body == NULL)
        reply_text(reply, 400, "body is not one well-formed JSON object\n");
    return body;
}

int smdp_json_reply(http_reply *reply, int status, const json_t *body)
{
    uint8_t *text = NULL;
    size_t len = 0;
    if (body != NULL) {
        text = (uint8_t *)rsp_json_dump(body, &len);
        if (text == NULL)
            return -1;
    }
    http_reply_owned(reply, status, RSP_JSON_CONTENT_TYPE, text, len);
    http_reply_add_header(reply, RSP_ADMIN_PROTOCOL_HEADER, RSP_ADMIN_PROTOCOL_SGP22_V2_5);
    return 0;
}

int smdp_json_reply_failed(http_reply *reply, const char *subject_code, const char *reason_code,
                           const char *message)
{
    rsp_status_code_data data = {
        .subject_code = subject_code, .reason_code = reason_code, .message = message};
    json_t *body = json_object();
    if (body == NULL)
        return -1;
    json_object_set_new(body, "header", rsp_json_response_header(RSP_EXECUTION_FAILED, &data));
    int rc = smdp_json_reply(reply, 200, body);
    json_decref(body);
    return rc;
}

int smdp_json_reply_status(http_reply *reply, smdp_status status)
{
    const smdp_status_code_entry *entry = smdp_status_code(status);
    return smdp_json_reply_failed(reply, entry->subject_code, entry->reason_code, entry->message);
}

/* A failed ES9+ call: the download core's result, or the inventory's finer status when the
 * order lookup refused (it knows e.g. the download retry limit, which the core does not). */
static int reply_result(http_reply *reply, smdp_result result, smdp_status inventory_status)
{
    if (inventory_status != SMDP_STATUS_OK)
        return smdp_json_reply_status(reply, inventory_status);
    const char *subject = smdp_result_subject_code(result);
    const char *reason = smdp_result_reason_code(result);
    if (subject == NULL || reason == NULL)
        return smdp_json_reply_status(reply, SMDP_STATUS_INTERNAL);
    return smdp_json_reply_failed(reply, subject, reason, smdp_result_name(result));
}

static json_t *success_body(void)
{
    json_t *body = json_object();
    if (body != NULL)
        json_object_set_new(body, "header", rsp_json_response_header(RSP_EXECUTION_SUCCESS, NULL));
    return body;
}

/* ---- per-call context ---- */

typedef struct {
    smdp_es9plus *es9;
    json_t *body;
    uint8_t transaction_id[SMDP_TRANSACTION_ID_SIZE];
    size_t transaction_len;
    char transaction_hex[2 * SMDP_TRANSACTION_ID_SIZE + 1];
    smdp_session_record record;
    smdp_download_session session;
    der_writer request;
    der_writer response;
    rsp_error err;
} es9_call;

static void call_init(es9_call *call, smdp_es9plus *es9, json_t *body)
{
    memset(call, 0, sizeof *call);
    call->es9 = es9;
    call->body = body;
    der_writer_init_dynamic(&call->request, NULL);
    der_writer_init_dynamic(&call->response, NULL);
}

static void call_free(es9_call *call)
{
    smdp_session_record_free(&call->record);
    der_writer_free(&call->request);
    der_writer_free(&call->response);
    json_decref(call->body);
}

/* Reads transactionId (hex) and the base64 field `name` into call->request wrapped as
 * tag { 80 transactionId, <field bytes> }; with retag, the field's own tag is replaced (the
 * automatic tag [1] CancelSessionRequestEs9 gives the eUICC's CancelSessionResponse).
 * SMDP_STATUS_OK or the format status. */
static smdp_status wrap_request(es9_call *call, uint32_t tag, const char *name, uint32_t retag)
{
    uint8_t *field = NULL;
    size_t field_len = 0;
    if (rsp_json_get_hex(call->body, "transactionId", true, 1, SMDP_TRANSACTION_ID_SIZE,
                         call->transaction_id, sizeof call->transaction_id, &call->transaction_len,
                         NULL, &call->err) != RSP_OK)
        return call->err.code == RSP_ERR_MISSING_FIELD ? SMDP_STATUS_MANDATORY_MISSING
                                                       : SMDP_STATUS_INVALID_DATA;
    rsp_hex_encode(call->transaction_id, call->transaction_len, call->transaction_hex,
                   sizeof call->transaction_hex);
    if (rsp_json_get_base64(call->body, name, true, call->es9->max_body, &field, &field_len, NULL,
                            &call->err) != RSP_OK)
        return call->err.code == RSP_ERR_MISSING_FIELD ? SMDP_STATUS_MANDATORY_MISSING
                                                       : SMDP_STATUS_INVALID_DATA;
    der_tlv tlv;
    smdp_status status = SMDP_STATUS_OK;
    if (retag != 0 && der_parse_single(der_view_make(field, field_len), &tlv, &call->err) != RSP_OK)
        status = SMDP_STATUS_INVALID_DATA;
    if (status == SMDP_STATUS_OK) {
        size_t mark = der_begin(&call->request, tag);
        der_put_tlv(&call->request, 0x80, call->transaction_id, call->transaction_len);
        if (retag != 0)
            der_put_tlv(&call->request, retag, tlv.value.data, tlv.value.len);
        else
            der_put_raw(&call->request, field, field_len);
        der_end(&call->request, mark);
        if (der_writer_status(&call->request) != RSP_OK)
            status = SMDP_STATUS_INTERNAL;
    }
    free(field);
    return status;
}

/* Loads and decodes the session of call->transaction_hex; with_bpp: with the BPP handed out
 * in it, which only a retried getBoundProfilePackage needs. */
static smdp_status load_session(es9_call *call, bool with_bpp)
{
    smdp_inventory *inventory = call->es9->inventory;
    rsp_status st =
        with_bpp
            ? smdp_session_load(inventory, call->transaction_hex, &call->record, &call->err)
            : smdp_session_load_state(inventory, call->transaction_hex, &call->record, &call->err);
    if (st == RSP_ERR_NOT_FOUND)
        return SMDP_STATUS_TRANSACTION_UNKNOWN;
    if (st == RSP_OK)
        st = smdp_download_session_decode(der_view_make(call->record.data, call->record.data_len),
                                          &call->session, &call->err);
    return st == RSP_OK ? SMDP_STATUS_OK : SMDP_STATUS_INTERNAL;
}

/* Seconds a session lives after its last step, and a transaction ID after it was issued. */
static int64_t session_lifetime(const smdp_es9plus *es9)
{
    int64_t ttl = es9->inventory->session_ttl_seconds;
    return ttl > 0 ? ttl : 600;
}

/* The session initiateAuthentication left, which only its transaction ID records
 * (smdp_session_resume): authenticateClient stores it for the first time. */
static smdp_status resume_session(es9_call *call)
{
    smdp_es9plus *es9 = call->es9;
    smdp_result result = smdp_session_resume(
        es9->credentials, der_view_make(call->transaction_id, call->transaction_len),
        (time_t)smdp_inventory_now(es9->inventory), session_lifetime(es9), &call->session,
        &call->err);
    if (result != SMDP_OK)
        return result == SMDP_ERR_UNKNOWN_TRANSACTION ? SMDP_STATUS_TRANSACTION_UNKNOWN
                                                      : SMDP_STATUS_INTERNAL;
    memcpy(call->record.transaction_hex, call->transaction_hex,
           sizeof call->record.transaction_hex);
    call->record.step = 0;
    call->record.unstored = true;
    return SMDP_STATUS_OK;
}

/* The session's next step: encoded into out (caller frees), described by next. */
static rsp_status next_record(es9_call *call, der_writer *out, smdp_session_record *next)
{
    rsp_status st = smdp_download_session_encode(&call->session, out);
    *next = call->record;
    next->data = out->buf;
    next->data_len = out->len;
    next->expires_at = smdp_inventory_now(call->es9->inventory) + session_lifetime(call->es9);
    return st;
}

/* Stores the session as the next step; a concurrent or replayed request that got there first
 * makes this one fail as an unknown transaction, and nothing of it is kept. relaxed: a power
 * cut may lose the step (the eUICC then starts over), for steps that count nothing. */
static smdp_status store_session(es9_call *call, bool relaxed)
{
    der_writer out;
    smdp_session_record next;
    der_writer_init_dynamic(&out, NULL);
    rsp_status st = next_record(call, &out, &next);
    if (st == RSP_OK && relaxed)
        st = smdp_session_advance_relaxed(call->es9->inventory, &next, call->record.step,
                                          &call->err);
    else if (st == RSP_OK)
        st = smdp_session_advance(call->es9->inventory, &next, call->record.step, &call->err);
    der_writer_free(&out);
    return st == RSP_OK          ? SMDP_STATUS_OK
           : st == RSP_ERR_STATE ? SMDP_STATUS_TRANSACTION_UNKNOWN
                                 : SMDP_STATUS_INTERNAL;
}

/* The children of the "ok" alternative [0] of a response tag { A0 { ... } }. */
static rsp_status open_ok(der_view response, uint32_t tag, der_reader *children, rsp_error *err)
{
    der_tlv outer, ok;
    der_reader reader;
    rsp_status st = der_parse_single(response, &outer, err);
    if (st == RSP_OK && outer.tag != tag)
        st = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, outer.tag, 0, "response tag");
    if (st == RSP_OK)
        st = der_reader_enter(&outer, 0, &reader, err);
    if (st == RSP_OK)
        st = der_reader_next(&reader, &ok, err);
    if (st == RSP_OK && ok.tag != 0xA0)
        st = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, ok.tag, 0, "not the ok alternative");
    if (st == RSP_OK)
        st = der_reader_enter(&ok, 1, children, err);
    return st;
}

/* The "ok" answer as JSON text: the success header, then names[i] for the next children of the
 * response, base64 of the whole TLV (the hex of the value for "transactionId"). Those need no
 * JSON escaping, so the text is written directly instead of going through the JSON serialiser
 * character by character (a BPP is tens of kilobytes). */
static int reply_ok_fields(es9_call *call, http_reply *reply, der_view response, uint32_t tag,
                           const char *const *names, size_t count)
{
    enum { FIELDS_MAX = 8 };
    der_reader fields;
    der_tlv tlv[FIELDS_MAX];
    json_t *header = success_body();
    size_t head_len = 0;
    char *head = header != NULL ? rsp_json_dump(header, &head_len) : NULL;
    json_decref(header);
    rsp_status st = head != NULL && head_len >= 2 && count <= FIELDS_MAX
                        ? open_ok(response, tag, &fields, &call->err)
                        : RSP_ERR_NO_MEMORY;
    size_t capacity = head_len + 1;
    for (size_t i = 0; i < count && st == RSP_OK; i++) {
        st = der_reader_next(&fields, &tlv[i], &call->err);
        bool hex = strcmp(names[i], "transactionId") == 0;
        /* ,"name":"value" and room for the NUL written after each piece */
        capacity +=
            strlen(names[i]) + 7 + (hex ? 2 * tlv[i].value.len : 4 * ((tlv[i].whole.len + 2) / 3));
    }
    char *text = st == RSP_OK ? malloc(capacity) : NULL;
    size_t len = 0;
    if (text != NULL) {
        memcpy(text, head, head_len - 1); /* "{...}" without its closing brace */
        len = head_len - 1;
    }
    for (size_t i = 0; i < count && text != NULL; i++) {
        bool hex = strcmp(names[i], "transactionId") == 0;
        len += (size_t)snprintf(text + len, capacity - len, ",\"%s\":\"", names[i]);
        if (hex) {
            len += rsp_hex_encode(tlv[i].value.data, tlv[i].value.len, text + len, capacity - len);
        } else {
            char *encoded = rsp_base64_encode(tlv[i].whole.data, tlv[i].whole.len);
            size_t encoded_len = encoded != NULL ? strlen(encoded) : 0;
            if (encoded != NULL && len + encoded_len + 2 < capacity) {
                memcpy(text + len, encoded, encoded_len);
                len += encoded_len;
            } else {
                free(text);
                text = NULL;
            }
            free(encoded);
        }
        if (text != NULL)
            text[len++] = '"';
    }
    free(head);
    if (text == NULL)
        return smdp_json_reply_status(reply, SMDP_STATUS_INTERNAL);
    text[len++] = '}';
    http_reply_owned(reply, 200, RSP_JSON_CONTENT_TYPE, (uint8_t *)text, len);
    http_reply_add_header(reply, RSP_ADMIN_PROTOCOL_HEADER, RSP_ADMIN_PROTOCOL_SGP22_V2_5);
    return 0;
}

static void log_failure(const char *function, const es9_call *call, const char *what)
{
    LOG_INFO(COMPONENT, "es9+ call refused", LOG_STR("function", function),
             LOG_STR("transactionId", call->transaction_hex), LOG_STR("reason", what),
             LOG_STR("detail", call->err.message));
}

/* ---- initiateAuthentication ---- */

/* SGP.22 v2.5 section 6.5.2.6 ES9+.InitiateAuthentication */
static int initiate_authentication(es9_call *call, http_reply *reply)
{
    smdp_es9plus *es9 = call->es9;
    uint8_t *challenge = NULL, *info1 = NULL;
    size_t challenge_len = 0, info1_len = 0;
    const char *address = NULL;
    smdp_status status = SMDP_STATUS_OK;
    if (rsp_json_get_base64(call->body, "euiccChallenge", true, 64, &challenge, &challenge_len,
                            NULL, &call->err) != RSP_OK ||
        rsp_json_get_base64(call->body, "euiccInfo1", true, es9->max_body, &info1, &info1_len, NULL,
                            &call->err) != RSP_OK ||
        rsp_json_get_string(call->body, "smdpAddress", true, &address, NULL, &call->err) != RSP_OK)
        status = call->err.code == RSP_ERR_MISSING_FIELD ? SMDP_STATUS_MANDATORY_MISSING
                                                         : SMDP_STATUS_INVALID_DATA;
    if (status == SMDP_STATUS_OK) {
        size_t mark = der_begin(&call->request, 0xBF39);
        der_put_tlv(&call->request, 0x81, challenge, challenge_len);
        der_put_tlv(&call->request, 0x83, (const uint8_t *)address, strlen(address));
        der_put_raw(&call->request, info1, info1_len);
        der_end(&call->request, mark);
    }
    free(challenge);
    free(info1);
    if (status != SMDP_STATUS_OK) {
        log_failure("initiateAuthentication", call, "request fields");
        return smdp_json_reply_status(reply, status);
    }
    time_t now = (time_t)smdp_inventory_now(es9->inventory);
    smdp_result result =
        smdp_initiate_authentication(es9->credentials, der_writer_view(&call->request), now,
                                     &call->session, &call->response, &call->err);
    if (result != SMDP_OK) {
        log_failure("initiateAuthentication", call, smdp_result_name(result));
        return reply_result(reply, result, SMDP_STATUS_OK);
    }
    /* Nothing is stored: the transaction ID carries the session (smdp_session_resume), so
     * that a request nobody authenticated costs the database nothing. */
    static const char *const names[] = {"transactionId", "serverSigned1", "serverSignature1",
                                        "euiccCiPKIdToBeUsed", "serverCertificate"};
    return reply_ok_fields(call, reply, der_writer_view(&call->response), 0xBF39, names, 5);
}

/* ---- authenticateClient ---- */

typedef struct {
    smdp_es9plus *es9;
    const char *transaction_hex;
    smdp_status status;
    char iccid[SMDP_ICCID_SIZE];
    smdp_profile_info info;
    uint8_t *package;
    size_t package_len;
    char matching_id[SMDP_MATCHING_SIZE];
    char eid[SMDP_EID_TEXT_SIZE];
} order_context;

/* A download core order from ctx->info, with the package read (or NULL). */
static void order_from_info(order_context *ctx, const uint8_t cc_hash[32], smdp_order *order)
{
    memset(order, 0, sizeof *order);
    order->package = der_view_make(ctx->package, ctx->package_len);
    order->iccid = ctx->info.iccid;
    /* The inventory has no separate metadata: the operator is the service provider and the
     * profile type (else the ICCID) names the profile. */
    order->service_provider_name = ctx->info.operator_id;
    order->profile_name =
        ctx->info.profile_type[0] != '\0' ? ctx->info.profile_type : ctx->info.iccid;
    order->profile_class = SGP22_PROFILE_CLASS_OPERATIONAL;
    if (ctx->info.eid[0] != '\0') {
        memcpy(ctx->eid, ctx->info.eid, sizeof ctx->eid);
        order->eid = ctx->eid;
    }
    order->cc_required = ctx->info.confirmation_code_required;
    memcpy(order->cc_hash, cc_hash, sizeof order->cc_hash);
}

/* Fills a download core order from the inventory row of iccid, with its package. */
static smdp_result fill_order(order_context *ctx, const char *iccid, smdp_order *order,
                              rsp_error *err)
{
    uint8_t cc_hash[32];
    free(ctx->package);
    ctx->package = NULL;
    ctx->package_len = 0;
    if (smdp_inventory_order_data(ctx->es9->inventory, iccid, &ctx->info, cc_hash, &ctx->package,
                                  &ctx->package_len, err) != RSP_OK)
        return SMDP_ERR_INTERNAL;
    order_from_info(ctx, cc_hash, order);
    return SMDP_OK;
}

static smdp_result lookup_order(void *context, der_view matching_id, const char *eid,
                                smdp_order *order)
{
    order_context *ctx = context;
    rsp_error err = {0};
    bool cc_required = false;
    if (matching_id.len >= sizeof ctx->matching_id)
        return SMDP_ERR_MATCHING_ID_REFUSED;
    memcpy(ctx->matching_id, matching_id.data, matching_id.len);
    ctx->matching_id[matching_id.len] = '\0';
    /* Checked only: the attempt is counted with the session's step once the answer is built.
     * A refusal goes through the writing path, which reports it to the operator. */
    uint8_t cc_hash[32];
    ctx->status = smdp_order_check_download(ctx->es9->inventory, ctx->matching_id, eid, ctx->iccid,
                                            &cc_required, &ctx->info, cc_hash, &err);
    bool checked = ctx->status == SMDP_STATUS_OK;
    if (ctx->status != SMDP_STATUS_OK && ctx->status != SMDP_STATUS_INTERNAL)
        ctx->status =
            smdp_order_begin_download(ctx->es9->inventory, ctx->matching_id, eid,
                                      ctx->transaction_hex, ctx->iccid, &cc_required, &err);
    switch (ctx->status) {
    case SMDP_STATUS_OK:
        if (!checked) /* the order changed between the check and the writing path */
            return fill_order(ctx, ctx->iccid, order, &err);
        /* the metadata needs only the row: no package read here */
        order_from_info(ctx, cc_hash, order);
        return SMDP_OK;
    case SMDP_STATUS_EID_REFUSED:
        return SMDP_ERR_EID_REFUSED;
    case SMDP_STATUS_PROFILE_NOT_RELEASED:
        return SMDP_ERR_PROFILE_NOT_AVAILABLE;
    case SMDP_STATUS_CONFIRMATION_CODE_RETRIES:
        return SMDP_ERR_CC_RETRIES_EXCEEDED;
    case SMDP_STATUS_INTERNAL:
        return SMDP_ERR_INTERNAL;
    case SMDP_STATUS_TRANSACTION_UNKNOWN:
        return SMDP_ERR_UNKNOWN_TRANSACTION;
    default:
        return SMDP_ERR_MATCHING_ID_REFUSED;
    }
}

/* SGP.22 v2.5 section 6.5.2.8 ES9+.AuthenticateClient */
static int authenticate_client(es9_call *call, http_reply *reply)
{
    smdp_es9plus *es9 = call->es9;
    smdp_status status = wrap_request(call, 0xBF3B, "authenticateServerResponse", 0);
    if (status == SMDP_STATUS_OK)
        status = resume_session(call);
    if (status != SMDP_STATUS_OK) {
        log_failure("authenticateClient", call, smdp_status_code(status)->message);
        return smdp_json_reply_status(reply, status);
    }
    order_context ctx = {.es9 = es9, .transaction_hex = call->transaction_hex};
    time_t now = (time_t)smdp_inventory_now(es9->inventory);
    smdp_result result =
        smdp_authenticate_client(es9->credentials, &call->session, der_writer_view(&call->request),
                                 now, lookup_order, &ctx, &call->response, &call->err);
    free(ctx.package);
    if (result != SMDP_OK) {
        log_failure("authenticateClient", call, smdp_result_name(result));
        return reply_result(reply, result, ctx.status);
    }
    memcpy(call->record.iccid, ctx.iccid, sizeof call->record.iccid);
    memcpy(call->record.eid, call->session.eid, sizeof call->record.eid);
    /* The order's binding and the session, stored for the first time, in one relaxed commit
     * (see smdp_session_create for why a power cut may lose them); a transaction ID used
     * before is refused there. */
    der_writer stored;
    smdp_session_record next;
    der_writer_init_dynamic(&stored, NULL);
    status =
        next_record(call, &stored, &next) == RSP_OK
            ? smdp_order_begin_download_session(es9->inventory, ctx.matching_id, call->session.eid,
                                                &next, call->record.step, &call->err)
            : SMDP_STATUS_INTERNAL;
    der_writer_free(&stored);
    if (status != SMDP_STATUS_OK) {
        log_failure("authenticateClient", call, smdp_status_code(status)->message);
        return smdp_json_reply_status(reply, status);
    }
    static const char *const names[] = {"transactionId", "profileMetadata", "smdpSigned2",
                                        "smdpSignature2", "smdpCertificate"};
    return reply_ok_fields(call, reply, der_writer_view(&call->response), 0xBF3B, names, 5);
}

/* ---- getBoundProfilePackage ---- */

/* SGP.22 v2.5 section 6.5.2.7 ES9+.GetBoundProfilePackage: getBoundProfilePackageOk as JSON,
 * transactionId and the BPP. */
static int reply_bpp(es9_call *call, http_reply *reply, der_view response)
{
    static const char *const names[] = {"transactionId", "boundProfilePackage"};
    return reply_ok_fields(call, reply, response, 0xBF3A, names, 2);
}

static rsp_status request_sha256(const es9_call *call, uint8_t out[32])
{
    const uint8_t *parts[] = {call->request.buf};
    const size_t lens[] = {call->request.len};
    return rsp_sha256(parts, lens, 1, out);
}

/* SGP.22 v2.5 section 3.1.3: while the session is not finished, the same request (the
 * client never got the answer) gets the same BPP again. It is bound to the eUICC's one-time
 * key of this session, so it is of use to nobody else; a different request stays refused. */
static bool answered_before(es9_call *call)
{
    uint8_t hash[32];
    return call->session.state == SMDP_SESSION_BOUND && call->record.has_bpp_request &&
           (call->record.bpp_response != NULL || call->session.has_binding) &&
           request_sha256(call, hash) == RSP_OK &&
           memcmp(hash, call->record.bpp_request_sha256, sizeof hash) == 0;
}

/* The same answer again: kept whole by an earlier version, else rebuilt from the session's
 * binding secrets and the order, byte for byte. */
static int reply_bpp_again(es9_call *call, http_reply *reply)
{
    smdp_es9plus *es9 = call->es9;
    if (call->record.bpp_response != NULL)
        return reply_bpp(call, reply,
                         der_view_make(call->record.bpp_response, call->record.bpp_response_len));
    order_context ctx = {.es9 = es9, .transaction_hex = call->transaction_hex};
    smdp_order order;
    smdp_result result = fill_order(&ctx, call->record.iccid, &order, &call->err);
    if (result == SMDP_OK)
        result = smdp_bound_profile_package_again(es9->credentials, &call->session, &order,
                                                  &call->response, &call->err);
    free(ctx.package);
    if (result != SMDP_OK) {
        log_failure("getBoundProfilePackage", call, smdp_result_name(result));
        return smdp_json_reply_status(reply, SMDP_STATUS_INTERNAL);
    }
    return reply_bpp(call, reply, der_writer_view(&call->response));
}

/* Keeps the hash of the request answered with the session (stored with its next step); the
 * answer itself is rebuilt from the session when asked again. */
static rsp_status keep_request(es9_call *call)
{
    call->record.has_bpp_request = true;
    free(call->record.bpp_response);
    call->record.bpp_response = NULL;
    call->record.bpp_response_len = 0;
    return request_sha256(call, call->record.bpp_request_sha256);
}

static int get_bound_profile_package(es9_call *call, http_reply *reply)
{
    smdp_es9plus *es9 = call->es9;
    smdp_status status = wrap_request(call, 0xBF3A, "prepareDownloadResponse", 0);
    if (status == SMDP_STATUS_OK)
        status = load_session(call, true);
    if (status == SMDP_STATUS_OK && answered_before(call)) {
        LOG_INFO(COMPONENT, "BPP handed out again", LOG_STR("transactionId", call->transaction_hex),
                 LOG_STR("iccid", call->record.iccid));
        metrics_counter_add(&es9->metrics.bpp_resent, 1);
        return reply_bpp_again(call, reply);
    }
    if (status == SMDP_STATUS_OK && call->record.iccid[0] == '\0')
        status = SMDP_STATUS_TRANSACTION_UNKNOWN; /* not authenticated yet */
    order_context ctx = {.es9 = es9, .transaction_hex = call->transaction_hex};
    smdp_order order;
    if (status == SMDP_STATUS_OK &&
        fill_order(&ctx, call->record.iccid, &order, &call->err) != SMDP_OK)
        status = SMDP_STATUS_INTERNAL;
    if (status == SMDP_STATUS_OK && ctx.info.state != SMDP_PROFILE_RELEASED)
        status = SMDP_STATUS_BPP_NOT_AVAILABLE;
    if (status == SMDP_STATUS_OK && ctx.info.blocked)
        status = SMDP_STATUS_CONFIRMATION_CODE_RETRIES;
    if (status == SMDP_STATUS_OK && ctx.info.order_expires_at > 0 &&
        smdp_inventory_now(es9->inventory) >= ctx.info.order_expires_at)
        status = SMDP_STATUS_ORDER_EXPIRED;
    if (status != SMDP_STATUS_OK) {
        free(ctx.package);
        log_failure("getBoundProfilePackage", call, smdp_status_code(status)->message);
        return smdp_json_reply_status(reply, status);
    }
    smdp_result result = smdp_get_bound_profile_package(es9->credentials, &call->session,
                                                        der_writer_view(&call->request), &order,
                                                        &call->response, &call->err);
    free(ctx.package);
    if (result == SMDP_ERR_CC_REFUSED || result == SMDP_ERR_CC_RETRIES_EXCEEDED) {
        /* The attempt counts in the session and against the order, both kept: the order's
         * durable commit makes the session's relaxed one before it durable too. */
        status = store_session(call, true);
        if (status == SMDP_STATUS_OK)
            status =
                smdp_order_confirmation_code_failed(es9->inventory, call->record.iccid, &call->err);
        log_failure("getBoundProfilePackage", call, smdp_status_code(status)->message);
        return smdp_json_reply_status(reply, status);
    }
    if (result != SMDP_OK) {
        if (result == SMDP_ERR_EUICC_DOWNLOAD_ERROR)
            store_session(call, false); /* the session is over: keep that */
        log_failure("getBoundProfilePackage", call, smdp_result_name(result));
        return reply_result(reply, result, SMDP_STATUS_OK);
    }
    /* The session step and the order's move to Downloaded are one transaction. */
    der_writer stored;
    smdp_session_record next;
    der_writer_init_dynamic(&stored, NULL);
    if (keep_request(call) != RSP_OK || next_record(call, &stored, &next) != RSP_OK)
        status = SMDP_STATUS_INTERNAL;
    else
        status = smdp_order_downloaded(es9->inventory, call->record.iccid, call->record.eid, &next,
                                       call->record.step, &call->err);
    der_writer_free(&stored);
    if (status != SMDP_STATUS_OK)
        return smdp_json_reply_status(reply, status);
    metrics_counter_add(&es9->metrics.downloads, 1);
    return reply_bpp(call, reply, der_writer_view(&call->response));
}

/* ---- handleNotification ---- */

/* The audit record of a notification; iccid is the caller's buffer the entry points into. */
static smdp_notification_entry notification_entry(const char *eid,
                                                  const sgp22_notification_metadata *metadata,
                                                  der_view raw, char iccid[SMDP_ICCID_SIZE])
{
    rsp_error err = {0};
    int event = -1;
    iccid[0] = '\0';
    if (metadata->has_iccid)
        saip_iccid_digits(metadata->iccid, iccid, &err);
    const schema_bits *bits = &metadata->profile_management_operation;
    for (size_t i = 0; i < bits->bytes.len * 8 && event < 0; i++)
        if (bits->bytes.data[i / 8] & (0x80 >> (i % 8)))
            event = (int)i;
    return (smdp_notification_entry){.eid = eid,
                                     .iccid = iccid,
                                     .sequence_number = metadata->seq_number,
                                     .event = event,
                                     .data = raw.data,
                                     .len = raw.len};
}

static void record_notification(smdp_es9plus *es9, const char *eid,
                                const sgp22_notification_metadata *metadata, der_view raw)
{
    char iccid[SMDP_ICCID_SIZE];
    rsp_error err = {0};
    smdp_notification_entry entry = notification_entry(eid, metadata, raw, iccid);
    if (smdp_notification_record(es9->inventory, &entry, &err) != RSP_OK)
        LOG_WARN(COMPONENT, "notification not recorded", LOG_STR("detail", err.message));
}

/* ProfileInstallationResult: verified against the session, then the order moves on. */
static void install_result(es9_call *call, der_view raw,
                           const sgp22_profile_installation_result *pir)
{
    smdp_es9plus *es9 = call->es9;
    size_t len = 0;
    smdp_status status = SMDP_STATUS_OK;
    if (smdp_request_transaction_id(raw, call->transaction_id, &len, &call->err) != RSP_OK)
        status = SMDP_STATUS_INVALID_DATA;
    if (status == SMDP_STATUS_OK) {
        call->transaction_len = len;
        rsp_hex_encode(call->transaction_id, len, call->transaction_hex,
                       sizeof call->transaction_hex);
        status = load_session(call, false);
    }
    smdp_result result = SMDP_ERR_INTERNAL;
    if (status == SMDP_STATUS_OK)
        result = smdp_handle_install_result(es9->credentials, &call->session, raw, &call->err);
    /* The session ends with the order's move and the notification's record, in one
     * transaction: a replayed result then finds no session, and a concurrent duplicate that got
     * past the load finds the order moved on. */
    char iccid[SMDP_ICCID_SIZE];
    smdp_notification_entry entry = notification_entry(
        call->record.eid, &pir->profile_installation_result_data.notification_metadata, raw, iccid);
    if (status == SMDP_STATUS_OK && result == SMDP_OK)
        status = smdp_order_install_result(
            es9->inventory, call->record.iccid, call->record.eid, call->session.install_success,
            (int)call->session.bpp_command_id, (int)call->session.error_reason, raw.data, raw.len,
            call->transaction_hex, &entry, &call->err);
    if (status != SMDP_STATUS_OK || result != SMDP_OK) {
        log_failure("handleNotification", call,
                    status != SMDP_STATUS_OK ? smdp_status_code(status)->message
                                             : smdp_result_name(result));
        return;
    }
    if (call->session.install_success)
        metrics_counter_add(&es9->metrics.installations, 1);
    LOG_INFO(COMPONENT, "installation result", LOG_STR("iccid", call->record.iccid),
             LOG_STR("eid", call->record.eid), LOG_BOOL("success", call->session.install_success));
}

/* SGP.22 v2.5 section 5.6.4 with 5.7.10 (OtherSignedNotification): the eUICC certificate
 * must chain to a CI of this SM-DP+ through the EUM, and euiccNotificationSignature must verify
 * over tbsOtherNotification with its key. eid receives the certificate's EID. */
static rsp_status verify_other_notification(const smdp_es9plus *es9, der_view raw,
                                            const sgp22_other_signed_notification *other,
                                            char eid[RSP_EID_STRING_SIZE], rsp_error *err)
{
    const smdp_credentials *credentials = es9->credentials;
    const uint32_t path[] = SGP22_PATH_TBS_OTHER_NOTIFICATION;
    /* the eUICC certificate was verified at this eUICC's download or an earlier notification:
     * its signature by the EUM may come from the memo; every other check runs again */
    rsp_cert_verify_options options = {.now = (time_t)smdp_inventory_now(es9->inventory),
                                       .crls = credentials->crls,
                                       .crl_count = credentials->crl_count,
                                       .remember_euicc_link = true};
    rsp_certificate *eum = NULL;
    rsp_euicc_identity identity = {.key = NULL};
    der_view signed_part;
    rsp_status st = rsp_certificate_from_der_shared(other->eum_certificate.data,
                                                    other->eum_certificate.len, &eum, err);
    if (st == RSP_OK)
        st = rsp_euicc_certificate_verify(other->euicc_certificate, eum, credentials->cis,
                                          credentials->ci_count, &options, NULL, &identity, err);
    if (st == RSP_OK)
        memcpy(eid, identity.eid, RSP_EID_STRING_SIZE);
    if (st == RSP_OK)
        st = sgp22_find_signed_part(raw, path, SCHEMA_COUNT(path), &signed_part, err);
    if (st == RSP_OK)
        st = rsp_ecdsa_verify(identity.key, signed_part.data, signed_part.len,
                              other->euicc_notification_signature.data,
                              other->euicc_notification_signature.len, err);
    rsp_public_key_free(identity.key);
    rsp_certificate_free(eum);
    return st;
}

/* Other notifications (enable, disable, delete) change no order: verified, then recorded for
 * audit; one that does not verify is logged and dropped. */
static void other_notification(es9_call *call, der_view raw,
                               const sgp22_other_signed_notification *other)
{
    char eid[RSP_EID_STRING_SIZE] = "";
    if (verify_other_notification(call->es9, raw, other, eid, &call->err) != RSP_OK) {
        log_failure("handleNotification", call, "other notification does not verify");
        return;
    }
    record_notification(call->es9, eid, &other->tbs_other_notification, raw);
}

/* SGP.22 v2.5 section 6.5.2.9 ES9+.HandleNotification: answered 204 whenever the JSON is
 * well formed, since the LPA only deletes a notification the SM-DP+ acknowledged and a
 * notification that cannot be processed would otherwise come back forever. */
static int handle_notification(es9_call *call, http_reply *reply)
{
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    if (rsp_json_get_base64(call->body, "pendingNotification", true, call->es9->max_body, &raw,
                            &raw_len, NULL, &call->err) != RSP_OK)
        return smdp_json_reply_status(reply, call->err.code == RSP_ERR_MISSING_FIELD
                                                 ? SMDP_STATUS_MANDATORY_MISSING
                                                 : SMDP_STATUS_INVALID_DATA);
    uint8_t arena_buffer[2048];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    sgp22_pending_notification decoded;
    der_view view = der_view_make(raw, raw_len);
    if (schema_decode(&sgp22_pending_notification_type, view, &decoded, &arena, &call->err) !=
        RSP_OK)
        log_failure("handleNotification", call, "pendingNotification does not decode");
    else if (decoded.choice == SGP22_PENDING_NOTIFICATION_PROFILE_INSTALLATION_RESULT)
        install_result(call, view, &decoded.u.profile_installation_result);
    else
        other_notification(call, view, &decoded.u.other_signed_notification);
    free(raw);
    return smdp_json_reply(reply, 204, NULL);
}

/* ---- cancelSession ---- */

/* SGP.22 v2.5 section 6.5.2.10 ES9+.CancelSession */
static int cancel_session(es9_call *call, http_reply *reply)
{
    smdp_es9plus *es9 = call->es9;
    smdp_status status = wrap_request(call, 0xBF41, "cancelSessionResponse", 0xA1);
    if (status == SMDP_STATUS_OK)
        status = load_session(call, false);
    if (status != SMDP_STATUS_OK) {
        log_failure("cancelSession", call, smdp_status_code(status)->message);
        return smdp_json_reply_status(reply, status);
    }
    int64_t reason = 0;
    smdp_session_state before = call->session.state;
    smdp_result result = smdp_cancel_session(es9->credentials, &call->session,
                                             der_writer_view(&call->request), &reason, &call->err);
    if (result != SMDP_OK) {
        log_failure("cancelSession", call, smdp_result_name(result));
        return reply_result(reply, result, SMDP_STATUS_OK);
    }
    if (before == SMDP_SESSION_BOUND && call->session.state == SMDP_SESSION_CANCELLED) {
        /* the BPP was handed out but will not be installed: the order is released again, in
         * one transaction with the session's end */
        der_writer stored;
        smdp_session_record next;
        der_writer_init_dynamic(&stored, NULL);
        status = next_record(call, &stored, &next) == RSP_OK
                     ? smdp_order_download_cancelled(es9->inventory, call->record.iccid,
                                                     call->record.eid, reason, &next,
                                                     call->record.step, &call->err)
                     : SMDP_STATUS_INTERNAL;
        der_writer_free(&stored);
    } else if (before != call->session.state) {
        status = store_session(call, false);
    } /* else a retried cancellation, or the eUICC's error for a bound session: nothing new */
    if (status != SMDP_STATUS_OK)
        return smdp_json_reply_status(reply, status);
    LOG_INFO(COMPONENT, "session cancelled", LOG_STR("transactionId", call->transaction_hex),
             LOG_STR("iccid", call->record.iccid), LOG_INT("reason", reason));
    json_t *body = success_body();
    int rc = body != NULL ? smdp_json_reply(reply, 200, body) : -1;
    json_decref(body);
    return rc;
}

/* ---- routing ---- */

typedef int (*es9_function)(es9_call *call, http_reply *reply);

static const es9_function functions[SMDP_ES9_FUNCTIONS] = {
    initiate_authentication, authenticate_client, get_bound_profile_package,
    handle_notification,     cancel_session,
};

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool reply_failed(const http_reply *reply)
{
    if (reply->status != 200)
        return reply->status != 204;
    /* A JSON "Failed" body; cheap check on the serialised header, which every ES9+ answer
     * has first (not through a BPP of tens of kilobytes, where base64 has no quotes anyway). */
    static const char needle[] = "\"Failed\"";
    size_t scanned = reply->body_len < 160 ? reply->body_len : 160;
    for (size_t i = 0; reply->body != NULL && i + sizeof needle - 1 <= scanned; i++)
        if (memcmp(reply->body + i, needle, sizeof needle - 1) == 0)
            return true;
    return false;
}

static int es9_handler(const http_request *request, http_reply *reply, void *user)
{
    const smdp_route *route = user;
    smdp_es9plus *es9 = route->owner;
    uint64_t start = monotonic_ns();
    metrics_counter_add(&es9->metrics.requests[route->index], 1);
    json_t *body = smdp_json_request(request, reply, es9->max_body);
    int rc = 0;
    if (body != NULL) {
        es9_call call;
        call_init(&call, es9, body);
        rc = functions[route->index](&call, reply);
        call_free(&call);
    }
    if (rc != 0 || reply_failed(reply))
        metrics_counter_add(&es9->metrics.failures[route->index], 1);
    metrics_histogram_observe_ns(&es9->metrics.latency[route->index], monotonic_ns() - start);
    return rc;
}

rsp_status smdp_es9plus_register(http_server *http, smdp_es9plus *es9, rsp_error *err)
{
    if (es9->max_body == 0)
        es9->max_body = 1024 * 1024;
    if (es9->credentials == NULL || es9->credentials->transaction_key == NULL)
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0,
                             "ES9+ needs a transaction key (smdp_storage_transaction_key)");
    rsp_status st = RSP_OK;
    for (unsigned i = 0; i < SMDP_ES9_FUNCTIONS && st == RSP_OK; i++) {
        smdp_route *route = &es9->routes[i];
        route->owner = es9;
        route->index = i;
        char path[96];
        snprintf(path, sizeof path, "/gsma/rsp2/es9plus/%s", function_names[i]);
        /* Any method: the handler answers 405 itself with the binding's error format. */
        st = http_server_route(http, NULL, path, false, es9_handler, route, err);
    }
    return st;
}

void smdp_es9plus_collect_metrics(metrics_text *out, void *user)
{
    smdp_es9plus *es9 = user;
    metrics_text_family(out, "rspkit_smdp_es9_requests_total", "ES9+ requests by function",
                        "counter");
    for (unsigned i = 0; i < SMDP_ES9_FUNCTIONS; i++) {
        char labels[96] = "";
        metrics_label_append(labels, sizeof labels, "function", function_names[i]);
        metrics_text_sample_u64(out, "rspkit_smdp_es9_requests_total", labels,
                                metrics_counter_get(&es9->metrics.requests[i]));
    }
    metrics_text_family(out, "rspkit_smdp_es9_failures_total",
                        "ES9+ requests answered with an error", "counter");
    for (unsigned i = 0; i < SMDP_ES9_FUNCTIONS; i++) {
        char labels[96] = "";
        metrics_label_append(labels, sizeof labels, "function", function_names[i]);
        metrics_text_sample_u64(out, "rspkit_smdp_es9_failures_total", labels,
                                metrics_counter_get(&es9->metrics.failures[i]));
    }
    metrics_text_family(out, "rspkit_smdp_es9_seconds", "ES9+ handling time", "histogram");
    for (unsigned i = 0; i < SMDP_ES9_FUNCTIONS; i++) {
        char labels[96] = "";
        metrics_label_append(labels, sizeof labels, "function", function_names[i]);
        metrics_text_histogram(out, "rspkit_smdp_es9_seconds", labels, &es9->metrics.latency[i]);
    }
    metrics_text_family(out, "rspkit_smdp_downloads_total", "Bound profile packages handed out",
                        "counter");
    metrics_text_sample_u64(out, "rspkit_smdp_downloads_total", NULL,
                            metrics_counter_get(&es9->metrics.downloads));
    metrics_text_family(out, "rspkit_smdp_bpp_resent_total",
                        "Bound profile packages answered again to a retried request", "counter");
    metrics_text_sample_u64(out, "rspkit_smdp_bpp_resent_total", NULL,
                            metrics_counter_get(&es9->metrics.bpp_resent));
    metrics_text_family(out, "rspkit_smdp_installations_total",
                        "Successful installation results received", "counter");
    metrics_text_sample_u64(out, "rspkit_smdp_installations_total", NULL,
                            metrics_counter_get(&es9->metrics.installations));
}
