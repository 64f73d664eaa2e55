/* DER engine: each strictness rule has a test that feeds it a violating encoding and checks
 * the error code, tag and offset reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/der.h"

static rsp_status parse(const uint8_t *data, size_t len, der_tlv *tlv, rsp_error *err)
{
    rsp_error_clear(err);
    return der_parse_single(der_view_make(data, len), tlv, err);
}

static void expect_error(const uint8_t *data, size_t len, rsp_status code, size_t offset)
{
    der_tlv tlv;
    rsp_error err;
    rsp_status st = parse(data, len, &tlv, &err);
    if (st == RSP_OK)
        st = der_validate_tree(&tlv, 0, &err);
    assert_int_equal(st, code);
    assert_int_equal(err.code, code);
    assert_int_equal(err.offset, offset);
}

static void test_multi_byte_tags(void **state)
{
    (void)state;
    const uint8_t bf51[] = {0xBF, 0x51, 0x02, 0x80, 0x00};
    const uint8_t p5f37[] = {0x5F, 0x37, 0x01, 0xAA};
    const uint8_t p7f21[] = {0x7F, 0x21, 0x00};
    der_tlv tlv;
    rsp_error err;
    assert_int_equal(parse(bf51, sizeof bf51, &tlv, &err), RSP_OK);
    assert_int_equal(tlv.tag, 0xBF51);
    assert_true(tlv.constructed);
    assert_int_equal(tlv.value.len, 2);
    assert_int_equal(parse(p5f37, sizeof p5f37, &tlv, &err), RSP_OK);
    assert_int_equal(tlv.tag, 0x5F37);
    assert_false(tlv.constructed);
    assert_int_equal(parse(p7f21, sizeof p7f21, &tlv, &err), RSP_OK);
    assert_int_equal(tlv.tag, 0x7F21);
    assert_int_equal(der_context_tag(55, true), 0xBF37);
    assert_int_equal(der_context_tag(3, false), 0x83);
    assert_int_equal(der_context_tag(200, true), 0xBF8148);
}

static void test_long_lengths(void **state)
{
    (void)state;
    uint8_t buf[3 + 300];
    buf[0] = 0x04;
    buf[1] = 0x82;
    buf[2] = 0x01;
    buf[3] = 0x2C; /* 300 */
    memset(buf + 4, 0xAB, 299);
    der_tlv tlv;
    rsp_error err;
    uint8_t full[4 + 300];
    memcpy(full, buf, 4);
    memset(full + 4, 0xAB, 300);
    assert_int_equal(parse(full, sizeof full, &tlv, &err), RSP_OK);
    assert_int_equal(tlv.value.len, 300);
    /* one byte short: the value overruns the input */
    expect_error(full, sizeof full - 1, RSP_ERR_LENGTH_OVERRUN, 0);
}

static void test_strictness_rules(void **state)
{
    (void)state;
    /* truncated inside the tag, the length, the value */
    expect_error((const uint8_t[]){0xBF}, 1, RSP_ERR_TRUNCATED, 0);
    expect_error((const uint8_t[]){0x04}, 1, RSP_ERR_TRUNCATED, 0);
    expect_error((const uint8_t[]){0x04, 0x82, 0x01}, 3, RSP_ERR_TRUNCATED, 0);
    expect_error((const uint8_t[]){0x04, 0x03, 0x01}, 3, RSP_ERR_LENGTH_OVERRUN, 0);
    /* trailing bytes after the outermost value */
    expect_error((const uint8_t[]){0x04, 0x01, 0x01, 0x00}, 4, RSP_ERR_TRAILING, 3);
    /* non-minimal lengths: long form for < 128, leading zero byte */
    expect_error((const uint8_t[]){0x04, 0x81, 0x05, 1, 2, 3, 4, 5}, 8, RSP_ERR_NON_MINIMAL, 0);
    expect_error((const uint8_t[]){0x04, 0x82, 0x00, 0x01, 1}, 5, RSP_ERR_NON_MINIMAL, 0);
    /* indefinite length is BER, not DER */
    expect_error((const uint8_t[]){0x30, 0x80, 0x00, 0x00}, 4, RSP_ERR_INDEFINITE_LENGTH, 0);
    /* high-tag form for a number below 31, and a leading 0x80 in the tag number */
    expect_error((const uint8_t[]){0xBF, 0x05, 0x00}, 3, RSP_ERR_NON_MINIMAL, 0);
    expect_error((const uint8_t[]){0xBF, 0x80, 0x37, 0x00}, 4, RSP_ERR_NON_MINIMAL, 0);
    /* tags wider than four bytes */
    expect_error((const uint8_t[]){0xBF, 0x81, 0x81, 0x81, 0x01, 0x00}, 6, RSP_ERR_TAG_TOO_LONG, 0);
    /* a child that overruns its parent (reported at the child's offset) */
    expect_error((const uint8_t[]){0x30, 0x03, 0x04, 0x05, 0x00}, 5, RSP_ERR_LENGTH_OVERRUN, 2);
}

/* An HTTP body of no bytes arrives with no buffer: reading it is a truncation. (The reader
 * also did NULL + 0 then, which clang's UBSan reports and gcc's does not: found by
 * fuzz_eim_http, which runs under clang.) */
static void test_empty_input_without_buffer(void **state)
{
    (void)state;
    der_reader reader;
    der_tlv tlv;
    rsp_error err = {0};
    der_reader_init(&reader, der_view_make(NULL, 0), 0, 0);
    assert_int_equal(der_reader_next(&reader, &tlv, &err), RSP_ERR_TRUNCATED);
    assert_true(der_reader_at_end(&reader));
}

static void test_depth_bound(void **state)
{
    (void)state;
    /* DER_MAX_DEPTH + 2 nested empty-ended SEQUENCEs */
    enum { levels = DER_MAX_DEPTH + 2 };
    uint8_t buf[2 * levels];
    for (int i = 0; i < levels; i++) {
        buf[2 * i] = 0x30;
        buf[2 * i + 1] = (uint8_t)(2 * (levels - i - 1));
    }
    der_tlv tlv;
    rsp_error err;
    assert_int_equal(parse(buf, sizeof buf, &tlv, &err), RSP_OK);
    assert_int_equal(der_validate_tree(&tlv, 0, &err), RSP_ERR_TOO_DEEP);
    assert_int_equal(err.offset, 2 * DER_MAX_DEPTH);
}

static void test_integers(void **state)
{
    (void)state;
    der_tlv tlv;
    rsp_error err;
    int64_t v;
    uint64_t u;
    const uint8_t neg[] = {0x02, 0x01, 0xFF};
    assert_int_equal(parse(neg, sizeof neg, &tlv, &err), RSP_OK);
    assert_int_equal(der_decode_int64(&tlv, &v, &err), RSP_OK);
    assert_int_equal(v, -1);
    assert_int_equal(der_decode_uint64(&tlv, &u, &err), RSP_ERR_INTEGER_RANGE);
    const uint8_t padded[] = {0x02, 0x02, 0x00, 0x7F};
    assert_int_equal(parse(padded, sizeof padded, &tlv, &err), RSP_OK);
    assert_int_equal(der_decode_int64(&tlv, &v, &err), RSP_ERR_NON_MINIMAL);
    const uint8_t wide[] = {0x02, 0x09, 0x01, 0, 0, 0, 0, 0, 0, 0, 0};
    rsp_error_clear(&err);
    assert_int_equal(parse(wide, sizeof wide, &tlv, &err), RSP_OK);
    assert_int_equal(der_decode_int64(&tlv, &v, &err), RSP_ERR_INTEGER_RANGE);
    const uint8_t big_unsigned[] = {0x02, 0x09, 0x00, 0xFF, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(parse(big_unsigned, sizeof big_unsigned, &tlv, &err), RSP_OK);
    assert_int_equal(der_decode_uint64(&tlv, &u, &err), RSP_OK);
    assert_true(u == 0xFF00000000000000ull);
    const uint8_t empty[] = {0x02, 0x00};
    rsp_error_clear(&err);
    assert_int_equal(parse(empty, sizeof empty, &tlv, &err), RSP_OK);
    assert_int_equal(der_decode_int64(&tlv, &v, &err), RSP_ERR_BAD_VALUE);
    const uint8_t bad_bool[] = {0x01, 0x01, 0x01};
    bool b;
    rsp_error_clear(&err);
    assert_int_equal(parse(bad_bool, sizeof bad_bool, &tlv, &err), RSP_OK);
    assert_int_equal(der_decode_bool(&tlv, &b, &err), RSP_ERR_BAD_VALUE);
}

static void test_writer_lengths(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 127, 128, 255, 256, 65535, 65536, 70000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        der_writer w;
        der_writer_init_dynamic(&w, NULL);
        size_t outer = der_begin(&w, 0xBF36);
        size_t inner = der_begin(&w, 0xA3);
        for (size_t k = 0; k < sizes[i]; k++) {
            uint8_t byte = (uint8_t)k;
            der_put_raw(&w, &byte, 1);
        }
        der_end(&w, inner);
        der_end(&w, outer);
        assert_int_equal(der_writer_status(&w), RSP_OK);
        der_tlv tlv, child;
        rsp_error err = {0};
        assert_int_equal(der_parse_single(der_writer_view(&w), &tlv, &err), RSP_OK);
        der_reader r;
        assert_int_equal(der_reader_enter(&tlv, 0, &r, &err), RSP_OK);
        assert_int_equal(der_reader_next(&r, &child, &err), RSP_OK);
        assert_int_equal(child.value.len, sizes[i]);
        if (sizes[i] > 0)
            assert_int_equal(child.value.data[sizes[i] - 1], (uint8_t)(sizes[i] - 1));
        assert_int_equal(w.len, der_header_size(0xBF36, child.whole.len) + child.whole.len);
        der_writer_free(&w);
    }
}

static void test_writer_fixed_overflow_and_integers(void **state)
{
    (void)state;
    uint8_t buf[4];
    der_writer w;
    der_writer_init_fixed(&w, buf, sizeof buf);
    der_put_tlv(&w, 0x04, (const uint8_t *)"abcd", 4);
    assert_int_equal(der_writer_status(&w), RSP_ERR_BUFFER_TOO_SMALL);

    static const struct {
        int64_t value;
        uint8_t der[10];
        size_t len;
    } cases[] = {
        {0, {0x02, 0x01, 0x00}, 3},
        {127, {0x02, 0x01, 0x7F}, 3},
        {128, {0x02, 0x02, 0x00, 0x80}, 4},
        {-128, {0x02, 0x01, 0x80}, 3},
        {-129, {0x02, 0x02, 0xFF, 0x7F}, 4},
        {INT64_MAX, {0x02, 0x08, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t out[16];
        der_writer_init_fixed(&w, out, sizeof out);
        der_put_int64(&w, 0x02, cases[i].value);
        assert_int_equal(der_writer_status(&w), RSP_OK);
        assert_int_equal(w.len, cases[i].len);
        assert_memory_equal(out, cases[i].der, cases[i].len);
        der_tlv tlv;
        rsp_error err = {0};
        int64_t back;
        assert_int_equal(der_parse_single(der_writer_view(&w), &tlv, &err), RSP_OK);
        assert_int_equal(der_decode_int64(&tlv, &back, &err), RSP_OK);
        assert_true(back == cases[i].value);
    }
}

static void test_hex(void **state)
{
    (void)state;
    uint8_t out[4];
    assert_int_equal(der_hex_decode("bf 2e:00", out, sizeof out), 3);
    assert_int_equal(out[0], 0xBF);
    char text[9];
    der_hex_encode(out, 3, text, true);
    assert_string_equal(text, "BF2E00");
    assert_int_equal(der_hex_decode("abc", out, sizeof out), -1);
    assert_int_equal(der_hex_decode("zz", out, sizeof out), -1);
    assert_int_equal(der_hex_decode("0102030405", out, sizeof out), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multi_byte_tags),
        cmocka_unit_test(test_long_lengths),
        cmocka_unit_test(test_strictness_rules),
        cmocka_unit_test(test_empty_input_without_buffer),
        cmocka_unit_test(test_depth_bound),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_writer_lengths),
        cmocka_unit_test(test_writer_fixed_overflow_and_integers),
        cmocka_unit_test(test_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
