/* JSON glue: strict parsing, typed field access, canonical base64, hex identifiers and the
 * SGP.22 section 6.5.1 header objects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/json.h"

static json_t *parse(const char *text)
{
    rsp_error err;
    rsp_error_clear(&err);
    return rsp_json_parse_object(text, strlen(text), 4096, &err);
}

static void test_base64_canonical_forms(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *decoded;
    } good[] = {{"", ""},
                {"Zg==", "f"},
                {"Zm8=", "fo"},
                {"Zm9v", "foo"},
                {"Zm9vYg==", "foob"},
                {"Zm9vYmE=", "fooba"},
                {"Zm9vYmFy", "foobar"},
                {"+/+/", "\xfb\xff\xbf"}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint8_t *out = NULL;
        size_t len = 99;
        rsp_error err;
        rsp_error_clear(&err);
        assert_int_equal(rsp_base64_decode(good[i].text, strlen(good[i].text), &out, &len, &err),
                         RSP_OK);
        assert_int_equal(len, strlen(good[i].decoded));
        assert_memory_equal(out, good[i].decoded, len);
        free(out);
        char *encoded = rsp_base64_encode((const uint8_t *)good[i].decoded, len);
        assert_string_equal(encoded, good[i].text);
        free(encoded);
    }
}

static void test_base64_rejects_lenient_forms(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "Zg",            /* missing padding */
        "Zg=",           /* short padding */
        "Zm9",           /* length not a multiple of 4 */
        "Zh==",          /* non-zero pad bits (would decode like "Zg==") */
        "Zm9=",          /* non-zero pad bits */
        "Zg==Zg==",      /* padding inside */
        "Z===",          /* too much padding */
        "====",          /* padding only */
        " Zm9v",         /* whitespace (OpenSSL alone would skip it) */
        "Zm9v\n",        /* trailing newline */
        "Zm 9",          /* inner space */
        "Zm-v",          /* URL-safe alphabet */
        "Zm_v",          /* URL-safe alphabet */
        "Zm9v\x80\x80==" /* non-ASCII */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *out = (uint8_t *)1;
        size_t len = 99;
        rsp_error err;
        rsp_error_clear(&err);
        assert_int_equal(rsp_base64_decode(bad[i], strlen(bad[i]), &out, &len, &err),
                         RSP_ERR_BAD_VALUE);
        assert_null(out);
        assert_int_equal(len, 0);
    }
}

static void test_base64_round_trip_lengths(void **state)
{
    (void)state;
    uint8_t data[64];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 37 + 11);
    for (size_t len = 0; len <= sizeof data; len++) {
        char *text = rsp_base64_encode(data, len);
        assert_non_null(text);
        assert_int_equal(strlen(text), (len + 2) / 3 * 4);
        uint8_t *out = NULL;
        size_t out_len = 0;
        rsp_error err;
        rsp_error_clear(&err);
        assert_int_equal(rsp_base64_decode(text, strlen(text), &out, &out_len, &err), RSP_OK);
        assert_int_equal(out_len, len);
        if (len > 0)
            assert_memory_equal(out, data, len);
        free(out);
        free(text);
    }
}

static void test_strict_parse(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"a\":1,\"a\":2}",   /* duplicate key */
        "{\"a\":1} x",         /* trailing data */
        "[1,2]",               /* not an object */
        "{\"a\":\"\\u0000\"}", /* NUL in a string */
        "{\"a\":1,}",          /* trailing comma */
        "{'a':1}",             /* single quotes */
        "",                    /* empty */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rsp_error err;
        rsp_error_clear(&err);
        json_t *root = rsp_json_parse_object(bad[i], strlen(bad[i]), 4096, &err);
        assert_null(root);
        assert_int_equal(err.code, RSP_ERR_BAD_VALUE);
        assert_true(err.message[0] != '\0');
    }
    /* The error says where. */
    rsp_error err;
    rsp_error_clear(&err);
    const char *broken = "{\n  \"a\": tru\n}";
    assert_null(rsp_json_parse_object(broken, strlen(broken), 4096, &err));
    assert_non_null(strstr(err.message, "line 2"));
    /* Size limit checked before parsing. */
    rsp_error_clear(&err);
    assert_null(rsp_json_parse_object("{\"a\":1}", 7, 6, &err));
    assert_non_null(strstr(err.message, "exceeds"));
    /* Accepted. */
    json_t *root = parse("{\"a\":1}");
    assert_non_null(root);
    json_decref(root);
}

static void test_field_types(void **state)
{
    (void)state;
    json_t *root = parse("{\"s\":\"text\",\"i\":42,\"neg\":-5,\"r\":1.0,\"b\":true,\"n\":null,"
                         "\"o\":{\"x\":1},\"si\":\"42\"}");
    assert_non_null(root);
    rsp_error err;
    const char *text;
    int64_t number;
    bool flag, present;
    json_t *object;

    rsp_error_clear(&err);
    assert_int_equal(rsp_json_get_string(root, "s", true, &text, &present, &err), RSP_OK);
    assert_string_equal(text, "text");
    assert_true(present);
    assert_int_equal(rsp_json_get_int(root, "i", true, 0, 100, &number, NULL, &err), RSP_OK);
    assert_int_equal(number, 42);
    assert_int_equal(rsp_json_get_bool(root, "b", true, &flag, NULL, &err), RSP_OK);
    assert_true(flag);
    assert_int_equal(rsp_json_get_object(root, "o", true, &object, NULL, &err), RSP_OK);
    assert_non_null(object);

    /* Optional and absent. */
    assert_int_equal(rsp_json_get_string(root, "absent", false, &text, &present, &err), RSP_OK);
    assert_null(text);
    assert_false(present);

    /* Required and absent. */
    rsp_error_clear(&err);
    assert_int_equal(rsp_json_get_string(root, "absent", true, &text, NULL, &err),
                     RSP_ERR_MISSING_FIELD);
    assert_non_null(strstr(err.message, "absent"));

    /* Type mismatches, named in the message. */
    static const struct {
        const char *key;
        int kind; /* 0 string, 1 int, 2 bool, 3 object */
    } mismatches[] = {{"i", 0}, {"n", 0}, {"o", 0}, {"s", 1}, {"r", 1}, {"si", 1},
                      {"n", 1}, {"i", 2}, {"s", 2}, {"s", 3}, {"n", 3}};
    for (size_t k = 0; k < sizeof mismatches / sizeof mismatches[0]; k++) {
        rsp_status st = RSP_OK;
        rsp_error_clear(&err);
        switch (mismatches[k].kind) {
        case 0:
            st = rsp_json_get_string(root, mismatches[k].key, false, &text, NULL, &err);
            break;
        case 1:
            st = rsp_json_get_int(root, mismatches[k].key, false, INT64_MIN, INT64_MAX, &number,
                                  NULL, &err);
            break;
        case 2:
            st = rsp_json_get_bool(root, mismatches[k].key, false, &flag, NULL, &err);
            break;
        default:
            st = rsp_json_get_object(root, mismatches[k].key, false, &object, NULL, &err);
            break;
        }
        assert_int_equal(st, RSP_ERR_BAD_VALUE);
        char quoted[16];
        snprintf(quoted, sizeof quoted, "'%s'", mismatches[k].key);
        assert_non_null(strstr(err.message, quoted));
    }

    /* Range. */
    rsp_error_clear(&err);
    assert_int_equal(rsp_json_get_int(root, "neg", true, 0, 10, &number, NULL, &err),
                     RSP_ERR_INTEGER_RANGE);
    rsp_error_clear(&err);
    assert_int_equal(rsp_json_get_int(root, "i", true, 0, 41, &number, NULL, &err),
                     RSP_ERR_INTEGER_RANGE);
    json_decref(root);
}

static void test_base64_and_hex_fields(void **state)
{
    (void)state;
    json_t *root = json_object();
    const uint8_t value[] = {0xBF, 0x37, 0x03, 0x80, 0x01, 0x00};
    const uint8_t transaction_id[] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};
    assert_int_equal(rsp_json_set_base64(root, "boundProfilePackage", value, sizeof value), RSP_OK);
    assert_int_equal(rsp_json_set_hex(root, "transactionId", transaction_id, sizeof transaction_id),
                     RSP_OK);
    size_t len = 0;
    char *text = rsp_json_dump(root, &len);
    assert_string_equal(text, "{\"boundProfilePackage\":\"vzcDgAEA\","
                              "\"transactionId\":\"0123456789ABCDEF\"}");
    assert_int_equal(len, strlen(text));
    json_decref(root);

    rsp_error err;
    rsp_error_clear(&err);
    root = rsp_json_parse_object(text, len, 4096, &err);
    free(text);
    assert_non_null(root);
    uint8_t *decoded = NULL;
    size_t decoded_len = 0;
    assert_int_equal(rsp_json_get_base64(root, "boundProfilePackage", true, 100, &decoded,
                                         &decoded_len, NULL, &err),
                     RSP_OK);
    assert_int_equal(decoded_len, sizeof value);
    assert_memory_equal(decoded, value, sizeof value);
    free(decoded);
    /* Over the caller's limit. */
    rsp_error_clear(&err);
    assert_int_equal(rsp_json_get_base64(root, "boundProfilePackage", true, 5, &decoded,
                                         &decoded_len, NULL, &err),
                     RSP_ERR_BAD_VALUE);
    assert_null(decoded);

    uint8_t id[16];
    size_t id_len = 0;
    rsp_error_clear(&err);
    assert_int_equal(
        rsp_json_get_hex(root, "transactionId", true, 1, 16, id, sizeof id, &id_len, NULL, &err),
        RSP_OK);
    assert_int_equal(id_len, sizeof transaction_id);
    assert_memory_equal(id, transaction_id, id_len);
    json_decref(root);

    /* Lower case accepted; odd length, bad digits, too long and empty refused. */
    root = parse("{\"lower\":\"abcdef\",\"odd\":\"ABC\",\"bad\":\"0G\",\"long\":"
                 "\"00112233445566778899AABBCCDDEEFF00\",\"empty\":\"\",\"b64\":\"Zh==\"}");
    assert_non_null(root);
    rsp_error_clear(&err);
    assert_int_equal(
        rsp_json_get_hex(root, "lower", true, 1, 16, id, sizeof id, &id_len, NULL, &err), RSP_OK);
    assert_int_equal(id_len, 3);
    assert_int_equal(id[0], 0xAB);
    static const char *const bad_hex[] = {"odd", "bad", "long", "empty"};
    for (size_t i = 0; i < 4; i++) {
        rsp_error_clear(&err);
        assert_int_not_equal(
            rsp_json_get_hex(root, bad_hex[i], true, 1, 16, id, sizeof id, &id_len, NULL, &err),
            RSP_OK);
    }
    rsp_error_clear(&err);
    assert_int_equal(rsp_json_get_base64(root, "b64", true, 10, &decoded, &decoded_len, NULL, &err),
                     RSP_ERR_BAD_VALUE);
    assert_non_null(strstr(err.message, "'b64'"));
    json_decref(root);
}

static void expect_dump(json_t *value, const char *expected)
{
    assert_non_null(value);
    char *text = rsp_json_dump(value, NULL);
    assert_string_equal(text, expected);
    free(text);
    json_decref(value);
}

static void test_sgp22_headers(void **state)
{
    (void)state;
    expect_dump(rsp_json_request_header("RSPKIT-EIM", "42"),
                "{\"functionRequesterIdentifier\":\"RSPKIT-EIM\","
                "\"functionCallIdentifier\":\"42\"}");
    expect_dump(rsp_json_response_header(RSP_EXECUTION_SUCCESS, NULL),
                "{\"functionExecutionStatus\":{\"status\":\"Executed-Success\"}}");
    rsp_status_code_data data = {
        .subject_code = "8.1.1", .reason_code = "3.8", .message = "EID unknown"};
    expect_dump(rsp_json_response_header(RSP_EXECUTION_FAILED, &data),
                "{\"functionExecutionStatus\":{\"status\":\"Failed\",\"statusCodeData\":{"
                "\"subjectCode\":\"8.1.1\",\"reasonCode\":\"3.8\",\"message\":\"EID "
                "unknown\"}}}");
    assert_null(rsp_json_request_header(NULL, "1"));
    assert_null(rsp_json_response_header((rsp_execution_status)7, NULL));

    /* Round trip through a message body. */
    json_t *body = json_object();
    json_object_set_new(body, "header", rsp_json_response_header(RSP_EXECUTION_EXPIRED, &data));
    rsp_execution_status status;
    rsp_status_code_data parsed;
    rsp_error err;
    rsp_error_clear(&err);
    assert_int_equal(rsp_json_parse_response_header(body, &status, &parsed, &err), RSP_OK);
    assert_int_equal(status, RSP_EXECUTION_EXPIRED);
    assert_string_equal(parsed.subject_code, "8.1.1");
    assert_string_equal(parsed.reason_code, "3.8");
    assert_null(parsed.subject_identifier);
    assert_string_equal(parsed.message, "EID unknown");
    json_decref(body);

    /* Malformed response headers. */
    static const char *const bad[] = {
        "{}",
        "{\"header\":{}}",
        "{\"header\":{\"functionExecutionStatus\":{}}}",
        "{\"header\":{\"functionExecutionStatus\":{\"status\":\"Done\"}}}",
        ("{\"header\":{\"functionExecutionStatus\":{\"status\":\"Failed\","
         "\"statusCodeData\":{\"subjectCode\":\"8.1\"}}}}"),
        "{\"header\":{\"functionExecutionStatus\":{\"status\":1}}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *root = parse(bad[i]);
        assert_non_null(root);
        rsp_error_clear(&err);
        assert_int_not_equal(rsp_json_parse_response_header(root, &status, &parsed, &err), RSP_OK);
        json_decref(root);
    }

    /* Request header. */
    json_t *request = parse("{\"header\":{\"functionRequesterIdentifier\":\"op\","
                            "\"functionCallIdentifier\":\"c1\"},\"eid\":\"89\"}");
    const char *requester, *call;
    rsp_error_clear(&err);
    assert_int_equal(rsp_json_parse_request_header(request, &requester, &call, &err), RSP_OK);
    assert_string_equal(requester, "op");
    assert_string_equal(call, "c1");
    json_decref(request);
    request = parse("{\"header\":{\"functionRequesterIdentifier\":\"\","
                    "\"functionCallIdentifier\":\"c1\"}}");
    rsp_error_clear(&err);
    assert_int_equal(rsp_json_parse_request_header(request, &requester, &call, &err),
                     RSP_ERR_BAD_VALUE);
    json_decref(request);

    rsp_execution_status parsed_status;
    assert_true(rsp_execution_status_parse("Executed-WithWarning", &parsed_status));
    assert_int_equal(parsed_status, RSP_EXECUTION_WITH_WARNING);
    assert_false(rsp_execution_status_parse("executed-success", &parsed_status));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_canonical_forms),
        cmocka_unit_test(test_base64_rejects_lenient_forms),
        cmocka_unit_test(test_base64_round_trip_lengths),
        cmocka_unit_test(test_strict_parse),
        cmocka_unit_test(test_field_types),
        cmocka_unit_test(test_base64_and_hex_fields),
        cmocka_unit_test(test_sgp22_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
