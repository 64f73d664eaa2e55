/* A small strict JSON (RFC 8259) reader and writer for device code that must not depend on a
 * JSON library: the ESipa JSON binding of the IPA (SGP.32 v1.2 section 6.4) and whatever else
 * on a device speaks the SGP.22 v2.5 section 6.5 JSON conventions.
 *
 * The reader works on the text in place: no tree, no allocation. Every function re-checks the
 * part of the text it walks, so it is safe on untrusted input without a prior validation pass
 * (json_min_validate checks the whole document once, which is what callers should do first).
 * Nesting is bounded by the max_depth given to json_min_validate and by JSON_MIN_MAX_DEPTH for
 * the walking functions; everything else is linear in the text.
 *
 * Strictness (decisions): UTF-8 must be well formed (no overlong forms, no surrogates), \u
 * escapes must pair surrogates, numbers follow the RFC grammar, duplicate member names in an
 * object are an error, and base64 is canonical RFC 4648 (padding, zero pad bits, no
 * whitespace). */
#ifndef RSPKIT_CORE_JSON_MIN_H
#define RSPKIT_CORE_JSON_MIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/der.h"
#include "core/error.h"

#define JSON_MIN_MAX_DEPTH 32u

typedef enum {
    JSON_MIN_INVALID = 0,
    JSON_MIN_OBJECT,
    JSON_MIN_ARRAY,
    JSON_MIN_STRING,
    JSON_MIN_NUMBER,
    JSON_MIN_TRUE,
    JSON_MIN_FALSE,
    JSON_MIN_NULL,
} json_min_type;

/* ---- reading ----------------------------------------------------------------------------- */

/* Checks that text is exactly one JSON value, surrounded by whitespace only, nested at most
 * max_depth deep (<= JSON_MIN_MAX_DEPTH). err->offset is where the text went wrong. */
rsp_status json_min_validate(der_view text, unsigned max_depth, rsp_error *err);

/* Type of a value (the raw text of one value, as json_min_member hands out). */
json_min_type json_min_type_of(der_view value);

/* The raw text of member `name` of an object (leading whitespace allowed). RSP_ERR_NOT_FOUND
 * when absent; RSP_ERR_BAD_VALUE when the object is malformed or names the member twice. */
rsp_status json_min_member(der_view object, const char *name, der_view *value, rsp_error *err);

/* Walks an array: *pos starts at 0. true with the next item, false at the end or when the
 * array is malformed (then *pos is SIZE_MAX). */
bool json_min_array_next(der_view array, size_t *pos, der_view *item);

/* Appends the characters of a string value, unescaped, as UTF-8. */
rsp_status json_min_string(der_view value, der_writer *out, rsp_error *err);
/* An integer number without fraction or exponent that fits int64_t. */
rsp_status json_min_int64(der_view value, int64_t *out, rsp_error *err);
rsp_status json_min_bool(der_view value, bool *out, rsp_error *err);
/* A string value holding canonical base64 / hex (either case), appended decoded. */
rsp_status json_min_base64(der_view value, der_writer *out, rsp_error *err);
rsp_status json_min_hex(der_view value, der_writer *out, rsp_error *err);

/* ---- writing ----------------------------------------------------------------------------- */

/* Appends text as is (punctuation, member names the caller knows need no escaping). */
void json_min_put_raw(der_writer *w, const char *text);
/* A quoted, escaped string. */
void json_min_put_string(der_writer *w, const uint8_t *data, size_t len);
/* "name": (with a leading comma unless *first). */
void json_min_put_name(der_writer *w, const char *name, bool *first);
void json_min_put_int64(der_writer *w, int64_t value);
/* Quoted canonical base64 / upper-case hex of data. */
void json_min_put_base64(der_writer *w, der_view data);
void json_min_put_hex(der_writer *w, der_view data);

#endif
