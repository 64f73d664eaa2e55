/* ES9+ JSON binding (SGP.22 v2.5 sections 6.5.1 and 6.5.2) for the direct download: the
 * ESipa-shaped DER messages of download.c are turned into ES9+ JSON requests to the SM-DP+,
 * and the JSON answers back into the ESipa DER shapes, so the download flow is the same for
 * both paths. Binary fields are base64 of the whole TLV, transactionId is hex of its value,
 * euiccChallenge base64 of its value (section 6.5.2). A small JSON writer and a scanner for
 * flat string members are enough: libipa stays without a JSON library. */
#include <stdio.h>
#include <string.h>

#include "ipa/ipa_internal.h"

#define JSON_CONTENT_TYPE "application/json;charset=UTF-8"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_text(der_writer *w, const char *text)
{
    der_put_raw(w, (const uint8_t *)text, strlen(text));
}

static void put_base64(der_writer *w, der_view data)
{
    for (size_t i = 0; i < data.len; i += 3) {
        uint32_t v = (uint32_t)data.data[i] << 16;
        size_t n = data.len - i;
        if (n > 1)
            v |= (uint32_t)data.data[i + 1] << 8;
        if (n > 2)
            v |= data.data[i + 2];
        uint8_t out[4] = {(uint8_t)b64_alphabet[v >> 18 & 63], (uint8_t)b64_alphabet[v >> 12 & 63],
                          n > 1 ? (uint8_t)b64_alphabet[v >> 6 & 63] : '=',
                          n > 2 ? (uint8_t)b64_alphabet[v & 63] : '='};
        der_put_raw(w, out, 4);
    }
}

static int b64_value(uint8_t c)
{
    const char *p = c ? strchr(b64_alphabet, c) : NULL;
    return p ? (int)(p - b64_alphabet) : -1;
}

/* Appends the decoded bytes; false on a character outside the alphabet. */
static bool decode_base64(der_view text, der_writer *out)
{
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < text.len; i++) {
        uint8_t c = text.data[i];
        if (c == '=')
            break;
        if (c == '\\' && i + 1 < text.len && text.data[i + 1] == '/')
            continue; /* JSON may escape '/' */
        int v = b64_value(c);
        if (v < 0)
            return false;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            uint8_t byte = (uint8_t)(acc >> bits);
            der_put_raw(out, &byte, 1);
        }
    }
    return true;
}

static void member(der_writer *w, const char *name, bool *first)
{
    put_text(w, *first ? "{\"" : "\",\""); /* closes the previous string value */
    put_text(w, name);
    put_text(w, "\":\"");
    *first = false;
}

/* ---- scanning ------------------------------------------------------------------------- */

static size_t skip_space(der_view t, size_t i)
{
    while (i < t.len &&
           (t.data[i] == ' ' || t.data[i] == '\n' || t.data[i] == '\r' || t.data[i] == '\t'))
        i++;
    return i;
}

/* End of the string starting at t[i] == '"' (index after the closing quote), 0 if none. */
static size_t skip_string(der_view t, size_t i)
{
    for (i++; i < t.len; i++) {
        if (t.data[i] == '\\')
            i++;
        else if (t.data[i] == '"')
            return i + 1;
    }
    return 0;
}

/* End of the value starting at t[i] (any JSON value), 0 on malformed input. */
static size_t skip_value(der_view t, size_t i)
{
    if (i >= t.len)
        return 0;
    if (t.data[i] == '"')
        return skip_string(t, i);
    if (t.data[i] != '{' && t.data[i] != '[') {
        while (i < t.len && t.data[i] != ',' && t.data[i] != '}' && t.data[i] != ']')
            i++;
        return i;
    }
    unsigned depth = 0;
    for (; i < t.len; i++) {
        uint8_t c = t.data[i];
        if (c == '"') {
            i = skip_string(t, i);
            if (i == 0)
                return 0;
            i--;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if ((c == '}' || c == ']') && --depth == 0) {
            return i + 1;
        }
    }
    return 0;
}

/* The raw value of member name in the object text (string values without their quotes). */
static bool find_member(der_view object, const char *name, der_view *value)
{
    size_t i = skip_space(object, 0), name_len = strlen(name);
    if (i >= object.len || object.data[i] != '{')
        return false;
    i++;
    while (i < object.len) {
        i = skip_space(object, i);
        if (i >= object.len || object.data[i] != '"')
            return false;
        size_t key_end = skip_string(object, i);
        if (key_end == 0)
            return false;
        bool match =
            key_end - i - 2 == name_len && memcmp(object.data + i + 1, name, name_len) == 0;
        i = skip_space(object, key_end);
        if (i >= object.len || object.data[i] != ':')
            return false;
        i = skip_space(object, i + 1);
        size_t end = skip_value(object, i);
        if (end == 0)
            return false;
        if (match) {
            bool quoted = object.data[i] == '"';
            *value = der_view_make(object.data + i + quoted, end - i - 2 * quoted);
            return true;
        }
        i = skip_space(object, end);
        if (i < object.len && object.data[i] == ',')
            i++;
        else
            return false;
    }
    return false;
}

/* header.functionExecutionStatus.status starts with "Executed" (SGP.22 v2.5 section 6.5.1.4) */
static bool executed(der_view body)
{
    der_view header, execution, status;
    return find_member(body, "header", &header) &&
           find_member(header, "functionExecutionStatus", &execution) &&
           find_member(execution, "status", &status) && status.len >= 8 &&
           memcmp(status.data, "Executed", 8) == 0;
}

/* ---- requests ------------------------------------------------------------------------- */

typedef struct {
    uint32_t tag;
    const char *function;
    const char *field; /* the request's binary field (besides transactionId) */
    /* answer fields in ESipa order; "transactionId" is hex, the others base64 TLVs */
    const char *answer[6];
} es9_function;

static const es9_function functions[] = {
    {0xBF39,
     "initiateAuthentication",
     NULL,
     {"transactionId", "serverSigned1", "serverSignature1", "euiccCiPKIdToBeUsed",
      "serverCertificate", NULL}},
    {0xBF3B,
     "authenticateClient",
     "authenticateServerResponse",
     {"transactionId", "profileMetadata", "smdpSigned2", "smdpSignature2", "smdpCertificate",
      NULL}},
    {0xBF3A,
     "getBoundProfilePackage",
     "prepareDownloadResponse",
     {"transactionId", "boundProfilePackage", NULL}},
    {0xBF41, "cancelSession", "cancelSessionResponse", {NULL}},
    {0xBF37, "handleNotification", "pendingNotification", {NULL}},
};

static const es9_function *find_function(uint32_t tag)
{
    for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++)
        if (functions[i].tag == tag)
            return &functions[i];
    return NULL;
}

static void put_hex_member(der_writer *w, der_view value)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < value.len; i++) {
        uint8_t pair[2] = {(uint8_t)digits[value.data[i] >> 4],
                           (uint8_t)digits[value.data[i] & 15]};
        der_put_raw(w, pair, 2);
    }
}

/* JSON request from the ESipa-shaped message (or, for handleNotification, the notification). */
static rsp_status build_request(const es9_function *f, der_view message, const char *address,
                                der_writer *json, rsp_error *err)
{
    bool first = true;
    der_view v;
    if (f->tag == 0xBF37) {
        member(json, f->field, &first);
        put_base64(json, message);
    } else if (f->tag == 0xBF39) {
        der_view info1;
        if (!ipa_find_child_value(message, 0x81, &v) || !ipa_find_child(message, 0xBF20, &info1))
            return rsp_error_set(err, RSP_ERR_MISSING_FIELD, f->tag, 0, "ipa: incomplete request");
        member(json, "euiccChallenge", &first);
        put_base64(json, v);
        member(json, "euiccInfo1", &first);
        put_base64(json, info1);
        member(json, "smdpAddress", &first);
        put_text(json, address);
    } else {
        der_tlv outer, tx, field;
        der_reader r;
        rsp_status st = der_parse_single(message, &outer, err);
        if (st == RSP_OK) {
            der_reader_init(&r, outer.value, 0, 1);
            st = der_reader_next(&r, &tx, err);
        }
        if (st == RSP_OK)
            st = der_reader_next(&r, &field, err);
        if (st != RSP_OK)
            return st;
        member(json, "transactionId", &first);
        put_hex_member(json, tx.value);
        member(json, f->field, &first);
        if (f->tag == 0xBF41 && field.tag == 0xA1) {
            /* ES9+ carries the eUICC's CancelSessionResponse under its own tag [65], ESipa
             * under the automatic tag [1] */
            der_writer retagged;
            der_writer_init_dynamic(&retagged, json->alloc);
            der_put_tlv(&retagged, 0xBF41, field.value.data, field.value.len);
            put_base64(json, der_writer_view(&retagged));
            st = der_writer_status(&retagged);
            der_writer_free(&retagged);
            if (st != RSP_OK)
                return st;
        } else {
            put_base64(json, field.whole);
        }
    }
    put_text(json, "\"}");
    return der_writer_status(json);
}

static bool hex_digit(uint8_t c, uint8_t *v)
{
    if (c >= '0' && c <= '9')
        *v = (uint8_t)(c - '0');
    else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        *v = (uint8_t)((c | 0x20) - 'a' + 10);
    else
        return false;
    return true;
}

/* ESipa-shaped answer tag { A0 { fields } } from the JSON body. */
static rsp_status build_answer(const es9_function *f, der_view body, der_writer *answer,
                               rsp_error *err)
{
    size_t outer = der_begin(answer, f->tag);
    if (!executed(body)) {
        /* the SM-DP+ refused: the error alternative, with undefinedError as the ESipa code */
        der_put_int64(answer, f->tag == 0xBF3B ? 0x82 : 0x81, 127);
        der_end(answer, outer);
        return der_writer_status(answer);
    }
    size_t ok = der_begin(answer, 0xA0);
    for (size_t i = 0; i < 6 && f->answer[i]; i++) {
        der_view v;
        if (!find_member(body, f->answer[i], &v)) {
            if (strcmp(f->answer[i], "profileMetadata") == 0)
                continue; /* optional */
            return rsp_error_set(err, RSP_ERR_MISSING_FIELD, f->tag, 0,
                                 "ipa: SM-DP+ answer without %s", f->answer[i]);
        }
        if (i == 0) {
            size_t tx = der_begin(answer, 0x80);
            for (size_t k = 0; k + 1 < v.len; k += 2) {
                uint8_t hi, lo;
                if (!hex_digit(v.data[k], &hi) || !hex_digit(v.data[k + 1], &lo))
                    return rsp_error_set(err, RSP_ERR_BAD_VALUE, f->tag, 0,
                                         "ipa: transactionId is not hex");
                uint8_t byte = (uint8_t)(hi << 4 | lo);
                der_put_raw(answer, &byte, 1);
            }
            der_end(answer, tx);
        } else if (!decode_base64(v, answer)) {
            return rsp_error_set(err, RSP_ERR_BAD_VALUE, f->tag, 0, "ipa: %s is not base64",
                                 f->answer[i]);
        }
    }
    der_end(answer, ok);
    der_end(answer, outer);
    return der_writer_status(answer);
}

/* SGP.22 v2.5 section 6.5.2: one ES9+ function over HTTPS with the JSON binding. */
rsp_status ipa_es9_exchange(ipa_instance *ipa, const char *smdp_address, der_view message,
                            der_writer *answer, rsp_error *err)
{
    der_tlv tlv;
    rsp_status st = der_parse_single(message, &tlv, err);
    const es9_function *f = st == RSP_OK ? find_function(tlv.tag) : NULL;
    if (st == RSP_OK && !f)
        st = rsp_error_set(err, RSP_ERR_UNSUPPORTED, tlv.tag, 0, "ipa: no ES9+ function");
    if (st != RSP_OK)
        return st;
    char url[IPA_URL_MAX];
    int n = snprintf(url, sizeof url, "https://%s/gsma/rsp2/es9plus/%s", smdp_address, f->function);
    if (n < 0 || (size_t)n >= sizeof url)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "ipa: SM-DP+ address too long");
    der_writer json, body;
    ipa_writer_init(ipa, &json);
    ipa_writer_init(ipa, &body);
    st = build_request(f, message, smdp_address, &json, err);
    long status = 0;
    if (st == RSP_OK) {
        ipa_http_request request = {
            .url = url, .content_type = JSON_CONTENT_TYPE, .body = der_writer_view(&json)};
        rsp_error local = {0};
        st = ipa->platform.http_post(ipa->platform.http_ctx, &request, &body, &status, &local);
        if (st != RSP_OK)
            st = rsp_error_set(err, RSP_ERR_IO, 0, 0, "ipa: SM-DP+ unreachable: %s", local.message);
    }
    if (st == RSP_OK && status == 204 && f->answer[0] == NULL) {
        size_t mark = der_begin(answer, f->tag); /* no content: the ok alternative */
        der_put_tlv(answer, 0xA0, NULL, 0);
        der_end(answer, mark);
    } else if (st == RSP_OK && status != 200) {
        st = rsp_error_set(err, RSP_ERR_IO, 0, 0, "ipa: SM-DP+ answered HTTP %ld", status);
    } else if (st == RSP_OK) {
        st = build_answer(f, der_writer_view(&body), answer, err);
    }
    der_writer_free(&json);
    der_writer_free(&body);
    return st;
}
