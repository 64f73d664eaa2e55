/* Strict in-place JSON reader and writer (RFC 8259; RFC 4648 base64). */
#include "core/json_min.h"

#include <stdio.h>
#include <string.h>

#define FAIL SIZE_MAX

typedef struct {
    der_view t;
    size_t fail_at; /* offset of the first byte that broke the grammar */
} scanner;

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t fail(scanner *s, size_t at)
{
    s->fail_at = at;
    return FAIL;
}

static size_t skip_space(der_view t, size_t i)
{
    while (i < t.len &&
           (t.data[i] == ' ' || t.data[i] == '\t' || t.data[i] == '\n' || t.data[i] == '\r'))
        i++;
    return i;
}

static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

/* Bytes of the well-formed UTF-8 sequence at t[i] (RFC 3629 table), 0 if ill-formed. */
static size_t utf8_sequence(der_view t, size_t i)
{
    uint8_t c = t.data[i], low = 0x80, high = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        low = c == 0xE0 ? 0xA0 : 0x80;
        high = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        low = c == 0xF0 ? 0x90 : 0x80;
        high = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (n > t.len - i)
        return 0;
    for (size_t k = 1; k < n; k++) {
        uint8_t b = t.data[i + k];
        if (k == 1 ? (b < low || b > high) : (b < 0x80 || b > 0xBF))
            return 0;
    }
    return n;
}

static bool read_u16(der_view t, size_t i, uint32_t *unit)
{
    if (t.len - i < 6 || t.data[i] != '\\' || t.data[i + 1] != 'u')
        return false;
    *unit = 0;
    for (size_t k = 2; k < 6; k++) {
        int v = hex_value(t.data[i + k]);
        if (v < 0)
            return false;
        *unit = *unit << 4 | (uint32_t)v;
    }
    return true;
}

/* The escape at t[i] == '\\': index after it (and after a paired low surrogate), code point. */
static size_t read_escape(scanner *s, size_t i, uint32_t *code_point)
{
    static const char simple[] = "\"\\/bfnrt";
    static const char meaning[] = "\"\\/\b\f\n\r\t";
    if (i + 1 >= s->t.len)
        return fail(s, i);
    const char *p = strchr(simple, s->t.data[i + 1]);
    if (p && s->t.data[i + 1] != 0) {
        *code_point = (uint8_t)meaning[p - simple];
        return i + 2;
    }
    uint32_t unit, low;
    if (!read_u16(s->t, i, &unit) || (unit >= 0xDC00 && unit <= 0xDFFF))
        return fail(s, i);
    if (unit < 0xD800 || unit > 0xDBFF) {
        *code_point = unit;
        return i + 6;
    }
    if (!read_u16(s->t, i + 6, &low) || low < 0xDC00 || low > 0xDFFF)
        return fail(s, i + 6);
    *code_point = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
    return i + 12;
}

static void put_utf8(der_writer *w, uint32_t cp)
{
    uint8_t b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (uint8_t)(0xC0 | cp >> 6);
        b[1] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (uint8_t)(0xE0 | cp >> 12);
        b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        b[2] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (uint8_t)(0xF0 | cp >> 18);
        b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
        b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        b[3] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 4;
    }
    der_put_raw(w, b, n);
}

/* The string at t[i] == '"': index after the closing quote. With out, the characters are
 * appended unescaped. */
static size_t scan_string(scanner *s, size_t i, der_writer *out)
{
    if (i >= s->t.len || s->t.data[i] != '"')
        return fail(s, i);
    for (i++; i < s->t.len;) {
        uint8_t c = s->t.data[i];
        size_t n = 1;
        if (c == '"')
            return i + 1;
        if (c == '\\') {
            uint32_t cp;
            size_t next = read_escape(s, i, &cp);
            if (next == FAIL)
                return FAIL;
            if (out)
                put_utf8(out, cp);
            i = next;
            continue;
        }
        if (c < 0x20)
            return fail(s, i);
        if (c >= 0x80 && (n = utf8_sequence(s->t, i)) == 0)
            return fail(s, i);
        if (out)
            der_put_raw(out, s->t.data + i, n);
        i += n;
    }
    return fail(s, i);
}

static size_t scan_digits(der_view t, size_t i)
{
    while (i < t.len && t.data[i] >= '0' && t.data[i] <= '9')
        i++;
    return i;
}

/* RFC 8259 section 6: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)? */
static size_t scan_number(scanner *s, size_t i)
{
    der_view t = s->t;
    if (i < t.len && t.data[i] == '-')
        i++;
    if (i >= t.len || t.data[i] < '0' || t.data[i] > '9')
        return fail(s, i);
    i = t.data[i] == '0' ? i + 1 : scan_digits(t, i);
    if (i < t.len && t.data[i] == '.') {
        size_t end = scan_digits(t, i + 1);
        if (end == i + 1)
            return fail(s, end);
        i = end;
    }
    if (i < t.len && (t.data[i] == 'e' || t.data[i] == 'E')) {
        i++;
        if (i < t.len && (t.data[i] == '+' || t.data[i] == '-'))
            i++;
        size_t end = scan_digits(t, i);
        if (end == i)
            return fail(s, end);
        i = end;
    }
    return i;
}

static size_t scan_literal(scanner *s, size_t i, const char *word)
{
    size_t n = strlen(word);
    if (s->t.len - i < n || memcmp(s->t.data + i, word, n) != 0)
        return fail(s, i);
    return i + n;
}

static size_t scan_value(scanner *s, size_t i, unsigned depth);

/* After the opening bracket of an object or array at t[i]. */
static size_t scan_container(scanner *s, size_t i, unsigned depth)
{
    bool object = s->t.data[i] == '{';
    uint8_t close = object ? '}' : ']';
    if (depth == 0)
        return fail(s, i);
    i = skip_space(s->t, i + 1);
    if (i < s->t.len && s->t.data[i] == close)
        return i + 1;
    for (;;) {
        if (object) {
            i = scan_string(s, i, NULL);
            if (i == FAIL)
                return FAIL;
            i = skip_space(s->t, i);
            if (i >= s->t.len || s->t.data[i] != ':')
                return fail(s, i);
            i = skip_space(s->t, i + 1);
        }
        i = scan_value(s, i, depth - 1);
        if (i == FAIL)
            return FAIL;
        i = skip_space(s->t, i);
        if (i < s->t.len && s->t.data[i] == close)
            return i + 1;
        if (i >= s->t.len || s->t.data[i] != ',')
            return fail(s, i);
        i = skip_space(s->t, i + 1);
    }
}

/* One value starting at t[i] (no leading space): index after it. */
static size_t scan_value(scanner *s, size_t i, unsigned depth)
{
    if (i >= s->t.len)
        return fail(s, i);
    switch (s->t.data[i]) {
    case '{':
    case '[':
        return scan_container(s, i, depth);
    case '"':
        return scan_string(s, i, NULL);
    case 't':
        return scan_literal(s, i, "true");
    case 'f':
        return scan_literal(s, i, "false");
    case 'n':
        return scan_literal(s, i, "null");
    default:
        return scan_number(s, i);
    }
}

rsp_status json_min_validate(der_view text, unsigned max_depth, rsp_error *err)
{
    scanner s = {text, 0};
    if (max_depth > JSON_MIN_MAX_DEPTH)
        max_depth = JSON_MIN_MAX_DEPTH;
    size_t end = scan_value(&s, skip_space(text, 0), max_depth);
    if (end == FAIL)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, s.fail_at, "JSON: malformed at offset %zu",
                             s.fail_at);
    end = skip_space(text, end);
    if (end != text.len)
        return rsp_error_set(err, RSP_ERR_TRAILING, 0, end, "JSON: text after the value at %zu",
                             end);
    return RSP_OK;
}

json_min_type json_min_type_of(der_view value)
{
    size_t i = skip_space(value, 0);
    if (i >= value.len)
        return JSON_MIN_INVALID;
    switch (value.data[i]) {
    case '{':
        return JSON_MIN_OBJECT;
    case '[':
        return JSON_MIN_ARRAY;
    case '"':
        return JSON_MIN_STRING;
    case 't':
        return JSON_MIN_TRUE;
    case 'f':
        return JSON_MIN_FALSE;
    case 'n':
        return JSON_MIN_NULL;
    default:
        return value.data[i] == '-' || (value.data[i] >= '0' && value.data[i] <= '9')
                   ? JSON_MIN_NUMBER
                   : JSON_MIN_INVALID;
    }
}

/* Whether the member name at t[i] ('"'), unescaped, equals name. */
static bool name_matches(scanner *s, size_t i, size_t end, const char *name)
{
    uint8_t buf[64];
    der_writer w;
    der_writer_init_fixed(&w, buf, sizeof buf);
    scanner local = {der_view_make(s->t.data, end), 0};
    if (scan_string(&local, i, &w) == FAIL || der_writer_status(&w) != RSP_OK)
        return false;
    return w.len == strlen(name) && memcmp(buf, name, w.len) == 0;
}

rsp_status json_min_member(der_view object, const char *name, der_view *value, rsp_error *err)
{
    scanner s = {object, 0};
    bool found = false;
    size_t i = skip_space(object, 0);
    if (i >= object.len || object.data[i] != '{')
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, i, "JSON: '%s' looked up in a non-object",
                             name);
    i = skip_space(object, i + 1);
    if (i < object.len && object.data[i] == '}')
        return RSP_ERR_NOT_FOUND;
    while (i != FAIL) {
        size_t key = i, key_end = scan_string(&s, i, NULL);
        if (key_end == FAIL)
            break;
        i = skip_space(object, key_end);
        if (i >= object.len || object.data[i] != ':') {
            i = fail(&s, i);
            break;
        }
        size_t start = skip_space(object, i + 1);
        size_t end = scan_value(&s, start, JSON_MIN_MAX_DEPTH);
        if (end == FAIL)
            break;
        if (name_matches(&s, key, key_end, name)) {
            if (found)
                return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, key,
                                     "JSON: member '%s' given twice", name);
            found = true;
            *value = der_view_make(object.data + start, end - start);
        }
        i = skip_space(object, end);
        if (i < object.len && object.data[i] == '}')
            return found ? RSP_OK : RSP_ERR_NOT_FOUND;
        if (i >= object.len || object.data[i] != ',')
            i = fail(&s, i);
        else
            i = skip_space(object, i + 1);
    }
    return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, s.fail_at,
                         "JSON: malformed object at offset %zu", s.fail_at);
}

bool json_min_array_next(der_view array, size_t *pos, der_view *item)
{
    scanner s = {array, 0};
    size_t i;
    if (*pos >= array.len)
        return false;
    if (*pos == 0) {
        i = skip_space(array, 0);
        if (i >= array.len || array.data[i] != '[') {
            *pos = FAIL;
            return false;
        }
        i = skip_space(array, i + 1);
        if (i < array.len && array.data[i] == ']') {
            *pos = array.len;
            return false;
        }
    } else {
        i = skip_space(array, *pos);
        if (i < array.len && array.data[i] == ']') {
            *pos = array.len;
            return false;
        }
        if (i >= array.len || array.data[i] != ',') {
            *pos = FAIL;
            return false;
        }
        i = skip_space(array, i + 1);
    }
    size_t end = scan_value(&s, i, JSON_MIN_MAX_DEPTH);
    if (end == FAIL) {
        *pos = FAIL;
        return false;
    }
    *item = der_view_make(array.data + i, end - i);
    *pos = end;
    return true;
}

/* The value must be exactly one token of `type` (whitespace around allowed). */
static rsp_status one_token(der_view value, json_min_type type, size_t *start, size_t *end,
                            rsp_error *err)
{
    scanner s = {value, 0};
    *start = skip_space(value, 0);
    *end = json_min_type_of(value) == type ? scan_value(&s, *start, 0) : FAIL;
    if (*end == FAIL || skip_space(value, *end) != value.len)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, *start, "JSON: not a %s",
                             type == JSON_MIN_STRING   ? "string"
                             : type == JSON_MIN_NUMBER ? "number"
                                                       : "boolean");
    return RSP_OK;
}

rsp_status json_min_string(der_view value, der_writer *out, rsp_error *err)
{
    size_t start, end;
    rsp_status st = one_token(value, JSON_MIN_STRING, &start, &end, err);
    if (st == RSP_OK) {
        scanner s = {value, 0};
        scan_string(&s, start, out);
        st = der_writer_status(out);
    }
    return st;
}

rsp_status json_min_int64(der_view value, int64_t *out, rsp_error *err)
{
    size_t start, end;
    rsp_status st = one_token(value, JSON_MIN_NUMBER, &start, &end, err);
    if (st != RSP_OK)
        return st;
    bool negative = value.data[start] == '-';
    uint64_t magnitude = 0, limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (size_t i = start + negative; i < end; i++) {
        uint8_t c = value.data[i];
        if (c < '0' || c > '9')
            return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, i, "JSON: not an integer");
        if (magnitude > (limit - (uint64_t)(c - '0')) / 10)
            return rsp_error_set(err, RSP_ERR_INTEGER_RANGE, 0, start, "JSON: integer too large");
        magnitude = magnitude * 10 + (uint64_t)(c - '0');
    }
    *out = negative ? (magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)magnitude)
                    : (int64_t)magnitude;
    return RSP_OK;
}

rsp_status json_min_bool(der_view value, bool *out, rsp_error *err)
{
    json_min_type type = json_min_type_of(value);
    size_t start, end;
    rsp_status st = one_token(value, type == JSON_MIN_FALSE ? JSON_MIN_FALSE : JSON_MIN_TRUE,
                              &start, &end, err);
    if (st == RSP_OK)
        *out = type == JSON_MIN_TRUE;
    return st;
}

static int b64_value(uint8_t c)
{
    const char *p = c ? strchr(b64_alphabet, c) : NULL;
    return p ? (int)(p - b64_alphabet) : -1;
}

/* RFC 4648 section 4, canonical: one quad (the last may be padded, with zero pad bits) into
 * out; the number of bytes, or -1. */
static int base64_quad(const uint8_t *q, bool last, uint8_t out[3])
{
    int v[4];
    for (int k = 0; k < 4; k++)
        v[k] = b64_value(q[k]);
    bool pad2 = last && q[2] == '=' && q[3] == '=';
    bool pad1 = last && !pad2 && q[3] == '=';
    if (v[0] < 0 || v[1] < 0 || (!pad2 && v[2] < 0) || (!pad1 && !pad2 && v[3] < 0) ||
        (pad2 && (v[1] & 0x0F) != 0) || (pad1 && (v[2] & 0x03) != 0))
        return -1;
    uint32_t acc = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (pad2 ? 0u : (uint32_t)v[2] << 6) |
                   (pad1 || pad2 ? 0u : (uint32_t)v[3]);
    out[0] = (uint8_t)(acc >> 16);
    out[1] = (uint8_t)(acc >> 8);
    out[2] = (uint8_t)acc;
    return pad2 ? 1 : pad1 ? 2 : 3;
}

/* Decodes text into out; with in_place, text is out->buf + from and the result replaces it
 * (the output never overtakes the input). */
static rsp_status base64_decode(const uint8_t *text, size_t n, der_writer *out, size_t from,
                                bool in_place, rsp_error *err)
{
    size_t written = 0;
    if (n % 4 != 0)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "base64: length not a multiple of 4");
    for (size_t i = 0; i < n; i += 4) {
        uint8_t bytes[3];
        int count = base64_quad(text + i, i + 4 == n, bytes);
        if (count < 0)
            return rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, i, "base64: not canonical at %zu", i);
        if (in_place)
            memcpy(out->buf + from + written, bytes, (size_t)count);
        else
            der_put_raw(out, bytes, (size_t)count);
        written += (size_t)count;
    }
    if (in_place)
        out->len = from + written;
    return der_writer_status(out);
}

rsp_status json_min_base64(der_view value, der_writer *out, rsp_error *err)
{
    size_t from = out->len, start, end;
    rsp_status st = one_token(value, JSON_MIN_STRING, &start, &end, err);
    const uint8_t *raw = st == RSP_OK ? value.data + start + 1 : NULL;
    size_t raw_len = st == RSP_OK ? end - start - 2 : 0;
    if (st == RSP_OK && memchr(raw, '\\', raw_len) == NULL) {
        /* the usual case: decoded straight from the text, never staged (a BPP is large) */
        st = base64_decode(raw, raw_len, out, from, false, err);
    } else if (st == RSP_OK) {
        st = json_min_string(value, out, err);
        if (st == RSP_OK)
            st = base64_decode(out->buf + from, out->len - from, out, from, true, err);
    }
    if (st != RSP_OK && out->len >= from)
        out->len = from;
    return st;
}

rsp_status json_min_hex(der_view value, der_writer *out, rsp_error *err)
{
    size_t from = out->len;
    rsp_status st = json_min_string(value, out, err);
    size_t n = st == RSP_OK ? out->len - from : 0;
    if (st == RSP_OK && n % 2 != 0)
        st = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, 0, "hex: odd number of digits");
    for (size_t i = 0; st == RSP_OK && i < n; i += 2) {
        int high = hex_value(out->buf[from + i]), low = hex_value(out->buf[from + i + 1]);
        if (high < 0 || low < 0)
            st = rsp_error_set(err, RSP_ERR_BAD_VALUE, 0, i, "hex: not a digit at %zu", i);
        else
            out->buf[from + i / 2] = (uint8_t)(high << 4 | low);
    }
    if (out->len >= from)
        out->len = st == RSP_OK ? from + n / 2 : from;
    return st;
}

/* ---- writing ----------------------------------------------------------------------------- */

void json_min_put_raw(der_writer *w, const char *text)
{
    der_put_raw(w, (const uint8_t *)text, strlen(text));
}

void json_min_put_string(der_writer *w, const uint8_t *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    json_min_put_raw(w, "\"");
    size_t run = 0; /* bytes copied as they are, flushed before each escape */
    for (size_t i = 0; i < len; i++) {
        uint8_t c = data[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        der_put_raw(w, data + run, i - run);
        run = i + 1;
        if (c == '"' || c == '\\') {
            uint8_t escaped[2] = {'\\', c};
            der_put_raw(w, escaped, 2);
        } else {
            uint8_t escaped[6] = {
                '\\', 'u', '0', '0', (uint8_t)digits[c >> 4], (uint8_t)digits[c & 15]};
            der_put_raw(w, escaped, 6);
        }
    }
    der_put_raw(w, data + run, len - run);
    json_min_put_raw(w, "\"");
}

void json_min_put_name(der_writer *w, const char *name, bool *first)
{
    if (!*first)
        json_min_put_raw(w, ",");
    *first = false;
    json_min_put_string(w, (const uint8_t *)name, strlen(name));
    json_min_put_raw(w, ":");
}

void json_min_put_int64(der_writer *w, int64_t value)
{
    char text[24];
    snprintf(text, sizeof text, "%lld", (long long)value);
    json_min_put_raw(w, text);
}

void json_min_put_base64(der_writer *w, der_view data)
{
    json_min_put_raw(w, "\"");
    for (size_t i = 0; i < data.len; i += 3) {
        size_t n = data.len - i;
        uint32_t v = (uint32_t)data.data[i] << 16;
        if (n > 1)
            v |= (uint32_t)data.data[i + 1] << 8;
        if (n > 2)
            v |= data.data[i + 2];
        uint8_t out[4] = {(uint8_t)b64_alphabet[v >> 18 & 63], (uint8_t)b64_alphabet[v >> 12 & 63],
                          n > 1 ? (uint8_t)b64_alphabet[v >> 6 & 63] : '=',
                          n > 2 ? (uint8_t)b64_alphabet[v & 63] : '='};
        der_put_raw(w, out, 4);
    }
    json_min_put_raw(w, "\"");
}

void json_min_put_hex(der_writer *w, der_view data)
{
    static const char digits[] = "0123456789ABCDEF";
    json_min_put_raw(w, "\"");
    for (size_t i = 0; i < data.len; i++) {
        uint8_t pair[2] = {(uint8_t)digits[data.data[i] >> 4], (uint8_t)digits[data.data[i] & 15]};
        der_put_raw(w, pair, 2);
    }
    json_min_put_raw(w, "\"");
}
