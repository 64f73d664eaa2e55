#include "net/json.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

json_t *rsp_json_parse_object(const char *text, size_t len, size_t max_len, rsp_error *err)
{
    if (text == NULL) {
        rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, 0, 0, "no JSON text");
        return NULL;
    }
    if (len > max_len) {
        rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "JSON text of %zu bytes exceeds %zu", len,
                      max_len);
        return NULL;
    }
    json_error_t parse_error;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &parse_error);
    if (root == NULL) {
        rsp_error_set(err, RSP_ERR_BAD_VALUE, 0,
                      (size_t)(parse_error.position > 0 ? parse_error.position : 0),
                      "JSON line %d column %d: %s", parse_error.line, parse_error.column,
                      parse_error.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "JSON top level is not an object");
        return NULL;
    }
    return root;
}

char *rsp_json_dump(const json_t *value, size_t *len)
{
    char *text = json_dumps(value, JSON_COMPACT);
    if (text != NULL && len != NULL)
        *len = strlen(text);
    return text;
}

/* Shared lookup: RSP_OK with *field NULL for an absent optional field. */
static rsp_status lookup(const json_t *object, const char *key, bool required, json_t **field,
                         bool *present, rsp_error *err)
{
    *field = NULL;
    if (present != NULL)
        *present = false;
    if (!json_is_object(object))
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "'%s': parent is not an object", key);
    json_t *value = json_object_get(object, key);
    if (value == NULL) {
        if (required)
            return rsp_error_set(err, RSP_ERR_MISSING_FIELD, 0, 0, "missing field '%s'", key);
        return RSP_OK;
    }
    *field = value;
    if (present != NULL)
        *present = true;
    return RSP_OK;
}

static rsp_status type_error(const char *key, const char *expected, rsp_error *err)
{
    return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "field '%s' must be %s", key, expected);
}

rsp_status rsp_json_get_string(const json_t *object, const char *key, bool required,
                               const char **out, bool *present, rsp_error *err)
{
    json_t *field;
    *out = NULL;
    rsp_status st = lookup(object, key, required, &field, present, err);
    if (st != RSP_OK || field == NULL)
        return st;
    if (!json_is_string(field))
        return type_error(key, "a string", err);
    *out = json_string_value(field);
    return RSP_OK;
}

rsp_status rsp_json_get_int(const json_t *object, const char *key, bool required, int64_t min,
                            int64_t max, int64_t *out, bool *present, rsp_error *err)
{
    json_t *field;
    rsp_status st = lookup(object, key, required, &field, present, err);
    if (st != RSP_OK || field == NULL)
        return st;
    if (!json_is_integer(field))
        return type_error(key, "an integer", err);
    json_int_t value = json_integer_value(field);
    if (value < min || value > max)
        return rsp_error_set(err, RSP_ERR_INTEGER_RANGE, 0, 0,
                             "field '%s' = %lld outside [%lld, %lld]", key, (long long)value,
                             (long long)min, (long long)max);
    *out = (int64_t)value;
    return RSP_OK;
}

rsp_status rsp_json_get_bool(const json_t *object, const char *key, bool required, bool *out,
                             bool *present, rsp_error *err)
{
    json_t *field;
    rsp_status st = lookup(object, key, required, &field, present, err);
    if (st != RSP_OK || field == NULL)
        return st;
    if (!json_is_boolean(field))
        return type_error(key, "a boolean", err);
    *out = json_is_true(field);
    return RSP_OK;
}

rsp_status rsp_json_get_object(const json_t *object, const char *key, bool required, json_t **out,
                               bool *present, rsp_error *err)
{
    json_t *field;
    *out = NULL;
    rsp_status st = lookup(object, key, required, &field, present, err);
    if (st != RSP_OK || field == NULL)
        return st;
    if (!json_is_object(field))
        return type_error(key, "an object", err);
    *out = field;
    return RSP_OK;
}

rsp_status rsp_json_get_base64(const json_t *object, const char *key, bool required, size_t max_len,
                               uint8_t **out_owned, size_t *out_len, bool *present, rsp_error *err)
{
    const char *text;
    *out_owned = NULL;
    *out_len = 0;
    rsp_status st = rsp_json_get_string(object, key, required, &text, present, err);
    if (st != RSP_OK || text == NULL)
        return st;
    size_t text_len = json_string_length(json_object_get(object, key));
    /* Reject before decoding so an oversized field costs no allocation. */
    if (text_len / 4 * 3 > max_len + 2)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "field '%s' longer than %zu bytes", key,
                             max_len);
    rsp_error local;
    rsp_error_clear(&local);
    st = rsp_base64_decode(text, text_len, out_owned, out_len, &local);
    if (st != RSP_OK)
        return rsp_error_set(err, st, 0, local.offset, "field '%s': %s", key, local.message);
    if (*out_len > max_len) {
        free(*out_owned);
        *out_owned = NULL;
        *out_len = 0;
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "field '%s' longer than %zu bytes", key,
                             max_len);
    }
    return RSP_OK;
}

rsp_status rsp_json_get_hex(const json_t *object, const char *key, bool required, size_t min_len,
                            size_t max_len, uint8_t *out, size_t out_size, size_t *out_len,
                            bool *present, rsp_error *err)
{
    const char *text;
    *out_len = 0;
    rsp_status st = rsp_json_get_string(object, key, required, &text, present, err);
    if (st != RSP_OK || text == NULL)
        return st;
    size_t text_len = json_string_length(json_object_get(object, key));
    if (text_len / 2 > max_len || text_len / 2 < min_len)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0,
                             "field '%s' must hold %zu to %zu bytes of hex", key, min_len, max_len);
    rsp_error local;
    rsp_error_clear(&local);
    st = rsp_hex_decode(text, text_len, out, out_size, out_len, &local);
    if (st != RSP_OK)
        return rsp_error_set(err, st, 0, local.offset, "field '%s': %s", key, local.message);
    return RSP_OK;
}

rsp_status rsp_json_set_base64(json_t *object, const char *key, const uint8_t *data, size_t len)
{
    char *text = rsp_base64_encode(data, len);
    if (text == NULL)
        return RSP_ERR_NO_MEMORY;
    int rc = json_object_set_new(object, key, json_string(text));
    free(text);
    return rc == 0 ? RSP_OK : RSP_ERR_NO_MEMORY;
}

rsp_status rsp_json_set_hex(json_t *object, const char *key, const uint8_t *data, size_t len)
{
    char *text = malloc(2 * len + 1);
    if (text == NULL)
        return RSP_ERR_NO_MEMORY;
    rsp_hex_encode(data, len, text, 2 * len + 1);
    int rc = json_object_set_new(object, key, json_string(text));
    free(text);
    return rc == 0 ? RSP_OK : RSP_ERR_NO_MEMORY;
}

char *rsp_base64_encode(const uint8_t *data, size_t len)
{
    if (len > (size_t)INT_MAX / 4 * 3 - 3)
        return NULL;
    size_t out_size = (len + 2) / 3 * 4 + 1;
    char *out = malloc(out_size);
    if (out == NULL)
        return NULL;
    if (len == 0) {
        out[0] = '\0';
        return out;
    }
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

static bool is_base64_alphabet(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* Value of an alphabet character (only called on validated input). */
static unsigned base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return (unsigned)(c - 'A');
    if (c >= 'a' && c <= 'z')
        return (unsigned)(c - 'a' + 26);
    if (c >= '0' && c <= '9')
        return (unsigned)(c - '0' + 52);
    return c == '+' ? 62u : 63u;
}

/* RFC 4648 section 3.5: canonical encodings only. OpenSSL's decoder skips whitespace and does
 * not check padding, so the text is validated here and OpenSSL does the conversion. */
rsp_status rsp_base64_decode(const char *text, size_t text_len, uint8_t **out_owned,
                             size_t *out_len, rsp_error *err)
{
    const unsigned char *s = (const unsigned char *)text;
    *out_owned = NULL;
    *out_len = 0;
    if (text_len % 4 != 0)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, text_len,
                             "base64 length %zu is not a multiple of 4", text_len);
    if (text_len > (size_t)INT_MAX)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "base64 text too long");
    size_t padding = 0;
    if (text_len > 0 && s[text_len - 1] == '=')
        padding = (text_len > 1 && s[text_len - 2] == '=') ? 2 : 1;
    for (size_t i = 0; i < text_len - padding; i++) {
        if (!is_base64_alphabet(s[i]))
            return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, i,
                                 "invalid base64 character 0x%02X at %zu", s[i], i);
    }
    if (padding > 0) {
        /* The unused low bits of the last symbol must be zero. */
        unsigned last = base64_value(s[text_len - padding - 1]);
        unsigned mask = padding == 1 ? 0x03u : 0x0Fu;
        if (last & mask)
            return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, text_len - padding - 1,
                                 "non-canonical base64: non-zero pad bits");
    }
    size_t decoded_len = text_len / 4 * 3 - padding;
    /* EVP_DecodeBlock writes whole groups of 3, padding included. */
    uint8_t *out = malloc(text_len / 4 * 3 + 1);
    if (out == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, 0, 0, "out of memory");
    if (text_len > 0 && EVP_DecodeBlock(out, s, (int)text_len) < 0) {
        free(out);
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "base64 decoding failed");
    }
    *out_owned = out;
    *out_len = decoded_len;
    return RSP_OK;
}

size_t rsp_hex_encode(const uint8_t *data, size_t len, char *out, size_t out_size)
{
    static const char digits[] = "0123456789ABCDEF";
    if (out_size < 2 * len + 1) {
        if (out_size > 0)
            out[0] = '\0';
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
    return 2 * len;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

rsp_status rsp_hex_decode(const char *text, size_t text_len, uint8_t *out, size_t out_size,
                          size_t *out_len, rsp_error *err)
{
    *out_len = 0;
    if (text_len % 2 != 0)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, text_len, "odd hex length %zu", text_len);
    if (text_len / 2 > out_size)
        return rsp_error_set(err, RSP_ERR_BUFFER_TOO_SMALL, 0, 0, "%zu hex bytes do not fit in %zu",
                             text_len / 2, out_size);
    for (size_t i = 0; i < text_len; i += 2) {
        int high = hex_value((unsigned char)text[i]);
        int low = hex_value((unsigned char)text[i + 1]);
        if (high < 0 || low < 0)
            return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, high < 0 ? i : i + 1,
                                 "invalid hex digit at %zu", high < 0 ? i : i + 1);
        out[i / 2] = (uint8_t)(high << 4 | low);
    }
    *out_len = text_len / 2;
    return RSP_OK;
}

static const char *const execution_status_names[] = {"Executed-Success", "Executed-WithWarning",
                                                     "Failed", "Expired"};

const char *rsp_execution_status_name(rsp_execution_status status)
{
    if ((unsigned)status > RSP_EXECUTION_EXPIRED)
        return NULL;
    return execution_status_names[status];
}

bool rsp_execution_status_parse(const char *name, rsp_execution_status *out)
{
    for (unsigned i = 0; i <= RSP_EXECUTION_EXPIRED; i++) {
        if (strcmp(name, execution_status_names[i]) == 0) {
            *out = (rsp_execution_status)i;
            return true;
        }
    }
    return false;
}

/* SGP.22 v2.5 section 6.5.1.3 */
json_t *rsp_json_request_header(const char *function_requester_identifier,
                                const char *function_call_identifier)
{
    if (function_requester_identifier == NULL || function_call_identifier == NULL)
        return NULL;
    return json_pack("{s:s, s:s}", "functionRequesterIdentifier", function_requester_identifier,
                     "functionCallIdentifier", function_call_identifier);
}

/* Adds key: value when value is not NULL; false on allocation failure. */
static bool set_optional_string(json_t *object, const char *key, const char *value)
{
    if (value == NULL)
        return true;
    return json_object_set_new(object, key, json_string(value)) == 0;
}

/* SGP.22 v2.5 section 6.5.1.4 */
json_t *rsp_json_response_header(rsp_execution_status status, const rsp_status_code_data *data)
{
    const char *name = rsp_execution_status_name(status);
    if (name == NULL)
        return NULL;
    json_t *execution = json_pack("{s:s}", "status", name);
    json_t *header = json_object();
    json_t *code_data = data != NULL ? json_object() : NULL;
    bool ok = execution != NULL && header != NULL && (data == NULL || code_data != NULL);
    if (ok && data != NULL) {
        ok = set_optional_string(code_data, "subjectCode", data->subject_code) &&
             set_optional_string(code_data, "reasonCode", data->reason_code) &&
             set_optional_string(code_data, "subjectIdentifier", data->subject_identifier) &&
             set_optional_string(code_data, "message", data->message) &&
             json_object_set(execution, "statusCodeData", code_data) == 0;
    }
    if (ok)
        ok = json_object_set(header, "functionExecutionStatus", execution) == 0;
    json_decref(code_data);
    json_decref(execution);
    if (!ok) {
        json_decref(header);
        return NULL;
    }
    return header;
}

/* SGP.22 v2.5 section 6.5.1.3 */
rsp_status rsp_json_parse_request_header(const json_t *body, const char **requester,
                                         const char **call_identifier, rsp_error *err)
{
    json_t *header;
    rsp_status st = rsp_json_get_object(body, "header", true, &header, NULL, err);
    if (st == RSP_OK)
        st = rsp_json_get_string(header, "functionRequesterIdentifier", true, requester, NULL, err);
    if (st == RSP_OK)
        st =
            rsp_json_get_string(header, "functionCallIdentifier", true, call_identifier, NULL, err);
    if (st == RSP_OK && ((*requester)[0] == '\0' || (*call_identifier)[0] == '\0'))
        st = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "empty identifier in request header");
    return st;
}

/* SGP.22 v2.5 section 6.5.1.4 */
rsp_status rsp_json_parse_response_header(const json_t *body, rsp_execution_status *status,
                                          rsp_status_code_data *data, rsp_error *err)
{
    json_t *header, *execution, *code_data = NULL;
    const char *name = NULL;
    bool has_code_data = false;
    memset(data, 0, sizeof *data);
    rsp_status st = rsp_json_get_object(body, "header", true, &header, NULL, err);
    if (st == RSP_OK)
        st = rsp_json_get_object(header, "functionExecutionStatus", true, &execution, NULL, err);
    if (st == RSP_OK)
        st = rsp_json_get_string(execution, "status", true, &name, NULL, err);
    if (st == RSP_OK && !rsp_execution_status_parse(name, status))
        st = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "unknown execution status '%s'", name);
    if (st == RSP_OK)
        st = rsp_json_get_object(execution, "statusCodeData", false, &code_data, &has_code_data,
                                 err);
    if (st == RSP_OK && has_code_data) {
        st = rsp_json_get_string(code_data, "subjectCode", true, &data->subject_code, NULL, err);
        if (st == RSP_OK)
            st = rsp_json_get_string(code_data, "reasonCode", true, &data->reason_code, NULL, err);
        if (st == RSP_OK)
            st = rsp_json_get_string(code_data, "subjectIdentifier", false,
                                     &data->subject_identifier, NULL, err);
        if (st == RSP_OK)
            st = rsp_json_get_string(code_data, "message", false, &data->message, NULL, err);
    }
    return st;
}
