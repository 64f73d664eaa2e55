/* Table-writing shorthands shared by the SGP.32 catalogue sources (not a public header).
 * Names given to the engine are the ASN.1 identifiers, so errors and dumps read like the
 * specification. SGP32Definitions has EXTENSIBILITY IMPLIED: every SEQUENCE skips unknown
 * fields; CHOICEs stay strict (see core/sgp32.h). */
#ifndef RSPKIT_CORE_SGP32_TABLES_H
#define RSPKIT_CORE_SGP32_TABLES_H

#include <stddef.h>

#include "core/schema.h"

#define SGP32_SEQUENCE(NAME, TAG, T, FIELDS)                                                       \
    SCHEMA_SEQUENCE_TYPE(NAME, TAG, T, FIELDS, SCHEMA_EXTENSIBLE)
#define SGP32_CHOICE(NAME, TAG, T, FIELDS) SCHEMA_CHOICE_TYPE(NAME, TAG, T, FIELDS, 0)

/* CHOICE alternative stored in member u.F of T */
#define SGP32_ALT(NAME, T, F, TAG, TYPE)                                                           \
    {                                                                                              \
        NAME, (TAG), offsetof(T, u.F), SCHEMA_NO_PRESENCE, 0, &(TYPE)                              \
    }
/* CHOICE alternative of type NULL (no storage) */
#define SGP32_ALT_NULL(NAME, TAG)                                                                  \
    {                                                                                              \
        NAME, (TAG), 0, SCHEMA_NO_PRESENCE, 0, &schema_null                                        \
    }
/* OPTIONAL NULL field whose presence is has_F */
#define SGP32_OPT_NULL(NAME, T, F, TAG)                                                            \
    {                                                                                              \
        NAME, (TAG), 0, offsetof(T, has_##F), SCHEMA_OPTIONAL, &schema_null                        \
    }

/* INTEGER with named numbers. Named numbers do not constrain an ASN.1 INTEGER, so any value
 * decodes; the names (indexed by value) are for printing. */
#define SGP32_NAMED_INTEGER(VAR, NAME, ...)                                                        \
    static const char *const VAR##_names[] = {__VA_ARGS__};                                        \
    const schema_type VAR = SCHEMA_NAMED_INTEGER_TYPE(NAME, 0x02, 0, 0, VAR##_names)

#endif
