/* JSON glue for the SGP.22 / SGP.32 HTTP bindings (ES9+, ES2+, ESipa JSON), on jansson.
 *
 * Strictness is the point: the bindings carry ASN.1 values as base64 and identifiers as hex,
 * and a lenient decoder would accept two spellings of one value. Every getter checks the JSON
 * type and reports the field name in the error; base64 must be canonical (RFC 4648 section 4
 * alphabet, padding to a multiple of 4, zero pad bits, no whitespace).
 *
 * Ownership: json_t values are jansson reference counted (json_decref). Strings returned by
 * the getters are borrowed from the json_t they came from. Buffers named *_owned are malloc'd
 * and freed with free(). */
#ifndef RSPKIT_NET_JSON_H
#define RSPKIT_NET_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"

/* SGP.22 v2.5 section 6.5.1: HTTP headers of the JSON bindings. */
#define RSP_JSON_CONTENT_TYPE         "application/json;charset=UTF-8"
#define RSP_ADMIN_PROTOCOL_HEADER     "X-Admin-Protocol"
#define RSP_ADMIN_PROTOCOL_SGP22_V2_5 "gsma/rsp/v2.5.0"

/* Parses one JSON object (the top level of every binding message). Rejects input longer than
 * max_len, trailing data, duplicate keys, NUL in strings and a non-object top level. Returns a
 * new reference, or NULL with err set (RSP_ERR_BAD_VALUE, message with line and column). */
json_t *rsp_json_parse_object(const char *text, size_t len, size_t max_len, rsp_error *err);

/* Compact serialisation; returns a malloc'd NUL-terminated string (free()), NULL on failure. */
char *rsp_json_dump(const json_t *value, size_t *len);

/* Field getters. A missing optional field returns RSP_OK and sets *present false (present may
 * be NULL for required fields). A missing required field returns RSP_ERR_MISSING_FIELD; a JSON
 * type mismatch (including null) returns RSP_ERR_BAD_VALUE. */
rsp_status rsp_json_get_string(const json_t *object, const char *key, bool required,
                               const char **out, bool *present, rsp_error *err);
/* JSON integer (not real, not string) within [min, max]; else RSP_ERR_INTEGER_RANGE. */
rsp_status rsp_json_get_int(const json_t *object, const char *key, bool required, int64_t min,
                            int64_t max, int64_t *out, bool *present, rsp_error *err);
rsp_status rsp_json_get_bool(const json_t *object, const char *key, bool required, bool *out,
                             bool *present, rsp_error *err);
/* Borrowed reference to a nested object. */
rsp_status rsp_json_get_object(const json_t *object, const char *key, bool required, json_t **out,
                               bool *present, rsp_error *err);
/* Base64 string field decoded into a malloc'd buffer of at most max_len bytes. An empty string
 * yields a non-NULL buffer of length 0. */
rsp_status rsp_json_get_base64(const json_t *object, const char *key, bool required, size_t max_len,
                               uint8_t **out_owned, size_t *out_len, bool *present, rsp_error *err);
/* Hex string field (either case) decoded into out (capacity out_size); the decoded length must
 * be within [min_len, max_len]. For transactionId: min 1, max 16 (SGP.22 TransactionId). */
rsp_status rsp_json_get_hex(const json_t *object, const char *key, bool required, size_t min_len,
                            size_t max_len, uint8_t *out, size_t out_size, size_t *out_len,
                            bool *present, rsp_error *err);

/* Setters; return RSP_OK or RSP_ERR_NO_MEMORY. Hex is written upper case. */
rsp_status rsp_json_set_base64(json_t *object, const char *key, const uint8_t *data, size_t len);
rsp_status rsp_json_set_hex(json_t *object, const char *key, const uint8_t *data, size_t len);

/* Base64 (RFC 4648 section 4), through OpenSSL. encode returns a malloc'd NUL-terminated
 * string. decode is strict as described above. */
char *rsp_base64_encode(const uint8_t *data, size_t len);
rsp_status rsp_base64_decode(const char *text, size_t text_len, uint8_t **out_owned,
                             size_t *out_len, rsp_error *err);
/* Upper-case hex into out (needs 2 * len + 1 bytes); returns the number of characters. */
size_t rsp_hex_encode(const uint8_t *data, size_t len, char *out, size_t out_size);
/* Even-length hex in either case; RSP_ERR_BUFFER_TOO_SMALL if it does not fit. */
rsp_status rsp_hex_decode(const char *text, size_t text_len, uint8_t *out, size_t out_size,
                          size_t *out_len, rsp_error *err);

/* SGP.22 v2.5 section 6.5.1.4: functionExecutionStatus.status values. */
typedef enum {
    RSP_EXECUTION_SUCCESS = 0,      /* "Executed-Success" */
    RSP_EXECUTION_WITH_WARNING = 1, /* "Executed-WithWarning" */
    RSP_EXECUTION_FAILED = 2,       /* "Failed" */
    RSP_EXECUTION_EXPIRED = 3       /* "Expired" */
} rsp_execution_status;

/* SGP.22 v2.5 section 6.5.1.4: statusCodeData. Fields may be NULL (then omitted); when decoding
 * they are borrowed from the parsed json_t. */
typedef struct {
    const char *subject_code;       /* e.g. "8.1.1" */
    const char *reason_code;        /* e.g. "3.8" */
    const char *subject_identifier; /* optional */
    const char *message;            /* optional */
} rsp_status_code_data;

const char *rsp_execution_status_name(rsp_execution_status status);
bool rsp_execution_status_parse(const char *name, rsp_execution_status *out);

/* SGP.22 v2.5 section 6.5.1.3: request header object
 * {"functionRequesterIdentifier": ..., "functionCallIdentifier": ...}; new reference. */
json_t *rsp_json_request_header(const char *function_requester_identifier,
                                const char *function_call_identifier);
/* SGP.22 v2.5 section 6.5.1.4: response header object
 * {"functionExecutionStatus": {"status": ..., "statusCodeData": {...}}}; statusCodeData is
 * written when data is not NULL. New reference. */
json_t *rsp_json_response_header(rsp_execution_status status, const rsp_status_code_data *data);
/* Reads body["header"] of a request (both identifiers mandatory, non-empty). */
rsp_status rsp_json_parse_request_header(const json_t *body, const char **requester,
                                         const char **call_identifier, rsp_error *err);
/* Reads body["header"]["functionExecutionStatus"] of a response. statusCodeData is optional
 * whatever the status (receivers stay lenient there); when present, subjectCode and reasonCode
 * in it are required. data is zeroed when absent. */
rsp_status rsp_json_parse_response_header(const json_t *body, rsp_execution_status *status,
                                          rsp_status_code_data *data, rsp_error *err);

#endif
