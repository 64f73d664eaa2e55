#include "core/schema.h"

#include <string.h>

const schema_type schema_octets = SCHEMA_OCTETS_TYPE("OCTET STRING", 0x04, 0, 0);
const schema_type schema_utf8 = SCHEMA_UTF8_TYPE("UTF8String", 0x0C, 0, 0);
const schema_type schema_integer = SCHEMA_INTEGER_TYPE("INTEGER", 0x02, 0, 0);
const schema_type schema_boolean = {"BOOLEAN", SCHEMA_BOOLEAN, 0x01, 0, 0,    NULL,
                                    0,         NULL,           0,    0, NULL, 0};
const schema_type schema_null = {"NULL", SCHEMA_NULL, 0x05, 0, 0, NULL, 0, NULL, 0, 0, NULL, 0};
const schema_type schema_oid = {
    "OBJECT IDENTIFIER", SCHEMA_OID, 0x06, 0, 0, NULL, 0, NULL, 0, 0, NULL, 0};
const schema_type schema_bit_string = {
    "BIT STRING", SCHEMA_BIT_STRING, 0x03, 0, 0, NULL, 0, NULL, 0, 0, NULL, 0};
const schema_type schema_raw_any = {"ANY", SCHEMA_RAW, 0, SCHEMA_ANY_TAG, 0, NULL, 0,
                                    NULL,  0,          0, NULL,           0};
const schema_type schema_raw_sequence = SCHEMA_RAW_TYPE("SEQUENCE", 0x30);

void *schema_arena_alloc(schema_arena *a, size_t size)
{
    size_t aligned = (a->used + 7u) & ~(size_t)7u;
    if (a->buf == NULL || aligned > a->cap || size > a->cap - aligned)
        return NULL;
    a->used = aligned + size;
    memset(a->buf + aligned, 0, size);
    return a->buf + aligned;
}

size_t schema_value_size(const schema_type *type)
{
    switch (type->kind) {
    case SCHEMA_SEQUENCE:
    case SCHEMA_CHOICE:
        return type->size;
    case SCHEMA_SEQUENCE_OF:
        return sizeof(schema_list);
    case SCHEMA_INTEGER:
    case SCHEMA_ENUMERATED:
        return sizeof(int64_t);
    case SCHEMA_BOOLEAN:
        return sizeof(bool);
    case SCHEMA_NULL:
        return 0;
    case SCHEMA_BIT_STRING:
        return sizeof(schema_bits);
    default:
        return sizeof(der_view);
    }
}

/* ---- tag matching -------------------------------------------------------------------- */

static uint32_t outer_tag(const schema_field *field)
{
    return field->tag ? field->tag : field->type->tag;
}

static bool is_wrapped(const schema_field *field)
{
    return (field->flags & SCHEMA_EXPLICIT) ||
           (field->type->kind == SCHEMA_CHOICE && outer_tag(field) != 0);
}

static bool field_matches(const schema_field *field, uint32_t tag, unsigned depth)
{
    uint32_t ot = outer_tag(field);
    if (ot != 0)
        return ot == tag;
    if (field->type->kind == SCHEMA_RAW && (field->type->flags & SCHEMA_ANY_TAG))
        return true;
    if (field->type->kind != SCHEMA_CHOICE || depth > DER_MAX_DEPTH)
        return false;
    for (size_t i = 0; i < field->type->field_count; i++)
        if (field_matches(&field->type->fields[i], tag, depth + 1))
            return true;
    return false;
}

/* ---- decoding ------------------------------------------------------------------------ */

static rsp_status decode_field(const schema_field *field, const der_tlv *tlv, unsigned depth,
                               uint8_t *base, schema_arena *arena, rsp_error *err);

static bool utf8_valid(der_view v)
{
    size_t i = 0;
    while (i < v.len) {
        uint8_t c = v.data[i];
        size_t extra;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1;
            cp = c & 0x1Fu;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            cp = c & 0x0Fu;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (extra >= v.len - i)
            return false;
        for (size_t k = 1; k <= extra; k++) {
            if ((v.data[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (v.data[i + k] & 0x3Fu);
        }
        static const uint32_t min_for_length[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_for_length[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += extra + 1;
    }
    return true;
}

static rsp_status check_size(const schema_type *type, const der_tlv *tlv, size_t size,
                             rsp_error *err)
{
    if ((type->min > 0 && size < (size_t)type->min) || (type->max > 0 && size > (size_t)type->max))
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, tlv->tag, tlv->offset,
                             "%s: size %zu outside %lld..%lld", type->name, size,
                             (long long)type->min, (long long)type->max);
    return RSP_OK;
}

static rsp_status expect_primitive(const schema_type *type, const der_tlv *tlv, rsp_error *err)
{
    if (tlv->constructed)
        return rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, tlv->tag, tlv->offset,
                             "%s must be primitive", type->name);
    return RSP_OK;
}

static rsp_status decode_sequence(const schema_type *type, const der_tlv *tlv, unsigned depth,
                                  uint8_t *base, schema_arena *arena, rsp_error *err)
{
    der_reader r;
    rsp_status st = der_reader_enter(tlv, depth, &r, err);
    size_t next = 0;
    while (st == RSP_OK && !der_reader_at_end(&r)) {
        der_tlv child;
        st = der_reader_next(&r, &child, err);
        if (st != RSP_OK)
            break;
        size_t j = next;
        while (j < type->field_count && !field_matches(&type->fields[j], child.tag, 0))
            j++;
        if (j == type->field_count) {
            bool known = false;
            for (size_t k = 0; k < next && !known; k++)
                known = field_matches(&type->fields[k], child.tag, 0);
            if ((type->flags & SCHEMA_EXTENSIBLE) && !known)
                continue; /* an extension this version does not know: skipped */
            st = rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, child.tag, child.offset,
                               "%s: tag not allowed here%s", type->name,
                               known ? " (duplicate or out of order)" : "");
            break;
        }
        for (size_t k = next; k < j && st == RSP_OK; k++)
            if (!(type->fields[k].flags & SCHEMA_OPTIONAL))
                st = rsp_error_set(err, RSP_ERR_MISSING_FIELD, child.tag, child.offset,
                                   "%s.%s is missing", type->name, type->fields[k].name);
        if (st == RSP_OK)
            st = decode_field(&type->fields[j], &child, r.depth, base, arena, err);
        next = j + 1;
    }
    for (size_t k = next; k < type->field_count && st == RSP_OK; k++)
        if (!(type->fields[k].flags & SCHEMA_OPTIONAL))
            st = rsp_error_set(err, RSP_ERR_MISSING_FIELD, tlv->tag, tlv->offset,
                               "%s.%s is missing", type->name, type->fields[k].name);
    return st;
}

static rsp_status decode_choice(const schema_type *type, const der_tlv *tlv, unsigned depth,
                                uint8_t *base, schema_arena *arena, rsp_error *err)
{
    for (size_t i = 0; i < type->field_count; i++) {
        if (!field_matches(&type->fields[i], tlv->tag, 0))
            continue;
        *(int *)base = (int)i + 1;
        return decode_field(&type->fields[i], tlv, depth, base, arena, err);
    }
    if (type->flags & SCHEMA_EXTENSIBLE) {
        *(int *)base = 0; /* an alternative this version does not know */
        return RSP_OK;
    }
    return rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, tlv->tag, tlv->offset,
                         "%s: no alternative has this tag", type->name);
}

static rsp_status decode_sequence_of(const schema_type *type, const der_tlv *tlv, unsigned depth,
                                     schema_list *list, schema_arena *arena, rsp_error *err)
{
    der_reader r;
    rsp_status st = der_reader_enter(tlv, depth, &r, err);
    size_t count = 0;
    der_tlv child;
    while (st == RSP_OK && !der_reader_at_end(&r) &&
           (st = der_reader_next(&r, &child, err)) == RSP_OK)
        count++;
    if (st != RSP_OK)
        return st;
    if ((type->min > 0 && count < (size_t)type->min) ||
        (type->max > 0 && count > (size_t)type->max))
        return rsp_error_set(
            err, type->max > 0 && count > (size_t)type->max ? RSP_ERR_TOO_MANY : RSP_ERR_BAD_VALUE,
            tlv->tag, tlv->offset, "%s: %zu elements, allowed %lld..%lld", type->name, count,
            (long long)type->min, (long long)type->max);
    size_t element_size = schema_value_size(type->element);
    list->count = count;
    list->items = NULL;
    if (count == 0)
        return RSP_OK;
    list->items = schema_arena_alloc(arena, count * (element_size ? element_size : 1));
    if (list->items == NULL)
        return rsp_error_set(err, RSP_ERR_NO_MEMORY, tlv->tag, tlv->offset,
                             "%s: decode arena exhausted (%zu elements)", type->name, count);
    schema_field element = {type->element->name, 0, 0, SCHEMA_NO_PRESENCE, 0, type->element};
    der_reader_enter(tlv, depth, &r, err);
    for (size_t i = 0; i < count && st == RSP_OK; i++) {
        der_reader_next(&r, &child, err);
        if (!field_matches(&element, child.tag, 0))
            return rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, child.tag, child.offset,
                                 "%s: element has the wrong tag", type->name);
        st = decode_field(&element, &child, r.depth, (uint8_t *)list->items + i * element_size,
                          arena, err);
    }
    return st;
}

static rsp_status decode_bits(const schema_type *type, const der_tlv *tlv, schema_bits *bits,
                              rsp_error *err)
{
    const der_view v = tlv->value;
    if (v.len < 1 || v.data[0] > 7 || (v.len == 1 && v.data[0] != 0))
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, tlv->tag, tlv->offset,
                             "%s: bad unused-bits octet", type->name);
    uint8_t unused = v.data[0];
    if (v.len > 1 && (v.data[v.len - 1] & ((1u << unused) - 1u)) != 0)
        return rsp_error_set(err, RSP_ERR_NON_MINIMAL, tlv->tag, tlv->offset,
                             "%s: unused bits are not zero", type->name);
    bits->unused_bits = unused;
    bits->bytes = der_view_make(v.data + 1, v.len - 1);
    return check_size(type, tlv, v.len - 1, err);
}

static rsp_status decode_oid(const schema_type *type, const der_tlv *tlv, der_view *out,
                             rsp_error *err)
{
    const der_view v = tlv->value;
    bool at_start = true;
    for (size_t i = 0; i < v.len; i++) {
        if (at_start && v.data[i] == 0x80)
            return rsp_error_set(err, RSP_ERR_NON_MINIMAL, tlv->tag, tlv->offset,
                                 "%s: sub-identifier with leading zero", type->name);
        at_start = (v.data[i] & 0x80) == 0;
    }
    if (v.len == 0 || !at_start)
        return rsp_error_set(err, RSP_ERR_BAD_VALUE, tlv->tag, tlv->offset,
                             "%s: malformed object identifier", type->name);
    *out = v;
    return RSP_OK;
}

static rsp_status decode_integer(const schema_type *type, const der_tlv *tlv, int64_t *out,
                                 rsp_error *err)
{
    rsp_status st = der_decode_int64(tlv, out, err);
    if (st != RSP_OK)
        return st;
    bool bounded = type->kind == SCHEMA_ENUMERATED ? !(type->flags & SCHEMA_EXTENSIBLE) || *out < 0
                                                   : (type->min != 0 || type->max != 0);
    int64_t max = type->max;
    if (type->kind == SCHEMA_ENUMERATED && (type->flags & SCHEMA_EXTENSIBLE))
        max = INT64_MAX;
    if (bounded && (*out < type->min || *out > max))
        return rsp_error_set(err, RSP_ERR_INTEGER_RANGE, tlv->tag, tlv->offset,
                             "%s: value %lld outside %lld..%lld", type->name, (long long)*out,
                             (long long)type->min, (long long)type->max);
    return RSP_OK;
}

/* Decodes the content of tlv as `type`, whose tag the caller has already matched. */
static rsp_status decode_content(const schema_type *type, const der_tlv *tlv, unsigned depth,
                                 void *ptr, schema_arena *arena, rsp_error *err)
{
    rsp_status st = RSP_OK;
    switch (type->kind) {
    case SCHEMA_SEQUENCE:
        return decode_sequence(type, tlv, depth, ptr, arena, err);
    case SCHEMA_CHOICE:
        return decode_choice(type, tlv, depth, ptr, arena, err);
    case SCHEMA_SEQUENCE_OF:
        return decode_sequence_of(type, tlv, depth, ptr, arena, err);
    case SCHEMA_RAW:
        *(der_view *)ptr = tlv->whole;
        return der_validate_tree(tlv, depth, err);
    default:
        break;
    }
    if ((st = expect_primitive(type, tlv, err)) != RSP_OK)
        return st;
    switch (type->kind) {
    case SCHEMA_OCTETS:
        *(der_view *)ptr = tlv->value;
        return check_size(type, tlv, tlv->value.len, err);
    case SCHEMA_UTF8:
        *(der_view *)ptr = tlv->value;
        if (!utf8_valid(tlv->value))
            return rsp_error_set(err, RSP_ERR_BAD_VALUE, tlv->tag, tlv->offset, "%s: invalid UTF-8",
                                 type->name);
        return check_size(type, tlv, tlv->value.len, err);
    case SCHEMA_INTEGER:
    case SCHEMA_ENUMERATED:
        return decode_integer(type, tlv, ptr, err);
    case SCHEMA_BOOLEAN:
        return der_decode_bool(tlv, ptr, err);
    case SCHEMA_NULL:
        if (tlv->value.len != 0)
            return rsp_error_set(err, RSP_ERR_BAD_VALUE, tlv->tag, tlv->offset,
                                 "NULL with content");
        return RSP_OK;
    case SCHEMA_BIT_STRING:
        return decode_bits(type, tlv, ptr, err);
    case SCHEMA_OID:
        return decode_oid(type, tlv, ptr, err);
    default:
        return rsp_error_set(err, RSP_ERR_INVALID_ARGUMENT, tlv->tag, tlv->offset,
                             "schema kind %d unknown", (int)type->kind);
    }
}

static rsp_status decode_field(const schema_field *field, const der_tlv *tlv, unsigned depth,
                               uint8_t *base, schema_arena *arena, rsp_error *err)
{
    const schema_type *type = field->type;
    uint8_t *ptr = base + field->offset;
    rsp_status st;
    if (field->presence_offset != SCHEMA_NO_PRESENCE)
        *(bool *)(base + field->presence_offset) = true;
    if (is_wrapped(field)) {
        der_reader r;
        der_tlv inner;
        if ((st = der_reader_enter(tlv, depth, &r, err)) != RSP_OK ||
            (st = der_reader_next(&r, &inner, err)) != RSP_OK ||
            (st = der_reader_expect_end(&r, err)) != RSP_OK)
            return st;
        if (type->kind == SCHEMA_CHOICE)
            return decode_choice(type, &inner, r.depth, ptr, arena, err);
        if (inner.tag != type->tag && !(type->flags & SCHEMA_ANY_TAG))
            return rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, inner.tag, inner.offset,
                                 "%s: expected tag %X inside explicit tag", field->name,
                                 (unsigned)type->tag);
        return decode_content(type, &inner, r.depth, ptr, arena, err);
    }
    return decode_content(type, tlv, depth, ptr, arena, err);
}

rsp_status schema_decode_tlv(const schema_type *type, const der_tlv *tlv, unsigned depth, void *out,
                             schema_arena *arena, rsp_error *err)
{
    schema_field top = {type->name, 0, 0, SCHEMA_NO_PRESENCE, 0, type};
    memset(out, 0, schema_value_size(type));
    if (!field_matches(&top, tlv->tag, 0))
        return rsp_error_set(err, RSP_ERR_UNEXPECTED_TAG, tlv->tag, tlv->offset,
                             "%s: expected tag %X", type->name, (unsigned)type->tag);
    return decode_field(&top, tlv, depth, out, arena, err);
}

rsp_status schema_decode(const schema_type *type, der_view input, void *out, schema_arena *arena,
                         rsp_error *err)
{
    der_tlv tlv;
    rsp_status st = der_parse_single(input, &tlv, err);
    if (st != RSP_OK)
        return st;
    return schema_decode_tlv(type, &tlv, 0, out, arena, err);
}

/* ---- encoding ------------------------------------------------------------------------ */

static rsp_status encode_field(const schema_field *field, const uint8_t *base, der_writer *w,
                               unsigned depth);

static rsp_status fail(der_writer *w, rsp_status code)
{
    if (w->status == RSP_OK)
        w->status = code;
    return code;
}

static rsp_status encode_choice(const schema_type *type, const uint8_t *ptr, der_writer *w,
                                unsigned depth)
{
    int choice = *(const int *)ptr;
    if (choice < 1 || (size_t)choice > type->field_count)
        return fail(w, RSP_ERR_MISSING_FIELD);
    return encode_field(&type->fields[choice - 1], ptr, w, depth + 1);
}

static rsp_status encode_content(const schema_type *type, uint32_t tag, const uint8_t *ptr,
                                 der_writer *w, unsigned depth)
{
    if (depth > DER_MAX_DEPTH)
        return fail(w, RSP_ERR_TOO_DEEP);
    switch (type->kind) {
    case SCHEMA_SEQUENCE: {
        size_t mark = der_begin(w, tag);
        for (size_t i = 0; i < type->field_count; i++) {
            const schema_field *f = &type->fields[i];
            if (f->presence_offset != SCHEMA_NO_PRESENCE &&
                !*(const bool *)(ptr + f->presence_offset))
                continue;
            if (encode_field(f, ptr, w, depth + 1) != RSP_OK)
                return w->status;
        }
        der_end(w, mark);
        return w->status;
    }
    case SCHEMA_CHOICE:
        return encode_choice(type, ptr, w, depth);
    case SCHEMA_SEQUENCE_OF: {
        const schema_list *list = (const schema_list *)ptr;
        if ((type->min > 0 && list->count < (size_t)type->min) ||
            (type->max > 0 && list->count > (size_t)type->max) ||
            (list->count > 0 && list->items == NULL))
            return fail(w, RSP_ERR_BAD_VALUE);
        size_t element_size = schema_value_size(type->element);
        schema_field element = {type->element->name, 0, 0, SCHEMA_NO_PRESENCE, 0, type->element};
        size_t mark = der_begin(w, tag);
        for (size_t i = 0; i < list->count; i++)
            if (encode_field(&element, (const uint8_t *)list->items + i * element_size, w,
                             depth + 1) != RSP_OK)
                return w->status;
        der_end(w, mark);
        return w->status;
    }
    case SCHEMA_OCTETS:
    case SCHEMA_UTF8:
    case SCHEMA_OID: {
        const der_view *v = (const der_view *)ptr;
        if ((type->min > 0 && v->len < (size_t)type->min) ||
            (type->max > 0 && v->len > (size_t)type->max) || (v->len > 0 && v->data == NULL) ||
            (type->kind == SCHEMA_OID && v->len == 0))
            return fail(w, RSP_ERR_BAD_VALUE);
        der_put_tlv(w, tag, v->data, v->len);
        return w->status;
    }
    case SCHEMA_INTEGER:
    case SCHEMA_ENUMERATED:
        der_put_int64(w, tag, *(const int64_t *)ptr);
        return w->status;
    case SCHEMA_BOOLEAN:
        der_put_bool(w, tag, *(const bool *)ptr);
        return w->status;
    case SCHEMA_NULL:
        der_put_tlv(w, tag, NULL, 0);
        return w->status;
    case SCHEMA_BIT_STRING: {
        const schema_bits *bits = (const schema_bits *)ptr;
        if (bits->unused_bits > 7 || (bits->bytes.len == 0 && bits->unused_bits != 0))
            return fail(w, RSP_ERR_BAD_VALUE);
        der_put_tag_length(w, tag, bits->bytes.len + 1);
        der_put_raw(w, &bits->unused_bits, 1);
        der_put_raw(w, bits->bytes.data, bits->bytes.len);
        return w->status;
    }
    case SCHEMA_RAW: {
        const der_view *v = (const der_view *)ptr;
        der_tlv tlv;
        if (v->len == 0 || der_parse_single(*v, &tlv, NULL) != RSP_OK)
            return fail(w, RSP_ERR_BAD_VALUE);
        if (tag == 0 || tag == tlv.tag)
            der_put_raw(w, v->data, v->len);
        else
            der_put_tlv(w, tag, tlv.value.data, tlv.value.len);
        return w->status;
    }
    }
    return fail(w, RSP_ERR_INVALID_ARGUMENT);
}

static rsp_status encode_field(const schema_field *field, const uint8_t *base, der_writer *w,
                               unsigned depth)
{
    const schema_type *type = field->type;
    const uint8_t *ptr = base + field->offset;
    if (w->status != RSP_OK)
        return w->status;
    if (is_wrapped(field)) {
        size_t mark = der_begin(w, outer_tag(field));
        if (type->kind == SCHEMA_CHOICE)
            encode_choice(type, ptr, w, depth);
        else
            encode_content(type, type->tag, ptr, w, depth);
        der_end(w, mark);
        return w->status;
    }
    if (type->kind == SCHEMA_CHOICE)
        return encode_choice(type, ptr, w, depth);
    return encode_content(type, outer_tag(field), ptr, w, depth);
}

rsp_status schema_encode_tagged(const schema_type *type, uint32_t tag, const void *value,
                                der_writer *w)
{
    schema_field top = {type->name, tag, 0, SCHEMA_NO_PRESENCE, 0, type};
    return encode_field(&top, value, w, 0);
}

rsp_status schema_encode(const schema_type *type, const void *value, der_writer *w)
{
    return schema_encode_tagged(type, 0, value, w);
}

bool schema_bits_get(const schema_bits *bits, unsigned bit)
{
    size_t byte = bit / 8;
    if (byte >= bits->bytes.len)
        return false;
    if (byte == bits->bytes.len - 1 && (bit % 8) >= 8u - bits->unused_bits)
        return false;
    return (bits->bytes.data[byte] >> (7 - bit % 8)) & 1u;
}
