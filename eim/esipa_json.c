/* ESipa, JSON binding (SGP.32 v1.2 section 6.2): POST /gsma/rsp2/esipa/<function> with the
 * SGP.22 v2.5 section 6.5.1 conventions (JSON body with a request header, X-Admin-Protocol,
 * answers with functionExecutionStatus).
 *
 * The binding is a translation: each JSON request becomes the ASN.1 request of the same
 * function and goes through the one ESipa implementation (eim_esipa_dispatch); its ASN.1
 * answer becomes JSON. Field names are the ASN.1 field names (euiccCiPKIdentifierToBeUsed as
 * SGP.32 v1.1 renamed it); identifiers (eidValue, transactionId, rPLMN) are hex; matchingId is
 * a string; ASN.1 structures (eimAcknowledgements too) are base64 of their whole DER TLV,
 * signed parts included byte for byte; error alternatives are integers; the request header
 * is optional. An ESipa error alternative is
 * an answer of the function (status Executed-Success); "Failed" is kept for requests the eIM
 * could not read (statusCodeData 1.2 / 2.1 invalid, 1.2 / 2.2 mandatory element missing). */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "eim/rest.h"
#include "net/json.h"
#include "net/json_http.h"

#define ESIPA_JSON_PREFIX "/gsma/rsp2/esipa/"
#define ESIPA_JSON_MAX    (16u * 1024u * 1024u)

typedef enum {
    FIELD_HEX,       /* hex string -> primitive TLV */
    FIELD_UTF8,      /* string -> primitive TLV */
    FIELD_INT,       /* integer -> INTEGER TLV */
    FIELD_NULL_FLAG, /* true -> NULL TLV, false/absent -> nothing */
    FIELD_B64_VALUE, /* base64 of the content -> primitive TLV */
    FIELD_B64_TLV,   /* base64 of a whole TLV with tag `tag` (0: any) -> as is */
    FIELD_B64_RETAG, /* base64 of a whole TLV -> same content under `tag` (implicit tag) */
    FIELD_B64_WRAP,  /* base64 of a whole TLV -> wrapped in `tag` (explicit tag) */
} field_kind;

typedef struct {
    const char *name;
    uint32_t tag;
    field_kind kind;
    bool required;
} request_field;

typedef struct {
    const char *name; /* of the answer's field */
    uint32_t tag;     /* 0: any */
} answer_field;

typedef struct {
    const char *function;
    uint32_t tag;
    request_field fields[5];
    answer_field ok[7]; /* children of the A0 alternative, in order, optional ones skipped */
    const char *error_name;
} json_function;

/* SGP.32 v1.2 section 6.3.2 functions with their ASN.1 field tags */
static const json_function functions[] = {
    {"getEimPackage",
     0xBF4F,
     {{"eidValue", 0x5A, FIELD_HEX, true},
      {"notifyStateChange", 0x80, FIELD_NULL_FLAG, false},
      {"stateChangeCause", 0x81, FIELD_INT, false},
      {"rPLMN", 0x82, FIELD_HEX, false}},
     {{NULL, 0}},
     "eimPackageError"},
    {"provideEimPackageResult",
     0xBF50,
     {{"eidValue", 0x5A, FIELD_HEX, false}, {"eimPackageResult", 0, FIELD_B64_TLV, true}},
     {{NULL, 0}},
     "provideEimPackageResultError"},
    {"initiateAuthentication",
     0xBF39,
     {{"euiccChallenge", 0x81, FIELD_B64_VALUE, true},
      {"smdpAddress", 0x83, FIELD_UTF8, false},
      {"euiccInfo1", 0xBF20, FIELD_B64_TLV, false},
      {"eimTransactionId", 0x82, FIELD_HEX, false}},
     {{"transactionId", 0x80},
      {"serverSigned1", 0x30},
      {"serverSignature1", 0x5F37},
      {"euiccCiPKIdentifierToBeUsed", 0x04},
      {"serverCertificate", 0x30},
      {"matchingId", 0x0C},
      {"ctxParams1", 0xA2}},
     "initiateAuthenticationErrorEsipa"},
    {"authenticateClient",
     0xBF3B,
     {{"transactionId", 0x80, FIELD_HEX, true},
      {"authenticateServerResponse", 0xBF38, FIELD_B64_TLV, true}},
     {{"transactionId", 0x80},
      {"profileMetadata", 0xBF25},
      {"smdpSigned2", 0x30},
      {"smdpSignature2", 0x5F37},
      {"smdpCertificate", 0x30},
      {"hashCc", 0x04}},
     "authenticateClientErrorEsipa"},
    {"getBoundProfilePackage",
     0xBF3A,
     {{"transactionId", 0x80, FIELD_HEX, true},
      {"prepareDownloadResponse", 0xBF21, FIELD_B64_TLV, true}},
     {{"transactionId", 0x80}, {"boundProfilePackage", 0xBF36}},
     "getBoundProfilePackageErrorEsipa"},
    {"cancelSession",
     0xBF41,
     {{"transactionId", 0x80, FIELD_HEX, true},
      {"cancelSessionResponse", 0xA1, FIELD_B64_RETAG, true}},
     {{NULL, 0}},
     "cancelSessionErrorEsipa"},
    /* one of the two alternatives of HandleNotificationEsipa (checked in the handler) */
    {"handleNotification",
     0xBF3D,
     {{"pendingNotification", 0xA0, FIELD_B64_WRAP, false},
      {"provideEimPackageResult", 0xBF50, FIELD_B64_TLV, false}},
     {{NULL, 0}},
     NULL},
};

static rsp_status put_field(const json_t *body, const request_field *f, der_writer *w,
                            rsp_error *err)
{
    bool present = false;
    rsp_status status = RSP_OK;
    switch (f->kind) {
    case FIELD_HEX: {
        uint8_t buf[64];
        size_t len = 0;
        status = rsp_json_get_hex(body, f->name, f->required, 1, sizeof buf, buf, sizeof buf, &len,
                                  &present, err);
        if (status == RSP_OK && present)
            der_put_tlv(w, f->tag, buf, len);
        break;
    }
    case FIELD_UTF8: {
        const char *text = NULL;
        status = rsp_json_get_string(body, f->name, f->required, &text, &present, err);
        if (status == RSP_OK && present)
            der_put_tlv(w, f->tag, (const uint8_t *)text, strlen(text));
        break;
    }
    case FIELD_INT: {
        int64_t value = 0;
        status = rsp_json_get_int(body, f->name, f->required, INT64_MIN, INT64_MAX, &value,
                                  &present, err);
        if (status == RSP_OK && present)
            der_put_int64(w, f->tag, value);
        break;
    }
    case FIELD_NULL_FLAG: {
        bool flag = false;
        status = rsp_json_get_bool(body, f->name, f->required, &flag, &present, err);
        if (status == RSP_OK && present && flag)
            der_put_tlv(w, f->tag, NULL, 0);
        break;
    }
    default: {
        uint8_t *data = NULL;
        size_t len = 0;
        status = rsp_json_get_base64(body, f->name, f->required, ESIPA_JSON_MAX, &data, &len,
                                     &present, err);
        if (status == RSP_OK && present && f->kind == FIELD_B64_VALUE) {
            der_put_tlv(w, f->tag, data, len);
        } else if (status == RSP_OK && present) {
            der_tlv tlv;
            status = der_parse_single(der_view_make(data, len), &tlv, err);
            if (status == RSP_OK && f->kind == FIELD_B64_TLV && f->tag != 0 && tlv.tag != f->tag)
                status = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, tlv.tag, 0,
                                       "%s: wrong ASN.1 type", f->name);
            if (status == RSP_OK && f->kind == FIELD_B64_TLV) {
                der_put_raw(w, data, len);
            } else if (status == RSP_OK && f->kind == FIELD_B64_RETAG) {
                der_put_tlv(w, f->tag, tlv.value.data, tlv.value.len);
            } else if (status == RSP_OK) {
                size_t mark = der_begin(w, f->tag);
                der_put_raw(w, data, len);
                der_end(w, mark);
            }
        }
        free(data);
        break;
    }
    }
    return status;
}

static rsp_status to_asn1(const json_function *fn, const json_t *body, der_writer *w,
                          rsp_error *err)
{
    size_t mark = der_begin(w, fn->tag);
    rsp_status status = RSP_OK;
    for (size_t i = 0; i < 5 && fn->fields[i].name != NULL && status == RSP_OK; i++)
        status = put_field(body, &fn->fields[i], w, err);
    der_end(w, mark);
    return status == RSP_OK ? der_writer_status(w) : status;
}

static rsp_status integer_child(const der_tlv *tlv, json_t *answer, const char *name,
                                rsp_error *err)
{
    int64_t value = 0;
    rsp_status status = der_decode_int64(tlv, &value, err);
    if (status == RSP_OK)
        json_object_set_new(answer, name, json_integer(value));
    return status;
}

/* The ok alternative's children, named in order. */
static rsp_status ok_fields(const json_function *fn, const der_tlv *ok, json_t *answer,
                            rsp_error *err)
{
    der_reader reader;
    rsp_status status = der_reader_enter(ok, 1, &reader, err);
    size_t next = 0;
    while (status == RSP_OK && !der_reader_at_end(&reader)) {
        der_tlv child;
        status = der_reader_next(&reader, &child, err);
        while (status == RSP_OK && next < 7 && fn->ok[next].name != NULL && fn->ok[next].tag != 0 &&
               fn->ok[next].tag != child.tag)
            next++;
        if (status != RSP_OK || next >= 7 || fn->ok[next].name == NULL)
            break; /* an extension this version does not name: left out */
        if (child.tag == 0x80)
            rsp_json_set_hex(answer, fn->ok[next].name, child.value.data, child.value.len);
        else if (child.tag == 0x0C) /* matchingId: the UTF8String as a JSON string */
            json_object_set_new(answer, fn->ok[next].name,
                                json_stringn((const char *)child.value.data, child.value.len));
        else
            rsp_json_set_base64(answer, fn->ok[next].name, child.whole.data, child.whole.len);
        next++;
    }
    return status;
}

static rsp_status to_json(const json_function *fn, der_view response, json_t *answer,
                          rsp_error *err)
{
    der_tlv outer, child;
    der_reader reader;
    rsp_status status = der_parse_single(response, &outer, err);
    if (status == RSP_OK)
        status = der_reader_enter(&outer, 0, &reader, err);
    if (status == RSP_OK)
        status = der_reader_next(&reader, &child, err);
    if (status != RSP_OK)
        return status;
    if (!child.constructed)
        return integer_child(&child, answer, fn->error_name, err);
    if (fn->tag == 0xBF4F) {
        const char *name = child.tag == 0xBF51   ? "euiccPackageRequest"
                           : child.tag == 0xBF52 ? "ipaEuiccDataRequest"
                                                 : "profileDownloadTriggerRequest";
        return rsp_json_set_base64(answer, name, child.whole.data, child.whole.len);
    }
    if (fn->tag == 0xBF50) {
        if (child.tag != 0xBF53)
            return RSP_OK; /* emptyResponse */
        /* EimAcknowledgements as base64 of its DER, like every other structure */
        return rsp_json_set_base64(answer, "eimAcknowledgements", child.whole.data,
                                   child.whole.len);
    }
    return ok_fields(fn, &child, answer, err);
}

static int failed(http_reply *reply, const char *reason, const char *message)
{
    rsp_status_code_data data = {.subject_code = "1.2", .reason_code = reason, .message = message};
    json_t *body = json_object();
    json_object_set_new(body, "header", rsp_json_response_header(RSP_EXECUTION_FAILED, &data));
    rsp_status status = rsp_json_reply(reply, 200, body, RSP_ADMIN_PROTOCOL_SGP22_V2_5);
    json_decref(body);
    return status == RSP_OK ? 0 : -1;
}

int eim_esipa_json_handle(const http_request *request, http_reply *reply, void *user)
{
    eim_server *server = user;
    const char *name = request->path + strlen(ESIPA_JSON_PREFIX);
    const json_function *fn = NULL;
    for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++)
        if (strcmp(functions[i].function, name) == 0)
            fn = &functions[i];
    if (fn == NULL)
        return eim_rest_problem(reply, 404, "no such ESipa function");
    if (strcmp(request->method, "POST") != 0)
        return eim_rest_problem(reply, 405, "POST only");
    json_t *body = NULL;
    rsp_error err = {0};
    rsp_status status = rsp_json_read_request(request, ESIPA_JSON_MAX, &body, &err);
    if (status == RSP_ERR_UNSUPPORTED)
        return eim_rest_problem(reply, 415, "Content-Type must be application/json");
    if (status != RSP_OK)
        return eim_rest_problem(reply, 400, err.message);
    const char *requester = NULL, *call = NULL;
    der_writer asn1, out;
    der_writer_init_dynamic(&asn1, NULL);
    der_writer_init_dynamic(&out, NULL);
    /* the header is read when present: IPAs such as onomondo-ipa send none */
    if (json_object_get(body, "header") != NULL)
        status = rsp_json_parse_request_header(body, &requester, &call, &err);
    if (status == RSP_OK && fn->tag == 0xBF3D &&
        (json_object_get(body, "pendingNotification") != NULL) ==
            (json_object_get(body, "provideEimPackageResult") != NULL))
        status = rsp_error_set(&err, RSP_ERR_MISSING_FIELD, 0xBF3D, 0,
                               "handleNotification: pendingNotification or "
                               "provideEimPackageResult, exactly one");
    if (status == RSP_OK)
        status = to_asn1(fn, body, &asn1, &err);
    bool no_content = false;
    int rc;
    if (status != RSP_OK) {
        rc = failed(reply, status == RSP_ERR_MISSING_FIELD ? "2.2" : "2.1", err.message);
    } else if ((status = eim_esipa_dispatch(server, der_writer_view(&asn1), &out, &no_content,
                                            &err)) != RSP_OK) {
        LOG_WARN("eim", "ESipa JSON request failed", LOG_STR("function", fn->function),
                 LOG_STR("error", err.message));
        bool client_fault = status < RSP_ERR_NO_MEMORY || status == RSP_ERR_UNSUPPORTED;
        rc = client_fault ? failed(reply, "2.1", err.message)
                          : eim_rest_problem(reply, 500, "internal error");
    } else if (no_content) {
        rc = rsp_json_reply(reply, 204, NULL, RSP_ADMIN_PROTOCOL_SGP22_V2_5) == RSP_OK ? 0 : -1;
    } else {
        json_t *answer = json_object();
        json_object_set_new(answer, "header",
                            rsp_json_response_header(RSP_EXECUTION_SUCCESS, NULL));
        status = to_json(fn, der_writer_view(&out), answer, &err);
        rc =
            status == RSP_OK
                ? (rsp_json_reply(reply, 200, answer, RSP_ADMIN_PROTOCOL_SGP22_V2_5) == RSP_OK ? 0
                                                                                               : -1)
                : eim_rest_problem(reply, 500, "answer does not convert");
        json_decref(answer);
    }
    der_writer_free(&asn1);
    der_writer_free(&out);
    json_decref(body);
    return rc;
}
