/* Message registry for tools: every top-level SGP.22 and SGP.32 message type, lookup by name,
 * and auto-detection of the type of a byte string. Requests and responses often share a tag
 * (BF38, BF2D, ...), so detection returns every type that decodes the whole input, not one
 * guess. A generic TLV tree printer is the fallback when nothing matches.
 *
 * The registry is built on first use and read-only afterwards; a multi-threaded program
 * calls message_registry_count() once before sharing it. */
#ifndef RSPKIT_CORE_MESSAGE_REGISTRY_H
#define RSPKIT_CORE_MESSAGE_REGISTRY_H

#include <stddef.h>
#include <stdio.h>

#include "core/schema.h"

typedef struct {
    const schema_type *type;
    const char *module; /* "sgp22" or "sgp32" */
} message_entry;

/* Number of distinct registered types (a type listed by both modules counts once). */
size_t message_registry_count(void);
/* Entry i (0 <= i < count), or NULL. */
const message_entry *message_registry_at(size_t i);
/* Entry by ASN.1 type name, optionally qualified "sgp22:Name" / "sgp32:Name"; an unqualified
 * name defined by both modules resolves to the SGP.32 one (the newer spec). NULL if none. */
const message_entry *message_registry_find(const char *name);

typedef struct {
    const message_entry *entry;
    void *value; /* decoded value (schema_value_size bytes) in the caller's arena */
    bool exact;  /* re-encoding gives the input back: no unknown extension was skipped */
} message_match;

/* Decodes input as `entry`'s type with storage from arena; on failure the arena is left as
 * it was and err holds the reason. */
rsp_status message_decode(const message_entry *entry, der_view input, schema_arena *arena,
                          message_match *out, rsp_error *err);

/* Tries every registered type whose tag fits input's outer tag. Fills up to max matches
 * (values in arena), exact ones first (an extensible request that skipped every field of a
 * response also "decodes" it), returns how many were filled. *candidates
 * receives how many types were tried; when none matched, err holds the error of the
 * candidate that got furthest into the input. */
size_t message_detect(der_view input, schema_arena *arena, message_match *matches, size_t max,
                      size_t *candidates, rsp_error *err);

/* Prints input as a generic TLV tree (tag, length, offset; primitive values in hex, with
 * text when printable). Fails, having printed what was well formed, on malformed input. */
rsp_status message_print_tree(der_view input, FILE *out, rsp_error *err);

#endif
