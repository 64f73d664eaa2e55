/* Strict DER/BER-TLV engine: reading TLVs into zero-copy views and writing them with
 * computed lengths. Tags are handled as their encoded bytes packed in a uint32_t, big
 * endian, exactly as the specifications print them: 0x80, 0xA0, 0x30, 0x5A, 0xBF37, 0x5F37,
 * 0x7F21. That keeps tables readable against the ASN.1 modules and the wire.
 *
 * Ownership: a der_view borrows the caller's input; it is valid as long as that input is.
 * A der_writer owns its buffer only when it was initialised as dynamic. */
#ifndef RSPKIT_CORE_DER_H
#define RSPKIT_CORE_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define DER_MAX_DEPTH  32        /* constructed nesting bound for every decoder */
#define DER_MAX_LENGTH 0x1000000 /* 16 MiB: no GSMA message is larger */

typedef struct {
    const uint8_t *data;
    size_t len;
} der_view;

typedef struct {
    uint32_t tag;
    bool constructed;
    der_view value; /* content octets */
    der_view whole; /* tag + length + content */
    size_t offset;  /* offset of the tag within the outermost input */
} der_tlv;

/* Sequential strict reader over a region. base_offset is the region's offset within the
 * outermost input, so errors report absolute offsets. */
typedef struct {
    const uint8_t *data;
    size_t len;
    size_t pos;
    size_t base_offset;
    unsigned depth; /* nesting depth of this region */
} der_reader;

static inline der_view der_view_make(const uint8_t *data, size_t len)
{
    der_view v = {data, len};
    return v;
}
bool der_view_equal(der_view a, der_view b);

/* Number of bytes of an encoded tag (1..4). */
size_t der_tag_size(uint32_t tag);
/* True when bit 6 of the tag's first byte is set. */
bool der_tag_is_constructed(uint32_t tag);
/* Context-specific tag numbers: DER_CONTEXT(3) == 0x83, DER_CONTEXT_C(3) == 0xA3,
 * DER_CONTEXT_C(55) == 0xBF37. */
uint32_t der_context_tag(unsigned number, bool constructed);
#define DER_CONTEXT(n)   der_context_tag((n), false)
#define DER_CONTEXT_C(n) der_context_tag((n), true)

void der_reader_init(der_reader *r, der_view region, size_t base_offset, unsigned depth);
/* Reader over the content of a constructed TLV, one level deeper; fails past DER_MAX_DEPTH. */
rsp_status der_reader_enter(const der_tlv *tlv, unsigned parent_depth, der_reader *child,
                            rsp_error *err);
bool der_reader_at_end(const der_reader *r);
/* Reads the next TLV strictly (minimal tag and length forms, no indefinite length, value
 * within the region). Returns RSP_OK, or an error with tag and offset filled in. */
rsp_status der_reader_next(der_reader *r, der_tlv *out, rsp_error *err);
/* Peeks at the next tag without consuming; returns false at end or on a malformed tag. */
bool der_reader_peek_tag(const der_reader *r, uint32_t *tag);
/* Fails with RSP_ERR_TRAILING when bytes remain. */
rsp_status der_reader_expect_end(const der_reader *r, rsp_error *err);

/* Parses exactly one TLV that must span the whole input (no trailing bytes). */
rsp_status der_parse_single(der_view input, der_tlv *out, rsp_error *err);
/* Recursively checks that a TLV tree is well formed (for opaque fields such as certificates
 * that are handed on without being decoded here). */
rsp_status der_validate_tree(const der_tlv *tlv, unsigned depth, rsp_error *err);

/* Primitive value helpers, strict per X.690 DER. */
rsp_status der_decode_int64(const der_tlv *tlv, int64_t *out, rsp_error *err);
rsp_status der_decode_uint64(const der_tlv *tlv, uint64_t *out, rsp_error *err);
rsp_status der_decode_bool(const der_tlv *tlv, bool *out, rsp_error *err);

/* ---------------------------------------------------------------------------------------
 * Writer. Errors are sticky: after the first failure every call is a no-op and
 * der_writer_status() reports it, so builders check once at the end. */
typedef struct {
    void *(*realloc_fn)(void *ctx, void *ptr, size_t size); /* NULL for a fixed buffer */
    void *ctx;
} der_allocator;

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
    rsp_status status;
    const der_allocator *alloc; /* NULL: fixed caller buffer */
    bool owns_buffer;
} der_writer;

/* Writes into the caller's buffer; overflow sets RSP_ERR_BUFFER_TOO_SMALL. */
void der_writer_init_fixed(der_writer *w, uint8_t *buf, size_t cap);
/* Grows as needed with alloc (NULL means libc realloc); release with der_writer_free or take
 * the bytes with der_writer_take. */
void der_writer_init_dynamic(der_writer *w, const der_allocator *alloc);
void der_writer_free(der_writer *w);
/* Hands the buffer to the caller (who frees it with the same allocator / free()). */
uint8_t *der_writer_take(der_writer *w, size_t *len);
rsp_status der_writer_status(const der_writer *w);
static inline der_view der_writer_view(const der_writer *w)
{
    return der_view_make(w->buf, w->len);
}

/* Starts a constructed value; returns a mark to pass to der_end. Lengths are computed at
 * der_end, which moves the content if the length needs more than one byte. */
size_t der_begin(der_writer *w, uint32_t tag);
void der_end(der_writer *w, size_t mark);
void der_put_raw(der_writer *w, const uint8_t *data, size_t len);
void der_put_tag_length(der_writer *w, uint32_t tag, size_t len);
void der_put_tlv(der_writer *w, uint32_t tag, const uint8_t *value, size_t len);
void der_put_int64(der_writer *w, uint32_t tag, int64_t value);
void der_put_uint64(der_writer *w, uint32_t tag, uint64_t value);
void der_put_bool(der_writer *w, uint32_t tag, bool value);
/* Size of the header (tag + length) for a value of len bytes. */
size_t der_header_size(uint32_t tag, size_t len);

/* Hex helpers used by CLIs and tests. hex_decode accepts upper/lower case and ignores
 * whitespace; returns the number of bytes or -1 on bad input / overflow. */
long der_hex_decode(const char *hex, uint8_t *out, size_t cap);
void der_hex_encode(const uint8_t *data, size_t len, char *out /* 2*len+1 */, bool upper);

#endif
