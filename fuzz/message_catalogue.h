/* Shared body of the catalogue fuzzers: every input is tried against EVERY top-level type of a
 * catalogue (as a receiver that does not trust the tag would), and whatever decodes must
 * re-encode, decode again, and print without fault. Decodes use a bounded arena, as the
 * components do. */
#ifndef RSPKIT_FUZZ_MESSAGE_CATALOGUE_H
#define RSPKIT_FUZZ_MESSAGE_CATALOGUE_H

#include <stdio.h>
#include <stdlib.h>

#include "core/schema.h"

static void fuzz_one_type(const schema_type *type, const uint8_t *data, size_t size)
{
    static uint8_t value[16384], again[16384];
    static uint8_t arena_buffer[64 * 1024], arena_again_buffer[64 * 1024];
    schema_arena arena, arena_again;
    rsp_error err = {0};
    if (schema_value_size(type) > sizeof value)
        abort(); /* a table larger than this harness: make the harness bigger */
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    if (schema_decode(type, der_view_make(data, size), value, &arena, &err) != RSP_OK)
        return;
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    if (schema_encode(type, value, &w) != RSP_OK)
        abort(); /* a decoded value must always encode */
    schema_arena_init(&arena_again, arena_again_buffer, sizeof arena_again_buffer);
    rsp_error_clear(&err);
    if (schema_decode(type, der_writer_view(&w), again, &arena_again, &err) != RSP_OK)
        abort(); /* and what we encode must decode */
    FILE *sink = fopen("/dev/null", "w");
    if (sink != NULL) {
        schema_print(type, value, sink, 0);
        fclose(sink);
    }
    der_writer_free(&w);
}

static void fuzz_catalogue(const schema_type *const *types, size_t count, const uint8_t *data,
                           size_t size)
{
    for (size_t i = 0; i < count; i++)
        fuzz_one_type(types[i], data, size);
}

#endif
