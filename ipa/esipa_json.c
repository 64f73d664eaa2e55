/* ESipa client, JSON binding over HTTPS (SGP.32 v1.2 section 6.4): POST
 * <eIM origin>/gsma/rsp2/esipa/<function> with a JSON body in the SGP.22 v2.5 section 6.5.1
 * conventions (request header, functionExecutionStatus in the answer).
 *
 * The binding is a translation at the edge: the flows build the same EsipaMessageFromIpaToEim
 * DER as for the ASN.1 binding; it becomes JSON here, and the JSON answer becomes the
 * EsipaMessageFromEimToIpa DER the ASN.1 binding would have carried, so every flow works on
 * one shape. Member names are the ASN.1 field names; EID, transactionId, eimTransactionId and
 * rPLMN are hex; euiccChallenge is base64 of its value; every other structure is base64 of
 * its whole DER TLV, signed parts byte for byte; error alternatives and codes are integers.
 * Where public implementations name a member differently, the reader accepts both
 * (see docs/ipa.md). */
#include <stdio.h>
#include <string.h>

#include "core/json_min.h"
#include "core/log.h"
#include "ipa/ipa_internal.h"

#define JSON_CONTENT_TYPE "application/json;charset=UTF-8"
#define JSON_PATH         "/gsma/rsp2/esipa/"
#define JSON_MAX_DEPTH    8u

typedef enum {
    KIND_HEX,         /* hex string <-> primitive TLV */
    KIND_TEXT,        /* string <-> UTF8String TLV */
    KIND_TEXT_OR_TLV, /* answer: string, or base64 of the whole UTF8String TLV */
    KIND_INT,         /* integer <-> INTEGER TLV */
    KIND_FLAG,        /* true <-> NULL TLV */
    KIND_B64_VALUE,   /* base64 of the content <-> primitive TLV */
    KIND_B64_TLV,     /* base64 of the whole TLV <-> the TLV (tag 0: any) */
    KIND_B64_INNER,   /* base64 of the one TLV inside a tagged CHOICE alternative */
    KIND_B64_RETAG,   /* base64 of the TLV under json_tag <-> the same content under tag */
    KIND_ACKS,        /* array of integers, or base64 of EimAcknowledgements (BF53) */
} field_kind;

typedef struct {
    const char *name;
    const char *alias; /* another name some implementations use (read only) */
    uint16_t tag;      /* 0: any */
    uint16_t json_tag; /* KIND_B64_RETAG: the tag in JSON */
    uint8_t kind;      /* field_kind */
    bool required;
} field_map;

typedef struct {
    uint16_t tag;
    /* answer: the fields of the ok alternative `ok_tag`, or with ok_tag 0 alternatives of
     * which exactly one is expected (none: `empty_tag`, when not 0) */
    uint16_t ok_tag;
    uint16_t empty_tag;
    uint16_t error_tag;
    const char *function;
    const field_map *request; /* both lists end with a NULL name */
    const field_map *answer;
    const char *error_name;
} function_map;

/* SGP.32 v1.2 sections 6.3.2.1 to 6.3.2.7 (ASN.1 tags) and 6.4.1 (functions) */
static const field_map no_fields[] = {{NULL, NULL, 0, 0, 0, false}};

static const field_map get_package_request[] = {
    {"eidValue", NULL, 0x5A, 0, KIND_HEX, true},
    {"notifyStateChange", NULL, 0x80, 0, KIND_FLAG, false},
    {"stateChangeCause", NULL, 0x81, 0, KIND_INT, false},
    {"rPLMN", NULL, 0x82, 0, KIND_HEX, false},
    {NULL, NULL, 0, 0, 0, false}};
static const field_map get_package_answer[] = {
    {"euiccPackageRequest", NULL, 0xBF51, 0, KIND_B64_TLV, false},
    {"ipaEuiccDataRequest", NULL, 0xBF52, 0, KIND_B64_TLV, false},
    {"profileDownloadTriggerRequest", NULL, 0xBF54, 0, KIND_B64_TLV, false},
    {NULL, NULL, 0, 0, 0, false}};

static const field_map provide_result_request[] = {
    {"eidValue", NULL, 0x5A, 0, KIND_HEX, false},
    {"eimPackageResult", NULL, 0, 0, KIND_B64_TLV, true},
    {NULL, NULL, 0, 0, 0, false}};
static const field_map provide_result_answer[] = {
    {"eimAcknowledgements", NULL, 0xBF53, 0, KIND_ACKS, false}, {NULL, NULL, 0, 0, 0, false}};

static const field_map initiate_request[] = {
    {"euiccChallenge", NULL, 0x81, 0, KIND_B64_VALUE, true},
    {"smdpAddress", NULL, 0x83, 0, KIND_TEXT, false},
    {"euiccInfo1", NULL, 0xBF20, 0, KIND_B64_TLV, false},
    {"eimTransactionId", NULL, 0x82, 0, KIND_HEX, false},
    {NULL, NULL, 0, 0, 0, false}};
static const field_map initiate_answer[] = {
    {"transactionId", NULL, 0x80, 0, KIND_HEX, false},
    {"serverSigned1", NULL, 0x30, 0, KIND_B64_TLV, true},
    {"serverSignature1", NULL, 0x5F37, 0, KIND_B64_TLV, true},
    {"euiccCiPKIdentifierToBeUsed", "euiccCiPKIdToBeUsed", 0x04, 0, KIND_B64_TLV, true},
    {"serverCertificate", NULL, 0x30, 0, KIND_B64_TLV, true},
    {"matchingId", NULL, 0x0C, 0, KIND_TEXT_OR_TLV, false},
    {"ctxParams1", NULL, 0xA2, 0, KIND_B64_TLV, false},
    {NULL, NULL, 0, 0, 0, false}};

static const field_map authenticate_request[] = {
    {"transactionId", NULL, 0x80, 0, KIND_HEX, true},
    {"authenticateServerResponse", NULL, 0xBF38, 0, KIND_B64_TLV, true},
    {NULL, NULL, 0, 0, 0, false}};
static const field_map authenticate_answer[] = {
    {"transactionId", NULL, 0x80, 0, KIND_HEX, false},
    {"profileMetadata", "profileMetaData", 0xBF25, 0, KIND_B64_TLV, false},
    {"smdpSigned2", NULL, 0x30, 0, KIND_B64_TLV, true},
    {"smdpSignature2", NULL, 0x5F37, 0, KIND_B64_TLV, true},
    {"smdpCertificate", NULL, 0x30, 0, KIND_B64_TLV, true},
    {"hashCc", NULL, 0x04, 0, KIND_B64_TLV, false},
    {NULL, NULL, 0, 0, 0, false}};

static const field_map bpp_request[] = {
    {"transactionId", NULL, 0x80, 0, KIND_HEX, true},
    {"prepareDownloadResponse", NULL, 0xBF21, 0, KIND_B64_TLV, true},
    {NULL, NULL, 0, 0, 0, false}};
static const field_map bpp_answer[] = {{"transactionId", NULL, 0x80, 0, KIND_HEX, false},
                                       {"boundProfilePackage", NULL, 0xBF36, 0, KIND_B64_TLV, true},
                                       {NULL, NULL, 0, 0, 0, false}};

/* CancelSessionRequestEsipa carries the eUICC's CancelSessionResponse under the automatic tag
 * [1]; in JSON it travels as the eUICC produced it, under [65] (BF41) */
static const field_map cancel_request[] = {
    {"transactionId", NULL, 0x80, 0, KIND_HEX, true},
    {"cancelSessionResponse", NULL, 0xA1, 0xBF41, KIND_B64_RETAG, true},
    {NULL, NULL, 0, 0, 0, false}};

static const field_map notification_request[] = {
    {"pendingNotification", NULL, 0xA0, 0, KIND_B64_INNER, false},
    {"provideEimPackageResult", NULL, 0xBF50, 0, KIND_B64_TLV, false},
    {NULL, NULL, 0, 0, 0, false}};

static const function_map functions[] = {
    {0xBF4F, 0, 0, 0x02, "getEimPackage", get_package_request, get_package_answer,
     "eimPackageError"},
    {0xBF50, 0, 0x30, 0x02, "provideEimPackageResult", provide_result_request,
     provide_result_answer, "provideEimPackageResultError"},
    {0xBF39, 0xA0, 0, 0x81, "initiateAuthentication", initiate_request, initiate_answer,
     "initiateAuthenticationErrorEsipa"},
    {0xBF3B, 0xA0, 0, 0x82, "authenticateClient", authenticate_request, authenticate_answer,
     "authenticateClientErrorEsipa"},
    {0xBF3A, 0xA0, 0, 0x81, "getBoundProfilePackage", bpp_request, bpp_answer,
     "getBoundProfilePackageErrorEsipa"},
    {0xBF41, 0xA0, 0, 0x81, "cancelSession", cancel_request, no_fields, "cancelSessionErrorEsipa"},
    {0xBF3D, 0, 0, 0, "handleNotification", notification_request, no_fields, NULL},
};

static const function_map *find_function(uint32_t tag)
{
    for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++)
        if (functions[i].tag == tag)
            return &functions[i];
    return NULL;
}

static const field_map *find_request_field(const function_map *f, uint32_t tag)
{
    for (size_t i = 0; f->request[i].name; i++)
        if (f->request[i].tag == tag || f->request[i].tag == 0)
            return &f->request[i];
    return NULL;
}

/* ---- request: DER -> JSON ---------------------------------------------------------------- */

static rsp_status put_request_field(const field_map *field, const der_tlv *child, der_writer *json,
                                    bool *first, rsp_error *err)
{
    int64_t number = 0;
    der_view inner = child->value;
    rsp_status st = RSP_OK;
    json_min_put_name(json, field->name, first);
    switch (field->kind) {
    case KIND_HEX:
        json_min_put_hex(json, child->value);
        break;
    case KIND_TEXT:
        json_min_put_string(json, child->value.data, child->value.len);
        break;
    case KIND_INT:
        st = der_decode_int64(child, &number, err);
        json_min_put_int64(json, number);
        break;
    case KIND_FLAG:
        json_min_put_raw(json, "true");
        break;
    case KIND_B64_VALUE:
        json_min_put_base64(json, child->value);
        break;
    case KIND_B64_INNER: {
        der_tlv one;
        st = der_parse_single(inner, &one, err);
        json_min_put_base64(json, inner);
        break;
    }
    case KIND_B64_RETAG: {
        /* tag + length rebuilt around the same content octets */
        der_writer retagged;
        der_writer_init_dynamic(&retagged, json->alloc);
        der_put_tlv(&retagged, field->json_tag, child->value.data, child->value.len);
        st = der_writer_status(&retagged);
        json_min_put_base64(json, der_writer_view(&retagged));
        der_writer_free(&retagged);
        break;
    }
    default:
        json_min_put_base64(json, child->whole);
        break;
    }
    return st;
}

/* The JSON request for one ESipa message (SGP.22 v2.5 section 6.5.1.3 header first). */
static rsp_status build_request(ipa_instance *ipa, const function_map *f, const der_tlv *message,
                                der_writer *json, rsp_error *err)
{
    char call[24];
    snprintf(call, sizeof call, "%u", ++ipa->esipa_json_calls);
    json_min_put_raw(json, "{\"header\":{\"functionRequesterIdentifier\":");
    json_min_put_hex(json, der_view_make(ipa->eid, IPA_EID_SIZE));
    json_min_put_raw(json, ",\"functionCallIdentifier\":");
    json_min_put_string(json, (const uint8_t *)call, strlen(call));
    json_min_put_raw(json, "}");
    bool first = false;
    der_reader r;
    der_reader_init(&r, message->value, 0, 1);
    rsp_status st = RSP_OK;
    while (st == RSP_OK && !der_reader_at_end(&r)) {
        der_tlv child;
        st = der_reader_next(&r, &child, err);
        const field_map *field = st == RSP_OK ? find_request_field(f, child.tag) : NULL;
        if (st == RSP_OK && !field)
            st = rsp_error_set(err, RSP_ERR_UNSUPPORTED, child.tag, 0,
                               "ipa: %s has no JSON member for tag %X", f->function,
                               (unsigned)child.tag);
        if (st == RSP_OK)
            st = put_request_field(field, &child, json, &first, err);
    }
    json_min_put_raw(json, "}");
    return st == RSP_OK ? der_writer_status(json) : st;
}

/* ---- answer: JSON -> DER ----------------------------------------------------------------- */

static rsp_status lookup(der_view body, const field_map *field, der_view *value, rsp_error *err)
{
    rsp_status st = json_min_member(body, field->name, value, err);
    if (st == RSP_ERR_NOT_FOUND && field->alias)
        st = json_min_member(body, field->alias, value, err);
    return st;
}

/* The bytes appended since `from` must be one well-formed TLV with `tag` (0: any). */
static rsp_status check_tlv(const der_writer *w, size_t from, uint32_t tag, const char *name,
                            rsp_error *err)
{
    der_tlv tlv;
    rsp_error local = {0};
    rsp_status st = der_writer_status(w);
    if (st == RSP_OK)
        st = der_parse_single(der_view_make(w->buf + from, w->len - from), &tlv, &local);
    if (st == RSP_OK)
        st = der_validate_tree(&tlv, 0, &local);
    if (st == RSP_OK && tag != 0 && tlv.tag != tag)
        st = RSP_ERR_UNEXPECTED_TAG;
    if (st != RSP_OK)
        return rsp_error_set(err, st, tag, 0, "ipa: eIM JSON member %s is not the expected TLV",
                             name);
    return RSP_OK;
}

static rsp_status put_acks(der_view value, der_writer *out, rsp_error *err)
{
    size_t from = out->len;
    if (json_min_type_of(value) == JSON_MIN_STRING) {
        rsp_status st = json_min_base64(value, out, err);
        return st == RSP_OK ? check_tlv(out, from, 0xBF53, "eimAcknowledgements", err) : st;
    }
    size_t mark = der_begin(out, 0xBF53), pos = 0;
    der_view item;
    rsp_status st = RSP_OK;
    while (st == RSP_OK && json_min_array_next(value, &pos, &item)) {
        int64_t seq = 0;
        st = json_min_int64(item, &seq, err);
        /* SequenceNumber ::= [0] INTEGER (SGP.32 v1.2 section 2.11.1.4): the eIM's own DER
         * form, so the answer decodes as EimAcknowledgements */
        der_put_int64(out, 0x80, seq);
    }
    if (st == RSP_OK && pos != value.len)
        st = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0xBF53, 0,
                           "ipa: eimAcknowledgements is not an array of integers");
    der_end(out, mark);
    return st;
}

static rsp_status put_answer_field(const field_map *field, der_view value, der_writer *out,
                                   rsp_error *err)
{
    size_t from = out->len, mark;
    int64_t number = 0;
    rsp_status st;
    switch (field->kind) {
    case KIND_HEX:
        mark = der_begin(out, field->tag);
        st = json_min_hex(value, out, err);
        der_end(out, mark);
        return st;
    case KIND_TEXT_OR_TLV:
        /* base64 of a UTF8String TLV when it decodes to exactly that, else the text */
        if (json_min_base64(value, out, NULL) == RSP_OK &&
            check_tlv(out, from, field->tag, field->name, NULL) == RSP_OK)
            return RSP_OK;
        out->len = from;
        mark = der_begin(out, field->tag);
        st = json_min_string(value, out, err);
        der_end(out, mark);
        return st;
    case KIND_INT:
        st = json_min_int64(value, &number, err);
        der_put_int64(out, field->tag, number);
        return st;
    case KIND_ACKS:
        return put_acks(value, out, err);
    default:
        st = json_min_base64(value, out, err);
        return st == RSP_OK ? check_tlv(out, from, field->tag, field->name, err) : st;
    }
}

/* SGP.22 v2.5 section 6.5.1.4: Executed-Success / Executed-WithWarning carry the answer;
 * anything else is the eIM refusing the request (it could not read it). */
static rsp_status check_header(der_view body, rsp_error *err)
{
    der_view header, execution, status, code_data, subject = {0}, reason = {0}, message = {0};
    uint8_t text[96];
    der_writer w;
    der_writer_init_fixed(&w, text, sizeof text - 1);
    rsp_status st = json_min_member(body, "header", &header, err);
    if (st == RSP_OK)
        st = json_min_member(header, "functionExecutionStatus", &execution, err);
    if (st == RSP_OK)
        st = json_min_member(execution, "status", &status, err);
    if (st == RSP_OK)
        st = json_min_string(status, &w, err);
    if (st != RSP_OK)
        return rsp_error_set(err, RSP_ERR_MISSING_FIELD, 0, 0,
                             "ipa: eIM JSON answer without functionExecutionStatus");
    if ((w.len == 16 && memcmp(text, "Executed-Success", 16) == 0) ||
        (w.len == 20 && memcmp(text, "Executed-WithWarning", 20) == 0))
        return RSP_OK;
    text[w.len] = 0;
    if (json_min_member(execution, "statusCodeData", &code_data, NULL) == RSP_OK) {
        json_min_member(code_data, "subjectCode", &subject, NULL);
        json_min_member(code_data, "reasonCode", &reason, NULL);
        json_min_member(code_data, "message", &message, NULL);
    }
    return rsp_error_set(err, RSP_ERR_IO, 0, 0, "ipa: eIM answered %s %.*s/%.*s %.*s",
                         (const char *)text, (int)(subject.len < 16 ? subject.len : 16),
                         (const char *)subject.data, (int)(reason.len < 16 ? reason.len : 16),
                         (const char *)reason.data, (int)(message.len < 120 ? message.len : 120),
                         (const char *)message.data);
}

/* Fields of the ok alternative (or the one alternative present) appended to out. */
static rsp_status put_ok_fields(const function_map *f, der_view body, der_writer *out,
                                unsigned *present, rsp_error *err)
{
    rsp_status st = RSP_OK;
    for (size_t i = 0; st == RSP_OK && f->answer[i].name; i++) {
        der_view value;
        st = lookup(body, &f->answer[i], &value, err);
        if (st == RSP_ERR_NOT_FOUND && f->answer[i].required)
            return rsp_error_set(err, RSP_ERR_MISSING_FIELD, f->answer[i].tag, 0,
                                 "ipa: eIM JSON answer to %s without %s", f->function,
                                 f->answer[i].name);
        if (st == RSP_ERR_NOT_FOUND) {
            st = RSP_OK;
            continue;
        }
        if (st == RSP_OK)
            st = put_answer_field(&f->answer[i], value, out, err);
        (*present)++;
    }
    return st;
}

/* The EsipaMessageFromEimToIpa DER for a JSON answer (SGP.32 v1.2 section 6.3.2 shapes). */
static rsp_status build_answer(const function_map *f, der_view body, der_writer *out,
                               rsp_error *err)
{
    rsp_status st = json_min_validate(body, JSON_MAX_DEPTH, err);
    if (st == RSP_OK && json_min_type_of(body) != JSON_MIN_OBJECT)
        st = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "ipa: eIM JSON answer is not an object");
    if (st == RSP_OK)
        st = check_header(body, err);
    if (st != RSP_OK || f->tag == 0xBF3D)
        return st; /* HandleNotification has no answer data */
    der_view value;
    size_t outer = der_begin(out, f->tag);
    if (f->error_name && json_min_member(body, f->error_name, &value, err) == RSP_OK) {
        /* a CHOICE: the error alternative excludes every other answer member */
        field_map error = {f->error_name, NULL, f->error_tag, 0, KIND_INT, true};
        der_view other;
        for (size_t i = 0; f->answer[i].name && st == RSP_OK; i++)
            if (lookup(body, &f->answer[i], &other, NULL) != RSP_ERR_NOT_FOUND)
                st = rsp_error_set(err, RSP_ERR_BAD_VALUE, f->tag, 0,
                                   "ipa: eIM JSON answer to %s holds %s and %s", f->function,
                                   f->error_name, f->answer[i].name);
        if (st == RSP_OK)
            st = put_answer_field(&error, value, out, err);
    } else if (f->ok_tag != 0) {
        unsigned present = 0;
        size_t ok = der_begin(out, f->ok_tag);
        st = put_ok_fields(f, body, out, &present, err);
        der_end(out, ok);
    } else {
        unsigned present = 0;
        st = put_ok_fields(f, body, out, &present, err);
        if (st == RSP_OK && present == 0 && f->empty_tag)
            der_put_tlv(out, f->empty_tag, NULL, 0);
        else if (st == RSP_OK && present != 1)
            st = rsp_error_set(err, RSP_ERR_BAD_VALUE, f->tag, 0,
                               "ipa: eIM JSON answer to %s holds %u alternatives", f->function,
                               present);
    }
    der_end(out, outer);
    return st == RSP_OK ? der_writer_status(out) : st;
}

/* Origin (scheme://host[:port]) of the eIM URL followed by the function's path. */
static rsp_status function_url(const char *eim_url, const char *function, char *url, size_t size,
                               rsp_error *err)
{
    const char *host = strstr(eim_url, "://");
    const char *path = host ? strchr(host + 3, '/') : NULL;
    size_t origin = path ? (size_t)(path - eim_url) : strlen(eim_url);
    int n = snprintf(url, size, "%.*s%s%s", (int)origin, eim_url, JSON_PATH, function);
    if (n < 0 || (size_t)n >= size)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "ipa: eIM URL too long");
    return RSP_OK;
}

/* SGP.32 v1.2 section 6.4: one HTTPS POST per ESipa function, JSON both ways. */
rsp_status ipa_esipa_json_exchange(ipa_instance *ipa, der_view message, der_writer *answer,
                                   rsp_error *err)
{
    der_tlv tlv;
    rsp_status st = der_parse_single(message, &tlv, err);
    const function_map *f = st == RSP_OK ? find_function(tlv.tag) : NULL;
    if (st == RSP_OK && !f)
        st = rsp_error_set(err, RSP_ERR_UNSUPPORTED, tlv.tag, 0, "ipa: no ESipa JSON function");
    char url[IPA_URL_MAX + 40];
    if (st == RSP_OK)
        st = function_url(ipa->eim_url, f->function, url, sizeof url, err);
    if (st != RSP_OK)
        return st;
    der_writer json, body;
    ipa_writer_init(ipa, &json);
    ipa_writer_init(ipa, &body);
    long status = 0;
    size_t before = answer->len;
    st = build_request(ipa, f, &tlv, &json, err);
    if (st == RSP_OK)
        st = ipa_esipa_post(ipa, url, JSON_CONTENT_TYPE, der_writer_view(&json), &body, &status,
                            err);
    der_writer_free(&json);
    if (st == RSP_OK && der_writer_status(&body) != RSP_OK)
        st = rsp_error_set(err, der_writer_status(&body), 0, 0, "ipa: eIM answer too large");
    if (st == RSP_OK && status == 204 && body.len == 0) {
        /* no content: HandleNotification, or an answer without data */
    } else if (st == RSP_OK && status != 200) {
        st = rsp_error_set(err, RSP_ERR_IO, 0, 0, "ipa: eIM answered HTTP %ld", status);
    } else if (st == RSP_OK) {
        st = build_answer(f, der_writer_view(&body), answer, err);
    }
    if (st != RSP_OK && answer->len > before)
        answer->len = before; /* nothing half-converted reaches a flow */
    der_writer_free(&body);
    return st;
}
