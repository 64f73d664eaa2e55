/* Schema engine: encode/decode semantics on small hand-built types whose DER encodings are
 * written out by hand from X.690, independently of the encoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/schema.h"

typedef struct {
    bool has_default_address;
    der_view default_address;
    der_view root_address;
} addresses;

static const schema_field addresses_fields[] = {
    SCHEMA_OPT_NAMED("defaultDpAddress", addresses, default_address, 0x80, schema_utf8),
    SCHEMA_FIELD_NAMED("rootDsAddress", addresses, root_address, 0x81, schema_utf8),
};
static const schema_type addresses_type = SCHEMA_SEQUENCE_TYPE(
    "EuiccConfiguredAddressesResponse", 0xBF3C, addresses, addresses_fields, 0);

typedef struct {
    int64_t code;
    der_view data;
} ok_value;
static const schema_field ok_fields[] = {
    SCHEMA_FIELD(ok_value, code, 0x80, schema_integer),
};
static const schema_type ok_type =
    SCHEMA_SEQUENCE_TYPE("Ok", 0x30, ok_value, ok_fields, SCHEMA_EXTENSIBLE);

typedef struct {
    int choice;
    union {
        ok_value ok;
        int64_t error;
    } u;
} response;
static const schema_field response_alts[] = {
    SCHEMA_ALT(response, ok, 0xA0, ok_type),
    SCHEMA_ALT(response, error, 0x81, schema_integer),
};
static const schema_type response_type =
    SCHEMA_CHOICE_TYPE("Response", 0xBF38, response, response_alts, 0);

typedef struct {
    schema_list items; /* of der_view */
} iccid_list;
static const schema_type iccid_type = SCHEMA_OCTETS_TYPE("Iccid", 0x5A, 10, 10);
static const schema_type iccid_seq = SCHEMA_SEQUENCE_OF_TYPE("IccidList", 0xA0, iccid_type, 0, 2);
static const schema_field iccid_list_fields[] = {SCHEMA_FIELD(iccid_list, items, 0, iccid_seq)};
static const schema_type iccid_list_type =
    SCHEMA_SEQUENCE_TYPE("Holder", 0x30, iccid_list, iccid_list_fields, 0);

static void round_trip(const schema_type *type, const uint8_t *der, size_t len, void *value)
{
    uint8_t arena_buf[512];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    rsp_error err = {0};
    assert_int_equal(schema_decode(type, der_view_make(der, len), value, &arena, &err), RSP_OK);
    der_writer w;
    der_writer_init_dynamic(&w, NULL);
    assert_int_equal(schema_encode(type, value, &w), RSP_OK);
    assert_int_equal(w.len, len);
    assert_memory_equal(w.buf, der, len);
    der_writer_free(&w);
}

static void test_sequence_optional(void **state)
{
    (void)state;
    const uint8_t both[] = {0xBF, 0x3C, 0x08, 0x80, 0x02, 'a', 'b', 0x81, 0x02, 'c', 'd'};
    const uint8_t one[] = {0xBF, 0x3C, 0x04, 0x81, 0x02, 'c', 'd'};
    addresses a;
    round_trip(&addresses_type, both, sizeof both, &a);
    assert_true(a.has_default_address);
    assert_int_equal(a.default_address.len, 2);
    round_trip(&addresses_type, one, sizeof one, &a);
    assert_false(a.has_default_address);

    const uint8_t missing[] = {0xBF, 0x3C, 0x04, 0x80, 0x02, 'a', 'b'};
    const uint8_t swapped[] = {0xBF, 0x3C, 0x08, 0x81, 0x02, 'c', 'd', 0x80, 0x02, 'a', 'b'};
    rsp_error err = {0};
    assert_int_equal(
        schema_decode(&addresses_type, der_view_make(missing, sizeof missing), &a, NULL, &err),
        RSP_ERR_MISSING_FIELD);
    rsp_error_clear(&err);
    assert_int_equal(
        schema_decode(&addresses_type, der_view_make(swapped, sizeof swapped), &a, NULL, &err),
        RSP_ERR_UNEXPECTED_TAG);
    assert_int_equal(err.tag, 0x80);
    assert_int_equal(err.offset, 7);
}

static void test_tagged_choice_is_explicit(void **state)
{
    (void)state;
    const uint8_t ok[] = {0xBF, 0x38, 0x05, 0xA0, 0x03, 0x80, 0x01, 0x05};
    const uint8_t error[] = {0xBF, 0x38, 0x03, 0x81, 0x01, 0x7F};
    /* an unknown extension field inside Ok is skipped; re-encoding drops it */
    const uint8_t ext[] = {0xBF, 0x38, 0x08, 0xA0, 0x06, 0x80, 0x01, 0x05, 0x99, 0x01, 0x00};
    response r;
    round_trip(&response_type, ok, sizeof ok, &r);
    assert_int_equal(r.choice, 1);
    assert_int_equal(r.u.ok.code, 5);
    round_trip(&response_type, error, sizeof error, &r);
    assert_int_equal(r.choice, 2);
    assert_int_equal(r.u.error, 127);
    rsp_error err = {0};
    assert_int_equal(schema_decode(&response_type, der_view_make(ext, sizeof ext), &r, NULL, &err),
                     RSP_OK);
    assert_int_equal(r.u.ok.code, 5);
}

static void test_sequence_of_bounds(void **state)
{
    (void)state;
    uint8_t der[2 + 2 + 3 * 12];
    size_t n = 0;
    der[n++] = 0x30;
    der[n++] = 2 + 2 * 12;
    der[n++] = 0xA0;
    der[n++] = 2 * 12;
    for (int i = 0; i < 2; i++) {
        der[n++] = 0x5A;
        der[n++] = 10;
        memset(der + n, 0x89 + i, 10);
        n += 10;
    }
    iccid_list list;
    round_trip(&iccid_list_type, der, n, &list);
    assert_int_equal(list.items.count, 2);
    assert_int_equal(((der_view *)list.items.items)[1].data[0], 0x8A);

    /* three elements break SIZE(0..2) */
    uint8_t three[2 + 2 + 3 * 12];
    size_t m = 0;
    three[m++] = 0x30;
    three[m++] = 2 + 3 * 12;
    three[m++] = 0xA0;
    three[m++] = 3 * 12;
    for (int i = 0; i < 3; i++) {
        three[m++] = 0x5A;
        three[m++] = 10;
        memset(three + m, 0x89, 10);
        m += 10;
    }
    uint8_t arena_buf[256];
    schema_arena arena;
    schema_arena_init(&arena, arena_buf, sizeof arena_buf);
    rsp_error err = {0};
    assert_int_equal(schema_decode(&iccid_list_type, der_view_make(three, m), &list, &arena, &err),
                     RSP_ERR_TOO_MANY);
    /* a 9-byte ICCID breaks SIZE(10) */
    der[5] = 9;
    rsp_error_clear(&err);
    assert_int_not_equal(
        schema_decode(&iccid_list_type, der_view_make(der, n), &list, &arena, &err), RSP_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence_optional),
        cmocka_unit_test(test_tagged_choice_is_explicit),
        cmocka_unit_test(test_sequence_of_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
