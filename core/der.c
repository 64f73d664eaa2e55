#include "core/der.h"

#include <stdlib.h>
#include <string.h>

bool der_view_equal(der_view a, der_view b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

size_t der_tag_size(uint32_t tag)
{
    if (tag > 0xFFFFFF)
        return 4;
    if (tag > 0xFFFF)
        return 3;
    if (tag > 0xFF)
        return 2;
    return 1;
}

bool der_tag_is_constructed(uint32_t tag)
{
    uint8_t first = (uint8_t)(tag >> (8 * (der_tag_size(tag) - 1)));
    return (first & 0x20) != 0;
}

uint32_t der_context_tag(unsigned number, bool constructed)
{
    uint32_t first = 0x80u | (constructed ? 0x20u : 0u);
    if (number < 31)
        return first | number;
    if (number < 128)
        return ((first | 0x1Fu) << 8) | number;
    return ((first | 0x1Fu) << 16) | ((0x80u | (number >> 7)) << 8) | (number & 0x7Fu);
}

void der_reader_init(der_reader *r, der_view region, size_t base_offset, unsigned depth)
{
    r->data = region.data;
    r->len = region.len;
    r->pos = 0;
    r->base_offset = base_offset;
    r->depth = depth;
}

bool der_reader_at_end(const der_reader *r)
{
    return r->pos >= r->len;
}

/* Parses the tag at p[0..avail); returns bytes used, 0 on error (err filled). */
static size_t parse_tag(const uint8_t *p, size_t avail, size_t offset, uint32_t *tag,
                        rsp_error *err)
{
    if (avail < 1) {
        rsp_error_set(err, RSP_ERR_TRUNCATED, 0, offset, "input ends before a tag");
        return 0;
    }
    uint32_t value = p[0];
    if ((p[0] & 0x1F) != 0x1F) {
        *tag = value;
        return 1;
    }
    size_t i = 1;
    uint32_t number = 0;
    for (;;) {
        if (i >= avail) {
            rsp_error_set(err, RSP_ERR_TRUNCATED, value, offset, "input ends inside a tag");
            return 0;
        }
        if (i >= 4) {
            rsp_error_set(err, RSP_ERR_TAG_TOO_LONG, value, offset, "tag longer than 4 bytes");
            return 0;
        }
        if (i == 1 && p[1] == 0x80) {
            rsp_error_set(err, RSP_ERR_NON_MINIMAL, value, offset, "tag number has leading zero");
            return 0;
        }
        value = (value << 8) | p[i];
        number = (number << 7) | (p[i] & 0x7Fu);
        if ((p[i++] & 0x80) == 0)
            break;
    }
    if (number < 31) {
        rsp_error_set(err, RSP_ERR_NON_MINIMAL, value, offset,
                      "tag number %u must use the short form", (unsigned)number);
        return 0;
    }
    *tag = value;
    return i;
}

/* Parses a DER length; returns bytes used, 0 on error. */
static size_t parse_length(const uint8_t *p, size_t avail, size_t offset, uint32_t tag,
                           size_t *length, rsp_error *err)
{
    if (avail < 1) {
        rsp_error_set(err, RSP_ERR_TRUNCATED, tag, offset, "input ends before a length");
        return 0;
    }
    if (p[0] < 0x80) {
        *length = p[0];
        return 1;
    }
    if (p[0] == 0x80) {
        rsp_error_set(err, RSP_ERR_INDEFINITE_LENGTH, tag, offset, "indefinite length");
        return 0;
    }
    size_t count = p[0] & 0x7Fu;
    if (count > 4) {
        rsp_error_set(err, RSP_ERR_LENGTH_OVERRUN, tag, offset, "length of %zu bytes", count);
        return 0;
    }
    if (avail < 1 + count) {
        rsp_error_set(err, RSP_ERR_TRUNCATED, tag, offset, "input ends inside a length");
        return 0;
    }
    if (p[1] == 0) {
        rsp_error_set(err, RSP_ERR_NON_MINIMAL, tag, offset, "length has a leading zero");
        return 0;
    }
    size_t value = 0;
    for (size_t i = 0; i < count; i++)
        value = (value << 8) | p[1 + i];
    if (value < 0x80) {
        rsp_error_set(err, RSP_ERR_NON_MINIMAL, tag, offset, "length %zu must use short form",
                      value);
        return 0;
    }
    if (value > DER_MAX_LENGTH) {
        rsp_error_set(err, RSP_ERR_LENGTH_OVERRUN, tag, offset, "length %zu too large", value);
        return 0;
    }
    *length = value;
    return 1 + count;
}

/* Reads the tag and length at p; fills *tag, *header and *length. The common case (one-byte
 * tag, short length) is decided inline because every decoder spends its time here. */
static inline __attribute__((always_inline)) rsp_status read_header(const uint8_t *p, size_t avail,
                                                                    size_t offset, uint32_t *tag,
                                                                    size_t *header, size_t *length,
                                                                    rsp_error *err)
{
    if (avail >= 2 && (p[0] & 0x1F) != 0x1F && p[1] < 0x80) {
        *tag = p[0];
        *length = p[1];
        *header = 2;
    } else {
        size_t tag_size = parse_tag(p, avail, offset, tag, err);
        if (tag_size == 0)
            return err ? err->code : RSP_ERR_TRUNCATED;
        size_t length_size =
            parse_length(p + tag_size, avail - tag_size, offset, *tag, length, err);
        if (length_size == 0)
            return err ? err->code : RSP_ERR_TRUNCATED;
        *header = tag_size + length_size;
    }
    if (*length > avail - *header)
        return rsp_error_set(err, RSP_ERR_LENGTH_OVERRUN, *tag, offset,
                             "value of %zu bytes overruns its container (%zu left)", *length,
                             avail - *header);
    return RSP_OK;
}

rsp_status der_reader_next(der_reader *r, der_tlv *out, rsp_error *err)
{
    /* At the end nothing is read, and an empty input may have no buffer at all (NULL + 0 is
     * undefined behaviour). */
    const uint8_t *p = r->pos < r->len ? r->data + r->pos : r->data;
    size_t offset = r->base_offset + r->pos;
    uint32_t tag = 0;
    size_t header = 0;
    size_t length = 0;
    rsp_status st = read_header(p, r->len - r->pos, offset, &tag, &header, &length, err);
    if (st != RSP_OK)
        return st;
    out->tag = tag;
    out->constructed = (p[0] & 0x20) != 0;
    out->value = der_view_make(p + header, length);
    out->whole = der_view_make(p, header + length);
    out->offset = offset;
    r->pos += header + length;
    return RSP_OK;
}

bool der_reader_peek_tag(const der_reader *r, uint32_t *tag)
{
    if (der_reader_at_end(r))
        return false;
    return parse_tag(r->data + r->pos, r->len - r->pos, 0, tag, NULL) != 0;
}

rsp_status der_reader_expect_end(const der_reader *r, rsp_error *err)
{
    if (der_reader_at_end(r))
        return RSP_OK;
    uint32_t tag = 0;
    der_reader_peek_tag(r, &tag);
    return rsp_error_set(err, RSP_ERR_TRAILING, tag, r->base_offset + r->pos,
                         "%zu unexpected trailing bytes", r->len - r->pos);
}

rsp_status der_reader_enter(const der_tlv *tlv, unsigned parent_depth, der_reader *child,
                            rsp_error *err)
{
    if (!tlv->constructed)
        return rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, tlv->tag, tlv->offset,
                             "expected a constructed value");
    if (parent_depth + 1 > DER_MAX_DEPTH)
        return rsp_error_set(err, RSP_ERR_TOO_DEEP, tlv->tag, tlv->offset, "nesting deeper than %d",
                             DER_MAX_DEPTH);
    size_t header = tlv->whole.len - tlv->value.len;
    der_reader_init(child, tlv->value, tlv->offset + header, parent_depth + 1);
    return RSP_OK;
}

rsp_status der_parse_single(der_view input, der_tlv *out, rsp_error *err)
{
    der_reader r;
    der_reader_init(&r, input, 0, 0);
    rsp_status st = der_reader_next(&r, out, err);
    if (st != RSP_OK)
        return st;
    return der_reader_expect_end(&r, err);
}

/* Iterative, with an explicit stack of container ends: validating a 12 KB profile package
 * visits thousands of TLVs, and recursion through der_reader_enter cost most of the time. */
rsp_status der_validate_tree(const der_tlv *tlv, unsigned depth, rsp_error *err)
{
    if (!tlv->constructed)
        return RSP_OK;
    if (depth + 1 > DER_MAX_DEPTH)
        return rsp_error_set(err, RSP_ERR_TOO_DEEP, tlv->tag, tlv->offset, "nesting deeper than %d",
                             DER_MAX_DEPTH);
    const uint8_t *base = tlv->value.data;
    size_t base_offset = tlv->offset + (tlv->whole.len - tlv->value.len);
    size_t ends[DER_MAX_DEPTH + 1];
    unsigned level = 0;
    size_t pos = 0;
    ends[0] = tlv->value.len;
    for (;;) {
        while (level > 0 && pos == ends[level])
            level--;
        if (pos == ends[0])
            return RSP_OK;
        uint32_t tag;
        size_t header = 0, length = 0;
        rsp_status st = read_header(base + pos, ends[level] - pos, base_offset + pos, &tag, &header,
                                    &length, err);
        if (st != RSP_OK)
            return st;
        if ((base[pos] & 0x20) == 0) {
            pos += header + length;
            continue;
        }
        if (depth + 1 + level + 1 > DER_MAX_DEPTH)
            return rsp_error_set(err, RSP_ERR_TOO_DEEP, tag, base_offset + pos,
                                 "nesting deeper than %d", DER_MAX_DEPTH);
        ends[++level] = pos + header + length;
        pos += header;
    }
}

rsp_status der_decode_int64(const der_tlv *tlv, int64_t *out, rsp_error *err)
{
    const uint8_t *p = tlv->value.data;
    size_t n = tlv->value.len;
    if (tlv->constructed || n == 0)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, tlv->tag, tlv->offset, "empty integer");
    if (n > 1 && ((p[0] == 0x00 && (p[1] & 0x80) == 0) || (p[0] == 0xFF && (p[1] & 0x80))))
        return rsp_error_set(err, RSP_ERR_NON_MINIMAL, tlv->tag, tlv->offset,
                             "integer has redundant leading byte");
    if (n > 8)
        return rsp_error_set(err, RSP_ERR_INTEGER_RANGE, tlv->tag, tlv->offset,
                             "integer of %zu bytes does not fit 64 bits", n);
    uint64_t value = (p[0] & 0x80) ? UINT64_MAX : 0;
    for (size_t i = 0; i < n; i++)
        value = (value << 8) | p[i];
    *out = (int64_t)value;
    return RSP_OK;
}

rsp_status der_decode_uint64(const der_tlv *tlv, uint64_t *out, rsp_error *err)
{
    const uint8_t *p = tlv->value.data;
    size_t n = tlv->value.len;
    if (tlv->constructed || n == 0)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, tlv->tag, tlv->offset, "empty integer");
    if (p[0] & 0x80)
        return rsp_error_set(err, RSP_ERR_INTEGER_RANGE, tlv->tag, tlv->offset,
                             "negative integer where unsigned expected");
    if (n > 1 && p[0] == 0x00 && (p[1] & 0x80) == 0)
        return rsp_error_set(err, RSP_ERR_NON_MINIMAL, tlv->tag, tlv->offset,
                             "integer has redundant leading byte");
    if (n > 9 || (n == 9 && p[0] != 0))
        return rsp_error_set(err, RSP_ERR_INTEGER_RANGE, tlv->tag, tlv->offset,
                             "integer does not fit 64 bits");
    uint64_t value = 0;
    for (size_t i = 0; i < n; i++)
        value = (value << 8) | p[i];
    *out = value;
    return RSP_OK;
}

rsp_status der_decode_bool(const der_tlv *tlv, bool *out, rsp_error *err)
{
    if (tlv->constructed || tlv->value.len != 1 ||
        (tlv->value.data[0] != 0x00 && tlv->value.data[0] != 0xFF))
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, tlv->tag, tlv->offset,
                             "DER boolean must be one byte 00 or FF");
    *out = tlv->value.data[0] == 0xFF;
    return RSP_OK;
}

/* ------------------------------------------------------------------------------------- */

static void *libc_realloc(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    return realloc(ptr, size);
}

static const der_allocator libc_allocator = {libc_realloc, NULL};

void der_writer_init_fixed(der_writer *w, uint8_t *buf, size_t cap)
{
    memset(w, 0, sizeof *w);
    w->buf = buf;
    w->cap = cap;
}

void der_writer_init_dynamic(der_writer *w, const der_allocator *alloc)
{
    memset(w, 0, sizeof *w);
    w->alloc = alloc ? alloc : &libc_allocator;
    w->owns_buffer = true;
}

void der_writer_free(der_writer *w)
{
    if (w->owns_buffer && w->buf != NULL)
        w->alloc->realloc_fn(w->alloc->ctx, w->buf, 0);
    w->buf = NULL;
    w->cap = w->len = 0;
}

uint8_t *der_writer_take(der_writer *w, size_t *len)
{
    uint8_t *buf = w->buf;
    *len = w->len;
    w->buf = NULL;
    w->cap = w->len = 0;
    return buf;
}

rsp_status der_writer_status(const der_writer *w)
{
    return w->status;
}

static bool reserve(der_writer *w, size_t extra)
{
    if (w->status != RSP_OK)
        return false;
    if (extra <= w->cap - w->len)
        return true;
    if (w->alloc == NULL || w->len + extra > DER_MAX_LENGTH + 64) {
        w->status = RSP_ERR_BUFFER_TOO_SMALL;
        return false;
    }
    size_t cap = w->cap ? w->cap : 256;
    while (cap - w->len < extra)
        cap *= 2;
    uint8_t *grown = w->alloc->realloc_fn(w->alloc->ctx, w->buf, cap);
    if (grown == NULL) {
        w->status = RSP_ERR_NO_MEMORY;
        return false;
    }
    w->buf = grown;
    w->cap = cap;
    return true;
}

void der_put_raw(der_writer *w, const uint8_t *data, size_t len)
{
    if (len == 0 || !reserve(w, len))
        return;
    memcpy(w->buf + w->len, data, len);
    w->len += len;
}

static size_t length_size(size_t len)
{
    if (len < 0x80)
        return 1;
    size_t n = 1;
    for (size_t v = len; v > 0; v >>= 8)
        n++;
    return n;
}

size_t der_header_size(uint32_t tag, size_t len)
{
    return der_tag_size(tag) + length_size(len);
}

static void put_tag(der_writer *w, uint32_t tag)
{
    size_t n = der_tag_size(tag);
    if (!reserve(w, n))
        return;
    for (size_t i = 0; i < n; i++)
        w->buf[w->len++] = (uint8_t)(tag >> (8 * (n - 1 - i)));
}

static void write_length_at(uint8_t *p, size_t len, size_t size)
{
    if (size == 1) {
        p[0] = (uint8_t)len;
        return;
    }
    p[0] = (uint8_t)(0x80 | (size - 1));
    for (size_t i = 1; i < size; i++)
        p[i] = (uint8_t)(len >> (8 * (size - 1 - i)));
}

void der_put_tag_length(der_writer *w, uint32_t tag, size_t len)
{
    put_tag(w, tag);
    size_t n = length_size(len);
    if (!reserve(w, n))
        return;
    write_length_at(w->buf + w->len, len, n);
    w->len += n;
}

void der_put_tlv(der_writer *w, uint32_t tag, const uint8_t *value, size_t len)
{
    der_put_tag_length(w, tag, len);
    der_put_raw(w, value, len);
}

size_t der_begin(der_writer *w, uint32_t tag)
{
    put_tag(w, tag);
    if (!reserve(w, 1))
        return 0;
    w->buf[w->len++] = 0;
    return w->len; /* content starts here; the placeholder is the byte before */
}

void der_end(der_writer *w, size_t mark)
{
    if (w->status != RSP_OK || mark == 0 || mark > w->len)
        return;
    size_t content = w->len - mark;
    size_t n = length_size(content);
    if (n > 1) {
        if (!reserve(w, n - 1))
            return;
        memmove(w->buf + mark + n - 1, w->buf + mark, content);
        w->len += n - 1;
    }
    write_length_at(w->buf + mark - 1, content, n);
}

void der_put_int64(der_writer *w, uint32_t tag, int64_t value)
{
    uint8_t bytes[8];
    for (int i = 0; i < 8; i++)
        bytes[i] = (uint8_t)((uint64_t)value >> (56 - 8 * i));
    size_t start = 0;
    while (start < 7 && ((bytes[start] == 0x00 && !(bytes[start + 1] & 0x80)) ||
                         (bytes[start] == 0xFF && (bytes[start + 1] & 0x80))))
        start++;
    der_put_tlv(w, tag, bytes + start, 8 - start);
}

void der_put_uint64(der_writer *w, uint32_t tag, uint64_t value)
{
    uint8_t bytes[9] = {0};
    for (int i = 0; i < 8; i++)
        bytes[1 + i] = (uint8_t)(value >> (56 - 8 * i));
    size_t start = 0;
    while (start < 8 && bytes[start] == 0x00 && !(bytes[start + 1] & 0x80))
        start++;
    der_put_tlv(w, tag, bytes + start, 9 - start);
}

void der_put_bool(der_writer *w, uint32_t tag, bool value)
{
    uint8_t byte = value ? 0xFF : 0x00;
    der_put_tlv(w, tag, &byte, 1);
}

/* ------------------------------------------------------------------------------------- */

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long der_hex_decode(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int high = -1;
    for (const char *p = hex; *p; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r' || *p == ':')
            continue;
        int v = hex_nibble(*p);
        if (v < 0)
            return -1;
        if (high < 0) {
            high = v;
            continue;
        }
        if (n >= cap)
            return -1;
        out[n++] = (uint8_t)(high << 4 | v);
        high = -1;
    }
    return high < 0 ? (long)n : -1;
}

void der_hex_encode(const uint8_t *data, size_t len, char *out, bool upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
}
