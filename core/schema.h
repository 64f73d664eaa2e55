/* Table-driven typed codec. Each GSMA message is a C struct plus a static schema_type table
 * that names its fields, their tags and where they live in the struct; one strict decoder,
 * one encoder and one printer walk those tables. That keeps the whole SGP.22/SGP.32 catalogue
 * small and uniform instead of hundreds of hand-written parse functions.
 *
 * Memory: decoded values borrow from the input (der_view) and take SEQUENCE OF arrays from a
 * caller-supplied arena, so a decode never calls malloc and its memory use is bounded by the
 * arena the caller chose. Nothing decoded outlives the input or the arena.
 *
 * Tagging: a type carries its own tag (0x30 for SEQUENCE, 0x04 for OCTET STRING, 0xBF37 for
 * `[55] SEQUENCE`); a field's non-zero tag replaces it (implicit tagging, the AUTOMATIC TAGS
 * default of the GSMA modules). A tagged CHOICE, or a field flagged SCHEMA_EXPLICIT, is
 * wrapped instead: tag { inner TLV }. Table authors write tags as encoded bytes, including the
 * constructed bit (0xA0 for a constructed [0], 0x80 for a primitive one). */
#ifndef RSPKIT_CORE_SCHEMA_H
#define RSPKIT_CORE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/der.h"

typedef enum {
    SCHEMA_SEQUENCE,    /* struct; fields in order */
    SCHEMA_CHOICE,      /* struct starting with `int choice` (alternative index + 1, 0 = none) */
    SCHEMA_SEQUENCE_OF, /* schema_list */
    SCHEMA_OCTETS,      /* der_view of the content */
    SCHEMA_UTF8,        /* der_view of the content, validated UTF-8 */
    SCHEMA_INTEGER,     /* int64_t */
    SCHEMA_ENUMERATED,  /* int64_t */
    SCHEMA_BOOLEAN,     /* bool */
    SCHEMA_NULL,        /* no storage; presence through the field's flag or the choice */
    SCHEMA_BIT_STRING,  /* schema_bits */
    SCHEMA_OID,         /* der_view of the content octets */
    SCHEMA_RAW,         /* der_view of the whole TLV (tag + length + value), kept verbatim:
                           certificates, keys and anything signed over its exact bytes */
} schema_kind;

/* Bit for schema_field.flags */
#define SCHEMA_OPTIONAL 0x01u /* may be absent; presence in the bool at presence_offset */
#define SCHEMA_EXPLICIT 0x02u /* field tag wraps the type's own TLV */

/* Bit for schema_type.flags */
#define SCHEMA_EXTENSIBLE 0x01u /* has `...`: unknown fields/alternatives are skipped */
#define SCHEMA_ANY_TAG    0x02u /* SCHEMA_RAW only: accept any tag */

#define SCHEMA_NO_PRESENCE 0xFFFFu

typedef struct schema_type schema_type;

typedef struct {
    const char *name;         /* ASN.1 field name, for printing and errors */
    uint32_t tag;             /* encoded tag; 0 = the type's own tag */
    uint16_t offset;          /* offsetof(struct, field); ignored for NULL */
    uint16_t presence_offset; /* offsetof(struct, has_field) or SCHEMA_NO_PRESENCE */
    uint8_t flags;
    const schema_type *type;
} schema_field;

struct schema_type {
    const char *name; /* ASN.1 type name */
    schema_kind kind;
    uint32_t tag; /* the type's own tag; 0 for an untagged CHOICE */
    uint8_t flags;
    uint16_t size;              /* sizeof the C struct (SEQUENCE, CHOICE) */
    const schema_field *fields; /* SEQUENCE fields / CHOICE alternatives */
    size_t field_count;
    const schema_type *element; /* SEQUENCE OF element type */
    int64_t min, max;           /* size (OCTETS, UTF8, BIT_STRING bytes, SEQUENCE OF count) or
                                   value range (INTEGER, ENUMERATED); max 0 = unbounded */
    const char *const *names;   /* optional value names (ENUMERATED, INTEGER) or bit names
                                   (BIT_STRING), indexed by value / bit number */
    size_t name_count;
};

typedef struct {
    size_t count;
    void *items; /* count elements of element->size bytes (or der_view/int64_t/... for
                    primitive element kinds), in the arena */
} schema_list;

typedef struct {
    der_view bytes; /* content after the unused-bits octet */
    uint8_t unused_bits;
} schema_bits;

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t used;
} schema_arena;

static inline void schema_arena_init(schema_arena *a, void *buf, size_t cap)
{
    a->buf = (uint8_t *)buf;
    a->cap = cap;
    a->used = 0;
}
void *schema_arena_alloc(schema_arena *a, size_t size);

/* Storage size of one value of the type (struct size, or the primitive's C type). */
size_t schema_value_size(const schema_type *type);

/* Decodes exactly one value of `type` spanning all of input (its own tag, or `tag` when
 * non-zero, as for a field). *out (schema_value_size bytes) is zeroed first. */
rsp_status schema_decode(const schema_type *type, der_view input, void *out, schema_arena *arena,
                         rsp_error *err);
/* Decodes a value from an already-read TLV whose tag was matched by the caller. */
rsp_status schema_decode_tlv(const schema_type *type, const der_tlv *tlv, unsigned depth, void *out,
                             schema_arena *arena, rsp_error *err);
/* Appends the encoding of value to w. Returns the writer's status, or RSP_ERR_BAD_VALUE /
 * RSP_ERR_MISSING_FIELD for values that break the schema (it never emits invalid DER). */
rsp_status schema_encode(const schema_type *type, const void *value, der_writer *w);
/* Encodes with an explicit outer tag replacing the type's own (0 = the type's own). */
rsp_status schema_encode_tagged(const schema_type *type, uint32_t tag, const void *value,
                                der_writer *w);

/* Human-readable dump with field names, indented by `indent` levels. */
void schema_print(const schema_type *type, const void *value, FILE *out, int indent);

/* Bit helpers (bit 0 is the first, most significant, bit as in ASN.1 named bits). */
bool schema_bits_get(const schema_bits *bits, unsigned bit);

/* Ready-made primitive types shared by every module. */
extern const schema_type schema_octets;       /* OCTET STRING */
extern const schema_type schema_utf8;         /* UTF8String */
extern const schema_type schema_integer;      /* INTEGER (int64) */
extern const schema_type schema_boolean;      /* BOOLEAN */
extern const schema_type schema_null;         /* NULL */
extern const schema_type schema_oid;          /* OBJECT IDENTIFIER */
extern const schema_type schema_bit_string;   /* BIT STRING */
extern const schema_type schema_raw_any;      /* any TLV kept verbatim */
extern const schema_type schema_raw_sequence; /* a SEQUENCE kept verbatim (Certificate, ...) */

/* Table-writing helpers. T = struct type, F = member, H = presence member. */
#define SCHEMA_FIELD(T, F, TAG, TYPE)                                                              \
    {                                                                                              \
#F, (TAG), offsetof(T, F), SCHEMA_NO_PRESENCE, 0, &(TYPE)                                  \
    }
#define SCHEMA_FIELD_NAMED(NAME, T, F, TAG, TYPE)                                                  \
    {                                                                                              \
        NAME, (TAG), offsetof(T, F), SCHEMA_NO_PRESENCE, 0, &(TYPE)                                \
    }
#define SCHEMA_OPT(T, F, TAG, TYPE)                                                                \
    {                                                                                              \
#F, (TAG), offsetof(T, F), offsetof(T, has_##F), SCHEMA_OPTIONAL, &(TYPE)                  \
    }
#define SCHEMA_OPT_NAMED(NAME, T, F, TAG, TYPE)                                                    \
    {                                                                                              \
        NAME, (TAG), offsetof(T, F), offsetof(T, has_##F), SCHEMA_OPTIONAL, &(TYPE)                \
    }
#define SCHEMA_OPT_NULL(T, F, TAG)                                                                 \
    {                                                                                              \
#F, (TAG), 0, offsetof(T, has_##F), SCHEMA_OPTIONAL, &schema_null                          \
    }
#define SCHEMA_EXPLICIT_FIELD(T, F, TAG, TYPE)                                                     \
    {                                                                                              \
#F, (TAG), offsetof(T, F), SCHEMA_NO_PRESENCE, SCHEMA_EXPLICIT, &(TYPE)                    \
    }
#define SCHEMA_EXPLICIT_OPT(T, F, TAG, TYPE)                                                       \
    {                                                                                              \
#F, (TAG), offsetof(T, F), offsetof(T, has_##F), SCHEMA_OPTIONAL | SCHEMA_EXPLICIT,        \
            &(TYPE)                                                                                \
    }
/* CHOICE alternative living in member u.F of T */
#define SCHEMA_ALT(T, F, TAG, TYPE)                                                                \
    {                                                                                              \
#F, (TAG), offsetof(T, u.F), SCHEMA_NO_PRESENCE, 0, &(TYPE)                                \
    }
#define SCHEMA_ALT_NULL(T, F, TAG)                                                                 \
    {                                                                                              \
#F, (TAG), 0, SCHEMA_NO_PRESENCE, 0, &schema_null                                          \
    }

#define SCHEMA_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define SCHEMA_SEQUENCE_TYPE(NAME, TAG, T, FIELDS, FLAGS)                                          \
    {                                                                                              \
        NAME, SCHEMA_SEQUENCE, (TAG), (FLAGS), sizeof(T), FIELDS, SCHEMA_COUNT(FIELDS), NULL, 0,   \
            0, NULL, 0                                                                             \
    }
#define SCHEMA_CHOICE_TYPE(NAME, TAG, T, FIELDS, FLAGS)                                            \
    {                                                                                              \
        NAME, SCHEMA_CHOICE, (TAG), (FLAGS), sizeof(T), FIELDS, SCHEMA_COUNT(FIELDS), NULL, 0, 0,  \
            NULL, 0                                                                                \
    }
#define SCHEMA_SEQUENCE_OF_TYPE(NAME, TAG, ELEMENT, MIN, MAX)                                      \
    {                                                                                              \
        NAME, SCHEMA_SEQUENCE_OF, (TAG), 0, 0, NULL, 0, &(ELEMENT), (MIN), (MAX), NULL, 0          \
    }
#define SCHEMA_OCTETS_TYPE(NAME, TAG, MIN, MAX)                                                    \
    {                                                                                              \
        NAME, SCHEMA_OCTETS, (TAG), 0, 0, NULL, 0, NULL, (MIN), (MAX), NULL, 0                     \
    }
#define SCHEMA_UTF8_TYPE(NAME, TAG, MIN, MAX)                                                      \
    {                                                                                              \
        NAME, SCHEMA_UTF8, (TAG), 0, 0, NULL, 0, NULL, (MIN), (MAX), NULL, 0                       \
    }
#define SCHEMA_INTEGER_TYPE(NAME, TAG, MIN, MAX)                                                   \
    {                                                                                              \
        NAME, SCHEMA_INTEGER, (TAG), 0, 0, NULL, 0, NULL, (MIN), (MAX), NULL, 0                    \
    }
/* INTEGER with named values (e.g. result codes) for printing */
#define SCHEMA_NAMED_INTEGER_TYPE(NAME, TAG, MIN, MAX, NAMES)                                      \
    {                                                                                              \
        NAME, SCHEMA_INTEGER, (TAG), 0, 0, NULL, 0, NULL, (MIN), (MAX), NAMES,                     \
            SCHEMA_COUNT_NAMES(NAMES)                                                              \
    }
/* ENUMERATED; values outside 0..MAX are rejected unless FLAGS has SCHEMA_EXTENSIBLE */
#define SCHEMA_ENUM_TYPE(NAME, TAG, MAX, NAMES, FLAGS)                                             \
    {                                                                                              \
        NAME, SCHEMA_ENUMERATED, (TAG), (FLAGS), 0, NULL, 0, NULL, 0, (MAX), NAMES,                \
            SCHEMA_COUNT_NAMES(NAMES)                                                              \
    }
#define SCHEMA_BITS_TYPE(NAME, TAG, NAMES)                                                         \
    {                                                                                              \
        NAME, SCHEMA_BIT_STRING, (TAG), 0, 0, NULL, 0, NULL, 0, 0, NAMES,                          \
            SCHEMA_COUNT_NAMES(NAMES)                                                              \
    }
#define SCHEMA_RAW_TYPE(NAME, TAG)                                                                 \
    {                                                                                              \
        NAME, SCHEMA_RAW, (TAG), 0, 0, NULL, 0, NULL, 0, 0, NULL, 0                                \
    }
#define SCHEMA_COUNT_NAMES(NAMES) (sizeof(NAMES) / sizeof((NAMES)[0]))

#endif
