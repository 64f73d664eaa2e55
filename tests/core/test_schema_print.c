/* schema_print: one hand-encoded value touching every kind prints to exactly the expected
 * text (names, hex, quoted text, named values and bits, dotted OIDs, choices, lists). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/schema.h"

typedef struct {
    int choice;
    union {
        int64_t number;
        der_view text;
    } u;
} alternative;

typedef struct {
    int64_t version;
    der_view name;
    der_view data;
    bool has_long_data;
    der_view long_data;
    bool flag;
    bool has_marker;
    schema_bits caps;
    der_view oid;
    schema_list items;
    alternative alt;
    der_view raw;
    bool has_color;
    int64_t color;
} sample;

static const char *const version_names[] = {"zero", "one", "two"};
static const char *const cap_names[] = {"a", "b", "c"};
static const char *const color_names[] = {"red", "green"};
static const schema_type version_type =
    SCHEMA_NAMED_INTEGER_TYPE("Version", 0x02, 0, 10, version_names);
static const schema_type caps_type = SCHEMA_BITS_TYPE("Caps", 0x03, cap_names);
static const schema_type color_type = SCHEMA_ENUM_TYPE("Color", 0x0A, 1, color_names, 0);
static const schema_type items_type = SCHEMA_SEQUENCE_OF_TYPE("Items", 0x30, schema_integer, 0, 0);

static const schema_field alternative_fields[] = {
    SCHEMA_ALT(alternative, number, 0x80, schema_integer),
    SCHEMA_ALT(alternative, text, 0x81, schema_utf8),
};
static const schema_type alternative_type =
    SCHEMA_CHOICE_TYPE("Alternative", 0, alternative, alternative_fields, 0);

static const schema_field sample_fields[] = {
    SCHEMA_FIELD(sample, version, 0x80, version_type),
    SCHEMA_FIELD(sample, name, 0x81, schema_utf8),
    SCHEMA_FIELD(sample, data, 0x82, schema_octets),
    SCHEMA_OPT_NAMED("longData", sample, long_data, 0x83, schema_octets),
    SCHEMA_FIELD(sample, flag, 0x84, schema_boolean),
    SCHEMA_OPT_NULL(sample, marker, 0x85),
    SCHEMA_FIELD(sample, caps, 0x86, caps_type),
    SCHEMA_FIELD(sample, oid, 0x87, schema_oid),
    SCHEMA_FIELD(sample, items, 0xA8, items_type),
    SCHEMA_FIELD(sample, alt, 0xA9, alternative_type),
    SCHEMA_FIELD(sample, raw, 0, schema_raw_sequence),
    SCHEMA_OPT(sample, color, 0x8B, color_type),
};
static const schema_type sample_type =
    SCHEMA_SEQUENCE_TYPE("Sample", 0x30, sample, sample_fields, 0);

static char *print_to_string(const schema_type *type, const void *value, int indent)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    schema_print(type, value, out, indent);
    fclose(out);
    return text;
}

static void test_every_kind(void **state)
{
    (void)state;
    uint8_t der[256];
    size_t n = 0;
    const uint8_t head[] = {0x80, 0x01, 0x02, 0x81, 0x05, 'H',  'e',  'l',
                            'l',  'o',  0x82, 0x02, 0xAB, 0xCD, 0x83, 40};
    der[n++] = 0x30;
    der[n++] = 0; /* patched below */
    memcpy(der + n, head, sizeof head);
    n += sizeof head;
    for (int i = 0; i < 40; i++)
        der[n++] = (uint8_t)i;
    const uint8_t tail[] = {0x84, 0x01, 0xFF, 0x85, 0x00, 0x86, 0x02, 0x05, 0xA0, 0x87,
                            0x03, 0x2A, 0x86, 0x48, 0xA8, 0x06, 0x02, 0x01, 0x01, 0x02,
                            0x01, 0x02, 0xA9, 0x05, 0x81, 0x03, 'a',  'b',  'c',  0x30,
                            0x03, 0x02, 0x01, 0x05, 0x8B, 0x01, 0x01};
    memcpy(der + n, tail, sizeof tail);
    n += sizeof tail;
    der[1] = (uint8_t)(n - 2);

    uint8_t arena_buffer[256];
    schema_arena arena;
    schema_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    sample value;
    rsp_error err = {0};
    assert_int_equal(schema_decode(&sample_type, der_view_make(der, n), &value, &arena, &err),
                     RSP_OK);
    char *text = print_to_string(&sample_type, &value, 0);
    const char *expected = "Sample:\n"
                           "  version: two (2)\n"
                           "  name: \"Hello\"\n"
                           "  data: ABCD\n"
                           "  longData: (40 bytes)\n"
                           "    000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\n"
                           "    2021222324252627\n"
                           "  flag: true\n"
                           "  marker: NULL\n"
                           "  caps: A0 (3 bits) { a, c }\n"
                           "  oid: 1.2.840\n"
                           "  items:\n"
                           "    [0]: 1\n"
                           "    [1]: 2\n"
                           "  alt:\n"
                           "    text: \"abc\"\n"
                           "  raw: 3003020105 (5 bytes)\n"
                           "  color: green (1)\n";
    assert_string_equal(text, expected);
    free(text);

    /* absent optionals vanish, empty lists print [], unnamed values print bare, the indent
     * parameter shifts everything, non-printable text falls back to hex */
    value.has_long_data = false;
    value.has_marker = false;
    value.has_color = false;
    value.items.count = 0;
    value.version = 7;
    const uint8_t control[] = {'a', 0x01};
    value.name = der_view_make(control, 2);
    value.alt.choice = 1;
    value.alt.u.number = -3;
    text = print_to_string(&sample_type, &value, 1);
    const char *expected_short = "  Sample:\n"
                                 "    version: 7\n"
                                 "    name: 6101\n"
                                 "    data: ABCD\n"
                                 "    flag: true\n"
                                 "    caps: A0 (3 bits) { a, c }\n"
                                 "    oid: 1.2.840\n"
                                 "    items: []\n"
                                 "    alt:\n"
                                 "      number: -3\n"
                                 "    raw: 3003020105 (5 bytes)\n";
    assert_string_equal(text, expected_short);
    free(text);
}

static void test_primitive_top_level(void **state)
{
    (void)state;
    const uint8_t oid[] = {0x06, 0x06, 0x67, 0x81, 0x0F, 0x01, 0x02, 0x01};
    der_view value;
    assert_int_equal(schema_decode(&schema_oid, der_view_make(oid, sizeof oid), &value, NULL, NULL),
                     RSP_OK);
    char *text = print_to_string(&schema_oid, &value, 0);
    assert_string_equal(text, "OBJECT IDENTIFIER: 2.23.143.1.2.1\n");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind),
        cmocka_unit_test(test_primitive_top_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
