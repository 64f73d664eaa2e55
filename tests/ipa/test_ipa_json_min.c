/* The strict JSON reader/writer libipa uses for the ESipa JSON binding (core/json_min.c):
 * RFC 8259 acceptance and rejection, member lookup, unescaping, numbers, base64 and hex, and a
 * writer/reader round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/json_min.h"

static der_view text(const char *s)
{
    return der_view_make((const uint8_t *)s, strlen(s));
}

static void test_validate_accepts_rfc8259(void **state)
{
    (void)state;
    static const char *const good[] = {
        "{}",
        " [ ] ",
        "0",
        "-0",
        "-12.5e+3",
        "1E9",
        "\"\"",
        "true",
        "false",
        "null",
        "{\"a\":[1,{\"b\":\"\\u00e9\\n\\\"\"}],\"c\":null}",
        "\"\\ud83d\\ude00\"",
        "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"",
        "[[[[[[[[]]]]]]]]",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        rsp_error err = {0};
        if (json_min_validate(text(good[i]), 8, &err) != RSP_OK)
            fail_msg("rejected %s: %s", good[i], err.message);
    }
}

static void test_validate_rejects_everything_else(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        " ",
        "{",
        "}",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "01",
        "1.",
        ".5",
        "-",
        "1e",
        "+1",
        "tru",
        "nul",
        "\"abc",
        "\"\\x\"",
        "\"\\u12G4\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\ud800\\u0041\"",
        "\"tab\there\"",
        "\"\xC0\xAF\"",
        "\"\xED\xA0\x80\"",
        "\"\xF4\x90\x80\x80\"",
        "\"\xE2\x82\"",
        "{} {}",
        "[1] x",
        "'a'",
        "[[[[[[[[[]]]]]]]]]",
        "NaN",
        "Infinity",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rsp_error err = {0};
        if (json_min_validate(text(bad[i]), 8, &err) == RSP_OK)
            fail_msg("accepted bad JSON #%zu: %s", i, bad[i]);
        assert_true(err.message[0] != 0);
    }
    /* an embedded NUL is not whitespace */
    static const uint8_t nul[] = {'{', '}', 0};
    assert_int_not_equal(json_min_validate(der_view_make(nul, 3), 8, NULL), RSP_OK);
}

static void test_member_lookup(void **state)
{
    (void)state;
    der_view object = text(" { \"x\" : [1, {\"y\": 2}], \"n\\u0061me\" : \"v\", \"z\": {} } ");
    der_view value;
    rsp_error err = {0};
    assert_int_equal(json_min_member(object, "name", &value, &err), RSP_OK);
    assert_int_equal(json_min_type_of(value), JSON_MIN_STRING);
    assert_int_equal(value.len, 3);
    assert_int_equal(json_min_member(object, "x", &value, &err), RSP_OK);
    assert_int_equal(json_min_type_of(value), JSON_MIN_ARRAY);
    assert_int_equal(json_min_member(object, "y", &value, &err), RSP_ERR_NOT_FOUND);
    assert_int_equal(json_min_member(object, "z", &value, &err), RSP_OK);
    assert_int_equal(json_min_type_of(value), JSON_MIN_OBJECT);
    assert_int_equal(json_min_member(text("{}"), "z", &value, &err), RSP_ERR_NOT_FOUND);
    assert_int_equal(json_min_member(text("{\"a\":1,\"a\":2}"), "a", &value, &err),
                     RSP_ERR_BAD_VALUE);
    assert_int_equal(json_min_member(text("[1]"), "a", &value, NULL), RSP_ERR_BAD_VALUE);
    assert_int_equal(json_min_member(text("{\"a\":1,"), "a", &value, NULL), RSP_ERR_BAD_VALUE);
    /* arrays */
    der_view array = text("[ 7 , \"s\" ,[ ] ]"), item;
    size_t pos = 0;
    int n = 0;
    while (json_min_array_next(array, &pos, &item))
        n++;
    assert_int_equal(n, 3);
    assert_int_equal(pos, array.len);
    pos = 0;
    assert_true(json_min_array_next(text("[1 2]"), &pos, &item));
    assert_false(json_min_array_next(text("[1 2]"), &pos, &item));
    assert_int_equal(pos, SIZE_MAX);
}

static void test_scalars(void **state)
{
    (void)state;
    uint8_t buf[64];
    der_writer w;
    der_writer_init_fixed(&w, buf, sizeof buf);
    rsp_error err = {0};
    assert_int_equal(json_min_string(text("\"a\\u00e9\\ud83d\\ude00\\/\\\\\""), &w, &err), RSP_OK);
    assert_int_equal(w.len, 9);
    assert_memory_equal(buf, "a\xC3\xA9\xF0\x9F\x98\x80/\\", 9);
    int64_t v = 0;
    assert_int_equal(json_min_int64(text("9223372036854775807"), &v, &err), RSP_OK);
    assert_true(v == INT64_MAX);
    assert_int_equal(json_min_int64(text("-9223372036854775808"), &v, &err), RSP_OK);
    assert_true(v == INT64_MIN);
    assert_int_equal(json_min_int64(text("9223372036854775808"), &v, NULL), RSP_ERR_INTEGER_RANGE);
    assert_int_not_equal(json_min_int64(text("1.0"), &v, NULL), RSP_OK);
    assert_int_not_equal(json_min_int64(text("1e2"), &v, NULL), RSP_OK);
    assert_int_not_equal(json_min_int64(text("\"1\""), &v, NULL), RSP_OK);
    bool flag = false;
    assert_int_equal(json_min_bool(text(" true "), &flag, &err), RSP_OK);
    assert_true(flag);
    assert_int_equal(json_min_bool(text("false"), &flag, &err), RSP_OK);
    assert_false(flag);
    assert_int_not_equal(json_min_bool(text("null"), &flag, NULL), RSP_OK);
    assert_int_not_equal(json_min_string(text("\"a\" \"b\""), &w, NULL), RSP_OK);
}

static void test_base64_and_hex(void **state)
{
    (void)state;
    uint8_t buf[64];
    der_writer w;
    rsp_error err = {0};
    static const struct {
        const char *json;
        const char *bytes;
    } good[] = {{"\"\"", ""},        {"\"Zg==\"", "f"},        {"\"Zm8=\"", "fo"},
                {"\"Zm9v\"", "foo"}, {"\"Zm9vYg==\"", "foob"}, {"\"Lys\\/\"", "/+?"}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        der_writer_init_fixed(&w, buf, sizeof buf);
        der_put_raw(&w, (const uint8_t *)"X", 1); /* decoding appends */
        assert_int_equal(json_min_base64(text(good[i].json), &w, &err), RSP_OK);
        assert_int_equal(w.len, 1 + strlen(good[i].bytes));
        assert_memory_equal(buf + 1, good[i].bytes, strlen(good[i].bytes));
    }
    static const char *const bad[] = {"\"Zg=\"",      "\"Zh==\"",  "\"Zm9=\"",
                                      "\"Zg==Zg==\"", "\"Zm 9v\"", "\"Zm9v\\n\"",
                                      "\"====\"",     "\"Z===\"",  "12"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        der_writer_init_fixed(&w, buf, sizeof buf);
        if (json_min_base64(text(bad[i]), &w, NULL) == RSP_OK)
            fail_msg("accepted base64 %s", bad[i]);
        assert_int_equal(w.len, 0);
    }
    der_writer_init_fixed(&w, buf, sizeof buf);
    assert_int_equal(json_min_hex(text("\"0aFf\""), &w, &err), RSP_OK);
    assert_int_equal(w.len, 2);
    assert_int_equal(buf[0], 0x0A);
    assert_int_equal(buf[1], 0xFF);
    der_writer_init_fixed(&w, buf, sizeof buf);
    assert_int_not_equal(json_min_hex(text("\"0aF\""), &w, NULL), RSP_OK);
    assert_int_not_equal(json_min_hex(text("\"0g\""), &w, NULL), RSP_OK);
    assert_int_equal(w.len, 0);
}

static void test_writer_round_trip(void **state)
{
    (void)state;
    static const uint8_t awkward[] = {'a', '"', '\\', 0x01, 0x1F, '\n', 0xC3, 0xA9, 0};
    static const uint8_t blob[] = {0xBF, 0x51, 0x00, 0xFF, 0x3E};
    uint8_t buf[256], back[64];
    der_writer w, r;
    der_writer_init_fixed(&w, buf, sizeof buf);
    bool first = true;
    json_min_put_raw(&w, "{");
    json_min_put_name(&w, "s", &first);
    json_min_put_string(&w, awkward, sizeof awkward);
    json_min_put_name(&w, "i", &first);
    json_min_put_int64(&w, INT64_MIN);
    json_min_put_name(&w, "b", &first);
    json_min_put_base64(&w, der_view_make(blob, sizeof blob));
    json_min_put_name(&w, "h", &first);
    json_min_put_hex(&w, der_view_make(blob, sizeof blob));
    json_min_put_raw(&w, "}");
    assert_int_equal(der_writer_status(&w), RSP_OK);
    der_view doc = der_writer_view(&w), value;
    rsp_error err = {0};
    assert_int_equal(json_min_validate(doc, 2, &err), RSP_OK);
    der_writer_init_fixed(&r, back, sizeof back);
    assert_int_equal(json_min_member(doc, "s", &value, &err), RSP_OK);
    assert_int_equal(json_min_string(value, &r, &err), RSP_OK);
    assert_int_equal(r.len, sizeof awkward);
    assert_memory_equal(back, awkward, sizeof awkward);
    int64_t i = 0;
    assert_int_equal(json_min_member(doc, "i", &value, &err), RSP_OK);
    assert_int_equal(json_min_int64(value, &i, &err), RSP_OK);
    assert_true(i == INT64_MIN);
    der_writer_init_fixed(&r, back, sizeof back);
    assert_int_equal(json_min_member(doc, "b", &value, &err), RSP_OK);
    assert_int_equal(json_min_base64(value, &r, &err), RSP_OK);
    assert_int_equal(json_min_member(doc, "h", &value, &err), RSP_OK);
    assert_int_equal(json_min_hex(value, &r, &err), RSP_OK);
    assert_int_equal(r.len, 2 * sizeof blob);
    assert_memory_equal(back, blob, sizeof blob);
    assert_memory_equal(back + sizeof blob, blob, sizeof blob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_accepts_rfc8259),
        cmocka_unit_test(test_validate_rejects_everything_else),
        cmocka_unit_test(test_member_lookup),
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_base64_and_hex),
        cmocka_unit_test(test_writer_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
